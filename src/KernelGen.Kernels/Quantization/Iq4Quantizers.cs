using KernelGen.Kernels.Generated;
using static KernelGen.Kernels.Quantization.GgmlMath;

namespace KernelGen.Kernels.Quantization;

/// <summary>
/// IQ4_NL and IQ4_XS without an importance matrix (FORMATS.md §4.11, <c>quantize_row_iq4_nl_impl</c>): codes index
/// the non-linear codebook <c>kvalues_iq4nl</c>; each 32-element block's scale is the weighted least-squares fit over
/// 2·ntry+1 candidate scales.
/// </summary>
internal static class Iq4Quantizers
{
    /// <summary>The search width <c>ggml_quantize_chunk</c> (and so llama-quantize) uses.</summary>
    public const int ChunkSearch = 7;

    private static ReadOnlySpan<sbyte> Values => [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113];

    /// <summary>best_index_int8: the nearest codebook entry; ties go to the upper one.</summary>
    private static int BestIndex(float x)
    {
        var v = Values;
        if (x <= v[0]) return 0;
        if (x >= v[15]) return 15;
        int lo = 0, hi = 15;
        while (hi - lo > 1)
        {
            int mid = (lo + hi) / 2;
            if (x < v[mid]) hi = mid; else lo = mid;
        }
        return x - v[hi - 1] < v[hi] - x ? hi - 1 : hi;
    }

    private static void Accumulate(ReadOnlySpan<float> xb, float id, Span<byte> codes, out float sumqx, out float sumq2)
    {
        sumqx = 0;
        sumq2 = 0;
        for (int j = 0; j < 32; j++)
        {
            int l = BestIndex(id * xb[j]);
            if (!codes.IsEmpty) codes[j] = (byte)l;
            float q = Values[l];
            float w = xb[j] * xb[j];
            sumqx += w * q * xb[j];
            sumq2 += w * q * q;
        }
    }

    /// <summary>The scale of one 32-element block; also leaves the first pass's codes in <paramref name="codes"/>.</summary>
    private static float BlockScale(ReadOnlySpan<float> xb, Span<byte> codes, int ntry)
    {
        float amax = 0, max = 0;
        for (int j = 0; j < 32; j++)
        {
            float a = MathF.Abs(xb[j]);
            if (a > amax) { amax = a; max = xb[j]; }
        }
        if (amax < KQuantSearch.GroupMaxEps) return 0;
        float d = ntry > 0 ? -max / Values[0] : max / Values[0];
        Accumulate(xb, 1 / d, codes, out float sumqx, out float sumq2);
        d = sumq2 > 0 ? sumqx / sumq2 : 0;
        float best = d * sumqx;
        for (int itry = -ntry; itry <= ntry; itry++)
        {
            Accumulate(xb, (itry + Values[0]) / max, Span<byte>.Empty, out sumqx, out sumq2);
            if (sumq2 > 0 && sumqx * sumqx > best * sumq2)
            {
                d = sumqx / sumq2;
                best = d * sumqx;
            }
        }
        return d;
    }

    /// <summary>IQ4_NL as <c>ggml_quantize_chunk</c> does it (ntry = 7). ntry = -1 is <c>quantize_row_iq4_nl_ref</c>.</summary>
    public static void IQ4_NL(ReadOnlySpan<float> x, Span<byte> y, int ntry)
    {
        var b = new IQ4_NLBlock();
        Span<byte> codes = b.Q;
        float s = BlockScale(x[..32], codes, ntry);
        b.D = Fp32ToFp16(s);
        if (ntry > 0)
        {
            float id = s != 0 ? 1 / s : 0;
            for (int j = 0; j < 32; j++) codes[j] = (byte)BestIndex(id * x[j]);
        }
        else if (s == 0)
        {
            codes.Fill(8); // ggml leaves these codes unset (d = 0); emit the all-zero block's 0x88 like ntry > 0 does.
        }
        IQ4_NLCodec.Encode(in b, y);
    }

    public static void IQ4_NL(ReadOnlySpan<float> x, Span<byte> y) => IQ4_NL(x, y, ChunkSearch);

    public static void IQ4_XS(ReadOnlySpan<float> x, Span<byte> y)
    {
        var b = new IQ4_XSBlock();
        Span<byte> codes = b.Q;
        Span<float> scales = stackalloc float[8];
        float maxScale = 0, amaxScale = 0;
        for (int ib = 0; ib < 8; ib++)
        {
            scales[ib] = BlockScale(x.Slice(32 * ib, 32), codes.Slice(32 * ib, 32), ChunkSearch);
            float a = MathF.Abs(scales[ib]);
            if (a > amaxScale) { amaxScale = a; maxScale = scales[ib]; }
        }
        float d = -maxScale / 32; // an all-zero super-block gives -0.0, stored as 0x8000 like ggml
        b.D = Fp32ToFp16(d);
        float id = d != 0 ? 1 / d : 0;
        for (int ib = 0; ib < 8; ib++)
        {
            int l = Math.Clamp(NearestInt(id * scales[ib]), -32, 31);
            float dl = d * l;
            float idl = dl != 0 ? 1 / dl : 0;
            for (int j = 0; j < 32; j++) codes[32 * ib + j] = (byte)BestIndex(idl * x[32 * ib + j]);
            b.Ls[ib] = (byte)(l + 32);
        }
        IQ4_XSCodec.Encode(in b, y);
    }
}
