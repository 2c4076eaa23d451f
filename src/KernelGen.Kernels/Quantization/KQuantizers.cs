using KernelGen.Kernels.Generated;
using static KernelGen.Kernels.Quantization.GgmlMath;

namespace KernelGen.Kernels.Quantization;

/// <summary>
/// ggml's reference quantizers for the k-quants (FORMATS.md §4.5–4.10): per-group scale searches
/// (<see cref="KQuantSearch"/>), super-block scales quantized to 4 or 6 bits, then a final pass that recomputes every
/// code from the fp16-rounded scales. Bit-exact with <c>ggml_quantize_chunk</c> without an importance matrix.
/// </summary>
internal static class KQuantizers
{
    public static void Q2_K(ReadOnlySpan<float> x, Span<byte> y)
    {
        var b = new Q2_KBlock();
        Span<byte> L = b.Q;
        Span<float> w = stackalloc float[16];
        Span<float> scales = stackalloc float[16], mins = stackalloc float[16];
        float maxScale = 0, maxMin = 0;
        for (int g = 0; g < 16; g++)
        {
            for (int l = 0; l < 16; l++) w[l] = MathF.Abs(x[16 * g + l]);
            scales[g] = KQuantSearch.MakeQkx2Quants(x.Slice(16 * g, 16), 3, w, L.Slice(16 * g, 16), out mins[g], -0.5f, 0.1f, 15, useMad: true);
            if (scales[g] > maxScale) maxScale = scales[g];
            if (mins[g] > maxMin) maxMin = mins[g];
        }
        if (maxScale > 0)
        {
            float iscale = 15 / maxScale;
            for (int g = 0; g < 16; g++) b.Sc[g] = (byte)NearestInt(iscale * scales[g]);
        }
        b.D = Fp32ToFp16(maxScale > 0 ? maxScale / 15 : 0);
        if (maxMin > 0)
        {
            float iscale = 15 / maxMin;
            for (int g = 0; g < 16; g++) b.M[g] = (byte)NearestInt(iscale * mins[g]);
        }
        b.Dmin = Fp32ToFp16(maxMin > 0 ? maxMin / 15 : 0);
        float d = Fp16ToFp32(b.D), dmin = Fp16ToFp32(b.Dmin);
        for (int g = 0; g < 16; g++)
        {
            float dg = d * b.Sc[g];
            if (dg == 0) continue; // keep the search's codes
            float dm = dmin * b.M[g];
            for (int i = 0; i < 16; i++) L[16 * g + i] = (byte)Math.Clamp(NearestInt((x[16 * g + i] + dm) / dg), 0, 3);
        }
        Q2_KCodec.Encode(in b, y);
    }

    public static void Q3_K(ReadOnlySpan<float> x, Span<byte> y)
    {
        var b = new Q3_KBlock();
        Span<byte> L = b.Q;
        Span<float> scales = stackalloc float[16];
        float maxScale = 0, amaxScale = 0;
        for (int g = 0; g < 16; g++)
        {
            scales[g] = KQuantSearch.MakeQ3Quants(x.Slice(16 * g, 16), 4, L.Slice(16 * g, 16));
            float a = MathF.Abs(scales[g]);
            if (a > amaxScale) { amaxScale = a; maxScale = scales[g]; }
        }
        if (maxScale != 0)
        {
            float iscale = -32 / maxScale;
            for (int g = 0; g < 16; g++) b.Sc[g] = (byte)(Math.Clamp((int)(sbyte)NearestInt(iscale * scales[g]), -32, 31) + 32);
            b.D = Fp32ToFp16(1 / iscale);
        }
        else
        {
            // All 16 groups zero: the packed scales are zero bytes (stored scale 0, i.e. -32 after the bias).
            b.D = Fp32ToFp16(0);
        }
        float d = Fp16ToFp32(b.D);
        for (int g = 0; g < 16; g++)
        {
            float dg = d * (b.Sc[g] - 32);
            if (dg == 0) continue;
            for (int i = 0; i < 16; i++) L[16 * g + i] = (byte)(Math.Clamp(NearestInt(x[16 * g + i] / dg), -4, 3) + 4);
        }
        Q3_KCodec.Encode(in b, y);
    }

