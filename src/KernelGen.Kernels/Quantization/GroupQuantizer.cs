using System.Runtime.CompilerServices;
using static KernelGen.Kernels.Quantization.GgmlMath;

namespace KernelGen.Kernels.Quantization;

/// <summary>
/// Round-to-nearest group quantization of an nn.Linear weight <c>W[out, in]</c> along <c>in</c>, shared by the
/// GPTQ and AWQ families (FORMATS.md §9.1, §9.2): chooses per (row, group) the scale and zero point
/// (<see cref="GroupQuantScheme"/>) and the codes; it writes the <em>logical</em> values in the layout the generated
/// <c>Encode</c>/<c>DecodeFields</c> use (codes <c>[n·K + k]</c>, zeros and fp16 scale bits <c>[n·G + g]</c>), and the
/// generated encoders pack them. No allocation; no calibration (RTN has no act-order: the group of input k is
/// <c>k / groupSize</c>).
/// </summary>
internal static class GroupQuantizer
{
    /// <summary>Largest finite fp16, the scale saturates here so that decoding never produces inf·0 = NaN.</summary>
    private const ushort MaxFiniteHalf = 0x7BFF;

    /// <summary>AutoAWQ's lower clamp of a group's range.</summary>
    private const float AwqMinRange = 1e-5f;

    /// <summary>Number of groups along <paramref name="inFeatures"/> (the last one may be partial).</summary>
    public static int GroupCount(int inFeatures, int groupSize) => (inFeatures + groupSize - 1) / groupSize;

    /// <summary>
    /// Quantizes the whole weight: row n, group g covers inputs <c>[g·groupSize, min((g+1)·groupSize, K))</c>.
    /// <paramref name="zeroPointAtLeastOne"/> (GPTQ v1, which cannot store a zero point of 0): a group whose zero
    /// point would be 0 instead gets <c>z = 1</c> and <c>s = xmax / (maxq − 1)</c>, the smallest scale whose
    /// grid <c>s·(q − 1)</c> still covers the group (see <see cref="QuantizeGroup"/>).
    /// </summary>
    public static void Quantize(ReadOnlySpan<float> weight, int outFeatures, int inFeatures, int groupSize, int bits,
        GroupQuantScheme scheme, GroupCodeScale codeScale, bool zeroPointAtLeastOne,
        Span<int> codes, Span<int> zeros, Span<ushort> scales)
    {
        if (outFeatures < 1) throw new ArgumentOutOfRangeException(nameof(outFeatures), outFeatures, "out features must be at least 1");
        if (inFeatures < 1) throw new ArgumentOutOfRangeException(nameof(inFeatures), inFeatures, "in features must be at least 1");
        if (groupSize == -1) groupSize = inFeatures;
        if (groupSize < 1) throw new ArgumentOutOfRangeException(nameof(groupSize), groupSize, "group size must be at least 1, or -1 (per channel)");
        if (bits < 2 || bits > 8) throw new ArgumentOutOfRangeException(nameof(bits), bits, "bits must be 2..8");
        if ((uint)scheme > (uint)GroupQuantScheme.AutoAwq) throw new ArgumentOutOfRangeException(nameof(scheme));
        if ((uint)codeScale > (uint)GroupCodeScale.Fp32) throw new ArgumentOutOfRangeException(nameof(codeScale));
        long elements = (long)outFeatures * inFeatures;
        int groups = GroupCount(inFeatures, groupSize);
        long groupValues = (long)outFeatures * groups;
        if (weight.Length < elements) throw new ArgumentException($"weight holds {weight.Length} floats; out·in = {elements} needed", nameof(weight));
        if (codes.Length < elements) throw new ArgumentException($"codes holds {codes.Length} ints; out·in = {elements} needed", nameof(codes));
        if (zeros.Length < groupValues) throw new ArgumentException($"zeros holds {zeros.Length} ints; out·groups = {groupValues} needed", nameof(zeros));
        if (scales.Length < groupValues) throw new ArgumentException($"scales holds {scales.Length} values; out·groups = {groupValues} needed", nameof(scales));

        int maxq = (1 << bits) - 1;
        for (int n = 0; n < outFeatures; n++)
        {
            int row = n * inFeatures;
            for (int g = 0; g < groups; g++)
            {
                int k0 = g * groupSize;
                int len = Math.Min(groupSize, inFeatures - k0);
                QuantizeGroup(weight.Slice(row + k0, len), maxq, scheme, codeScale, zeroPointAtLeastOne,
                    codes.Slice(row + k0, len), out zeros[n * groups + g], out scales[n * groups + g]);
            }
        }
    }

