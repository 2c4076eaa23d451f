using KernelGen.Conversion.Tensors;
using KernelGen.Formats;
using KernelGen.Kernels.Generated;
using static KernelGen.Formats.GgmlType;

namespace KernelGen.Conversion.HuggingFace;

/// <summary>
/// Writes a group-quantized layer straight into a GGUF block type when the block can hold it exactly (FORMATS.md §9.4):
/// GPTQ/AWQ 4-bit with every zero point 8 → Q4_0 (d = s, nibble = code: <c>(q−8)·d = s·(q−8)</c>); 8-bit with zero
/// 128 → Q8_0 (<c>qs = q − 128</c>); 4-bit asymmetric → Q4_1 when every group's <c>−s·z</c> is an fp16 value
/// (<c>q·d + m</c> is then exact). Groups must be whole 32-element blocks along the input dimension.
/// </summary>
public static class ExactGgufEncoding
{
    /// <summary>The exact GGUF type for <paramref name="f"/>, or null when none holds it bit for bit.</summary>
    public static GgmlType? ExactType(GroupQuantizedFields f)
    {
        if (f.InFeatures % 32 != 0 || !GroupsAreWholeBlocks(f)) return null;
        if (f.Bits == 4 && f.AllZerosAre(8)) return Q4_0;
        if (f.Bits == 8 && f.AllZerosAre(128)) return Q8_0;
        if (f.Bits == 4 && MinsAreExact(f)) return Q4_1;
        return null;
    }

    // Every 32-element block along k must lie in one group, so one block scale serves it.
    private static bool GroupsAreWholeBlocks(GroupQuantizedFields f)
    {
        for (int k = 0; k < f.InFeatures; k += 32)
            for (int j = 1; j < 32; j++)
                if (f.GroupOf[k + j] != f.GroupOf[k]) return false;
        return true;
    }

    private static bool MinsAreExact(GroupQuantizedFields f)
    {
        for (int i = 0; i < f.Scales.Length; i++)
        {
            float s = (float)BitConverter.UInt16BitsToHalf(f.Scales[i]);
            float m = -(s * f.Zeros[i]);
            if ((float)(Half)m != m) return false;
        }
        return true;
    }

    /// <summary>One GGUF row of type <paramref name="type"/>: the layer's output feature <paramref name="sourceRow"/>.</summary>
    public static void EncodeRow(GroupQuantizedFields f, GgmlType type, int sourceRow, Span<byte> destination)
    {
        int blockBytes = GgmlTypeInfo.Of(type).BlockBytes, groups = f.GroupCount;
        for (int b = 0; b < f.InFeatures / 32; b++)
        {
            int g = f.GroupOf[b * 32];
            ushort scale = f.Scales[sourceRow * groups + g];
            int zero = f.Zeros[sourceRow * groups + g];
            var codes = f.Codes.AsSpan(sourceRow * f.InFeatures + b * 32, 32);
            var block = destination.Slice(b * blockBytes, blockBytes);
            switch (type)
            {
                case Q4_0:
                {
                    var x = new Q4_0Block { D = scale };
                    for (int j = 0; j < 32; j++) x.Q[j] = (byte)codes[j];
                    Q4_0Codec.Encode(in x, block);
                    break;
                }
                case Q8_0:
                {
                    var x = new Q8_0Block { D = scale };
                    for (int j = 0; j < 32; j++) x.Q[j] = (sbyte)(codes[j] - 128);
                    Q8_0Codec.Encode(in x, block);
                    break;
                }
                case Q4_1:
                {
                    float s = (float)BitConverter.UInt16BitsToHalf(scale);
                    var x = new Q4_1Block { D = scale, M = BitConverter.HalfToUInt16Bits((Half)(-(s * zero))) };
                    for (int j = 0; j < 32; j++) x.Q[j] = (byte)codes[j];
                    Q4_1Codec.Encode(in x, block);
                    break;
                }
                default:
                    throw new ArgumentOutOfRangeException(nameof(type), $"{type} is not an exact target");
            }
        }
    }
}
