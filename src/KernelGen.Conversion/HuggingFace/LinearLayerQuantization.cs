using KernelGen.Containers;
using KernelGen.Conversion.Tensors;
using KernelGen.Formats;
using KernelGen.Kernels;
using KernelGen.Kernels.Generated;
using KernelGen.Kernels.Quantization;

namespace KernelGen.Conversion.HuggingFace;

/// <summary>
/// Turns the linear layers of a float or GGUF model into group-quantized fields for a GPTQ/AWQ checkpoint:
/// round-to-nearest (<see cref="Quantizer.QuantizeGroups"/>), or exactly when a GGUF block already is such a group —
/// Q4_0 is GPTQ 4-bit symmetric with group 32 (zero 8, scale d, code = nibble), Q8_0 is 8-bit symmetric with group 32
/// (zero 128, code = qs + 128).
/// </summary>
public static class LinearLayerQuantization
{
    /// <summary>True for the weights a GPTQ/AWQ checkpoint quantizes: the <c>*_proj.weight</c> matrices of the transformer blocks.</summary>
    public static bool IsLinearWeight(string hfName, FloatTensor t) =>
        t.Shape.Count == 2 && hfName.StartsWith("model.layers.", StringComparison.Ordinal) && hfName.EndsWith("_proj.weight", StringComparison.Ordinal);

    /// <summary>The fields of <paramref name="t"/>: exact from Q4_0/Q8_0 blocks when they match the request, RTN otherwise.</summary>
    public static GroupQuantizedFields Quantize(FloatTensor t, int bits, int groupSize, bool symmetric, bool zeroPointAtLeastOne, out bool exact)
    {
        int n = checked((int)t.RowCount), k = checked((int)t.RowLength);
        int group = groupSize <= 0 ? k : groupSize;
        if (symmetric && group == 32 && ExactSource(t, bits) is { } source)
        {
            exact = true;
            return FromBlocks(source.Tensor, source.RowOf, n, k, bits);
        }
        exact = false;
        var weight = new float[checked(n * k)];
        t.ReadRows(0, n, weight);
        int groups = (k + group - 1) / group;
        var codes = new int[n * k];
        var zeros = new int[n * groups];
        var scales = new ushort[n * groups];
        Quantizer.QuantizeGroups(weight, n, k, group, bits, symmetric ? GroupQuantScheme.Symmetric : GroupQuantScheme.Asymmetric,
            codes, zeros, scales, GroupCodeScale.Fp16, zeroPointAtLeastOne);
        return new GroupQuantizedFields(n, k, bits, group, codes, zeros, scales, Enumerable.Range(0, k).Select(i => i / group).ToArray());
    }

    private static (GgufFloatTensor Tensor, Func<long, long> RowOf)? ExactSource(FloatTensor t, int bits)
    {
        var (inner, rowOf) = t is PermutedRowsTensor p ? (p.Inner, (Func<long, long>)p.SourceRow) : (t, r => r);
        if (inner is not GgufFloatTensor g) return null;
        return ((GgmlType)g.Info.TypeId, bits) is (GgmlType.Q4_0, 4) or (GgmlType.Q8_0, 8) ? (g, rowOf) : null;
    }

    private static GroupQuantizedFields FromBlocks(GgufFloatTensor source, Func<long, long> rowOf, int n, int k, int bits)
    {
        int groups = k / 32;
        var codes = new int[n * k];
        var zeros = new int[n * groups];
        var scales = new ushort[n * groups];
        bool q4 = (GgmlType)source.Info.TypeId == GgmlType.Q4_0;
        int blockBytes = q4 ? Q4_0Codec.BlockBytes : Q8_0Codec.BlockBytes;
        for (int r = 0; r < n; r++)
        {
            var row = source.RawRow(rowOf(r));
            for (int b = 0; b < groups; b++)
            {
                var block = row.Slice(b * blockBytes, blockBytes);
                zeros[r * groups + b] = 1 << (bits - 1);
                if (q4)
                {
                    Q4_0Codec.DecodeFields(block, out var f);
                    scales[r * groups + b] = f.D;
                    for (int j = 0; j < 32; j++) codes[r * k + 32 * b + j] = f.Q[j];
                }
                else
                {
                    Q8_0Codec.DecodeFields(block, out var f);
                    scales[r * groups + b] = f.D;
                    for (int j = 0; j < 32; j++) codes[r * k + 32 * b + j] = f.Q[j] + 128;
                }
            }
        }
        return new GroupQuantizedFields(n, k, bits, 32, codes, zeros, scales, Enumerable.Range(0, k).Select(i => i / 32).ToArray());
    }
}