    /// <summary>Q4_K and Q5_K share everything but the code range and the search grid.</summary>
    private static void Q45K(ReadOnlySpan<float> x, int nmax, float rmin, int nstep, ref ushort dBits, ref ushort dminBits,
        Span<byte> sc, Span<byte> mn, Span<byte> L)
    {
        Span<float> w = stackalloc float[32];
        Span<float> scales = stackalloc float[8], mins = stackalloc float[8];
        float maxScale = 0, maxMin = 0;
        for (int j = 0; j < 8; j++)
        {
            var xj = x.Slice(32 * j, 32);
            float sumX2 = 0;
            for (int l = 0; l < 32; l++) sumX2 += xj[l] * xj[l];
            float avX = MathF.Sqrt(sumX2 / 32);
            for (int l = 0; l < 32; l++) w[l] = avX + MathF.Abs(xj[l]);
            scales[j] = KQuantSearch.MakeQkx2Quants(xj, nmax, w, L.Slice(32 * j, 32), out mins[j], rmin, 0.1f, nstep, useMad: false);
            if (scales[j] > maxScale) maxScale = scales[j];
            if (mins[j] > maxMin) maxMin = mins[j];
        }
        float invScale = maxScale > 0 ? 63 / maxScale : 0;
        float invMin = maxMin > 0 ? 63 / maxMin : 0;
        for (int j = 0; j < 8; j++)
        {
            sc[j] = Math.Min((byte)63, (byte)NearestInt(invScale * scales[j]));
            mn[j] = Math.Min((byte)63, (byte)NearestInt(invMin * mins[j]));
        }
        dBits = Fp32ToFp16(maxScale / 63);
        dminBits = Fp32ToFp16(maxMin / 63);
        float d = Fp16ToFp32(dBits), dmin = Fp16ToFp32(dminBits);
        for (int j = 0; j < 8; j++)
        {
            float dj = d * sc[j];
            if (dj == 0) continue;
            float dm = dmin * mn[j];
            for (int i = 0; i < 32; i++) L[32 * j + i] = (byte)Math.Clamp(NearestInt((x[32 * j + i] + dm) / dj), 0, nmax);
        }
    }

    public static void Q4_K(ReadOnlySpan<float> x, Span<byte> y)
    {
        var b = new Q4_KBlock();
        Q45K(x, 15, -1f, 20, ref b.D, ref b.Dmin, b.Sc, b.M, b.Q);
        Q4_KCodec.Encode(in b, y);
    }

    public static void Q5_K(ReadOnlySpan<float> x, Span<byte> y)
    {
        var b = new Q5_KBlock();
        Q45K(x, 31, -0.5f, 15, ref b.D, ref b.Dmin, b.Sc, b.M, b.Q);
        Q5_KCodec.Encode(in b, y);
    }

    public static void Q6_K(ReadOnlySpan<float> x, Span<byte> y)
    {
        var b = new Q6_KBlock();
        Span<byte> L = b.Q;
        Span<float> scales = stackalloc float[16];
        float maxScale = 0, maxAbs = 0;
        for (int g = 0; g < 16; g++)
        {
            scales[g] = KQuantSearch.MakeQxQuants(x.Slice(16 * g, 16), 32, L.Slice(16 * g, 16));
            float a = MathF.Abs(scales[g]);
            if (a > maxAbs) { maxAbs = a; maxScale = scales[g]; }
        }
        if (maxAbs < KQuantSearch.GroupMaxEps)
        {
            // ggml writes an all-zero block: d = 0, scales 0, codes 0 (so ql/qh are 0, not the +32 bias).
            y[..Q6_KCodec.BlockBytes].Clear();
            return;
        }
        float iscale = -128 / maxScale;
        b.D = Fp32ToFp16(1 / iscale);
        for (int g = 0; g < 16; g++) b.Sc[g] = (sbyte)Math.Min(127, NearestInt(iscale * scales[g]));
        float d = Fp16ToFp32(b.D);
        for (int g = 0; g < 16; g++)
        {
            float dg = d * b.Sc[g];
            if (dg == 0) continue;
            for (int i = 0; i < 16; i++) L[16 * g + i] = (byte)(Math.Clamp(NearestInt(x[16 * g + i] / dg), -32, 31) + 32);
        }
        Q6_KCodec.Encode(in b, y);
    }

    /// <summary>The activation format of the k-quant dot products: signed absmax codes, an f32 scale and 16-element sums.</summary>
    public static void Q8_K(ReadOnlySpan<float> x, Span<byte> y)
    {
        var b = new Q8_KBlock();
        float max = 0, amax = 0;
        for (int j = 0; j < 256; j++)
        {
            float a = MathF.Abs(x[j]);
            if (a > amax) { amax = a; max = x[j]; }
        }
        if (amax != 0)
        {
            float iscale = -127f / max;
            for (int j = 0; j < 256; j++) b.Q[j] = (sbyte)Math.Min(127, NearestInt(iscale * x[j]));
            for (int g = 0; g < 16; g++)
            {
                int sum = 0;
                for (int i = 0; i < 16; i++) sum += b.Q[16 * g + i];
                b.Bsums[g] = (short)sum;
            }
            b.D = 1 / iscale;
        }
        Q8_KCodec.Encode(in b, y);
    }
}
