using KernelGen.Kernels.Generated;

namespace KernelGen.Kernels.MatMul;

/// <summary>
/// The one-time load repack of a ternary layer (BitNet b1.58 Hugging Face packed weight, bitnet.cpp I2_S) into
/// GGUF-style <c>TB2_F32</c> rows (formats/tb2_f32.kgspec): row n = output feature n, K/256 blocks of TQ2_0's 2-bit code
/// layout with an f32 scale <c>d</c>, the per-tensor scale repeated in every block. The block value
/// <c>f32(q − 1) · d</c> is exactly the source's: I2_S <c>f32(q − 1) · s</c> (d = s), BitNet autobitlinear
/// <c>t · ws</c> (d = ws, a bf16 value widened exactly), BitNet bitlinear <c>t / ws</c> (d = 1/ws in fp32, which gives
/// <c>t / ws</c> bit for bit for t = −1, 0, 1 and for t = 2 unless the quotient is subnormal; checked at repack).
/// </summary>
internal static class TernaryRepacker
{
    /// <summary>Elements per TB2_F32 block (K must be a multiple).</summary>
    public const int BlockElements = TB2_F32Codec.BlockElements;

    /// <summary>Checks that K is a whole number of TB2_F32 blocks.</summary>
    public static void CheckInFeatures(string source, int k)
    {
        if (k % BlockElements != 0)
        {
            throw new ArgumentException(
                $"{source}: in features {k} is not a multiple of {BlockElements}; the repacked ternary rows (TB2_F32) are whole {BlockElements}-element blocks.", "layout");
        }
    }

    /// <summary>
    /// Repacks N·K stored codes (<c>[n·K + k]</c>, 0..3 = ternary + 1) with block scale <paramref name="d"/>.
    /// Returns the rows and the mask of code values present (bit c set when some code equals c).
    /// </summary>
    public static GroupRepacker.Result Repack(string source, int n, int k, ReadOnlySpan<int> codes, float d, out int codesPresent)
    {
        CheckInFeatures(source, k);
        var format = Dequantizer.GetFormat(TB2_F32Codec.FormatName);
        int blocksPerRow = k / BlockElements;
        long rowBytes = (long)blocksPerRow * TB2_F32Codec.BlockBytes;
        var rows = GroupRepacker.AllocateRows(source, format, rowBytes, n);
        int present = 0;
        TB2_F32Block block = default;
        block.D = d;
        for (int r = 0; r < n; r++)
        {
            for (int b = 0; b < blocksPerRow; b++)
            {
                var src = codes.Slice(r * k + b * BlockElements, BlockElements);
                for (int i = 0; i < BlockElements; i++)
                {
                    int c = src[i] & 3;
                    present |= 1 << c;
                    block.Q[i] = (byte)c;
                }
                TB2_F32Codec.Encode(block, rows.AsSpan(checked((int)(r * rowBytes + (long)b * TB2_F32Codec.BlockBytes)), TB2_F32Codec.BlockBytes));
            }
        }
        codesPresent = present;
        return new GroupRepacker.Result(format, rows, rowBytes, null);
    }
}