    /// <summary>
    /// One group: scale and zero point per <paramref name="scheme"/> (fp32 arithmetic, GPTQ/AWQ's formulas, with
    /// <c>/</c> a true division), the scale stored as <c>fp16(s)</c> (round to nearest even, saturated at 65504), codes
    /// <c>clamp(round_half_even(x / c) + z, 0, maxq)</c> with <c>c = fp16(s)</c> or <c>s</c> per
    /// <paramref name="codeScale"/>. If <c>fp16(s)</c> is 0 (a group of fp16-subnormal magnitude) every code is z:
    /// the group decodes to zeros. Non-finite inputs give unspecified but in-range codes.
    /// </summary>
    public static void QuantizeGroup(ReadOnlySpan<float> x, int maxq, GroupQuantScheme scheme, GroupCodeScale codeScale,
        bool zeroPointAtLeastOne, Span<int> codes, out int zero, out ushort scaleBits)
    {
        float min = float.PositiveInfinity, max = float.NegativeInfinity;
        for (int i = 0; i < x.Length; i++)
        {
            float v = x[i];
            if (v < min) min = v;
            if (v > max) max = v;
        }
        if (min > max) { min = 0; max = 0; } // only NaNs: treat as an all-zero group

        float s;
        int z;
        switch (scheme)
        {
            case GroupQuantScheme.Symmetric:
            {
                float amax = MathF.Max(MathF.Abs(min), MathF.Abs(max));
                float xmax = amax, xmin = -amax;
                if (amax == 0) { xmin = -1; xmax = 1; }
                s = (xmax - xmin) / maxq;
                z = (maxq + 1) / 2;
                break;
            }
            case GroupQuantScheme.Asymmetric:
            {
                float xmin = MathF.Min(min, 0), xmax = MathF.Max(max, 0);
                if (xmin == 0 && xmax == 0) { xmin = -1; xmax = 1; }
                s = (xmax - xmin) / maxq;
                z = ClampCode(MathF.Round(-xmin / s), maxq);
                if (z == 0 && zeroPointAtLeastOne)
                {
                    // -xmin < s/2 (z rounded to 0), so -xmin < xmax / (2·maxq − 1) ≤ s': the grid s'·(q − 1),
                    // q ∈ 0..maxq spans [−s', xmax] and still covers the group; xmax > 0 here.
                    s = xmax / (maxq - 1);
                    z = 1;
                }
                break;
            }
            default:
            {
                s = MathF.Max(max - min, AwqMinRange) / maxq;
                z = ClampCode(-MathF.Round(min / s), maxq);
                break;
            }
        }

        ushort h = Fp32ToFp16(s);
        if (h > MaxFiniteHalf) h = MaxFiniteHalf; // s > 65504 (or NaN): saturate, never store inf/NaN
        scaleBits = h;
        zero = z;
        float c = codeScale == GroupCodeScale.Fp32 ? s : Fp16ToFp32(h);
        if (!(c > 0) || float.IsInfinity(c))
        {
            codes.Slice(0, x.Length).Fill(z);
            return;
        }
        for (int i = 0; i < x.Length; i++)
        {
            codes[i] = ClampCode(MathF.Round(x[i] / c) + z, maxq);
        }
    }

    /// <summary>clamp(v, 0, maxq) of an integral float; NaN gives 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int ClampCode(float v, int maxq) => !(v > 0) ? 0 : v >= maxq ? maxq : (int)v;
}
