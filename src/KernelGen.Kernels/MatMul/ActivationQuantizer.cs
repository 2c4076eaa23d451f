using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace KernelGen.Kernels.MatMul;

/// <summary>
/// Quantizes f32 activations once per call for the integer kernels: blocks of 32 values become int8 with ggml's Q8_0
/// rule (d = max|x| / 127, q = roundf(x · (1/d))) but a binary32 scale, plus the dequantized sum d·Σq of every 16
/// values (for zero points, mins and constant offsets) and the integer sum Σq of every 4 values (for constant offsets
/// applied in the integer domain). Each activation moves by at most d/2, so a dot product moves by at most
/// Σ_blocks max|x|/254 · Σ|w|: the bound of ggml's Q8_0 pairing, and tighter than Q8_K's (one scale per 256).
/// </summary>
public static class ActivationQuantizer
{
    /// <summary>Quantizes <paramref name="x"/> (length a multiple of 32) into <paramref name="q"/>, <paramref name="d"/> (per 32), <paramref name="sums"/> (per 16) and <paramref name="quadSums"/> (per 4).</summary>
    public static void Quantize(ReadOnlySpan<float> x, Span<sbyte> q, Span<float> d, Span<float> sums, Span<int> quadSums)
    {
        if (x.Length % 32 != 0)
        {
            throw new ArgumentException("Activation rows are quantized in blocks of 32; the length is not a multiple.", nameof(x));
        }
        int blocks = x.Length / 32;
        if (q.Length < x.Length || d.Length < blocks || sums.Length < blocks * 2 || quadSums.Length < blocks * 8)
        {
            throw new ArgumentException("The activation buffers are too short.");
        }
        ref float xs = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(x);
        if (Avx2.IsSupported)
        {
            QuantizeAvx2(ref xs, blocks, q, d, sums, quadSums);
        }
        else
        {
            QuantizePortable(ref xs, blocks, q, d, sums, quadSums);
        }
    }

    /// <summary>The path for CPUs without AVX2 (Vector256 when accelerated, else scalar); tests call it directly.</summary>
    internal static void QuantizePortable(ref float xs, int blocks, Span<sbyte> q, Span<float> d, Span<float> sums, Span<int> quadSums)
    {
        for (int b = 0; b < blocks; b++)
        {
            QuantizeBlock(ref Unsafe.Add(ref xs, b * 32), q.Slice(b * 32, 32), out d[b], out sums[2 * b], out sums[2 * b + 1]);
            for (int i = 0; i < 8; i++)
            {
                quadSums[b * 8 + i] = q[b * 32 + 4 * i] + q[b * 32 + 4 * i + 1] + q[b * 32 + 4 * i + 2] + q[b * 32 + 4 * i + 3];
            }
        }
    }

    /// <summary>
    /// The same values as the portable path, with AVX2's saturating packs (|q| ≤ 127 here, so saturation never acts)
    /// and the quad sums from one vpmaddubsw + vpmaddwd per block instead of 32 scalar adds.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void QuantizeAvx2(ref float xs, int blocks, Span<sbyte> q, Span<float> d, Span<float> sums, Span<int> quadSums)
    {
        ref sbyte qs = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(q);
        ref int quads = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(quadSums);
        var magnitude = Vector256.Create(0x7FFFFFFF).AsSingle();
        for (int b = 0; b < blocks; b++)
        {
            ref float xb = ref Unsafe.Add(ref xs, b * 32);
            var v0 = Vector256.LoadUnsafe(ref xb);
            var v1 = Vector256.LoadUnsafe(ref xb, 8);
            var v2 = Vector256.LoadUnsafe(ref xb, 16);
            var v3 = Vector256.LoadUnsafe(ref xb, 24);
            var amax = Avx.Max(Avx.Max(v0 & magnitude, v1 & magnitude), Avx.Max(v2 & magnitude, v3 & magnitude));
            var m = Sse.Max(amax.GetLower(), amax.GetUpper());
            m = Sse.Max(m, Avx.Permute(m, 0b01_00_11_10));
            m = Sse.Max(m, Avx.Permute(m, 0b10_11_00_01));
            float db = m.ToScalar() / 127f;
            var bytes = Pack32(v0, v1, v2, v3, Vector256.Create(db != 0f ? 1f / db : 0f));
            bytes.StoreUnsafe(ref Unsafe.Add(ref qs, b * 32));
            var quad = Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(Vector256.Create((byte)1), bytes), Vector256.Create((short)1));
            quad.StoreUnsafe(ref Unsafe.Add(ref quads, b * 8));
            d[b] = db;
            sums[2 * b] = db * Vector128.Sum(quad.GetLower());
            sums[2 * b + 1] = db * Vector128.Sum(quad.GetUpper());
        }
    }

    /// <summary>32 values times <paramref name="scale"/>, rounded half away from zero, as int8 in element order (AVX2).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<sbyte> Pack32(Vector256<float> v0, Vector256<float> v1, Vector256<float> v2, Vector256<float> v3, Vector256<float> scale)
    {
        var s01 = Avx2.PackSignedSaturate(RoundAway(v0 * scale), RoundAway(v1 * scale));
        var s23 = Avx2.PackSignedSaturate(RoundAway(v2 * scale), RoundAway(v3 * scale));
        // The packs interleave 128-bit lanes; one permute restores element order.
        return Avx2.PermuteVar8x32(Avx2.PackSignedSaturate(s01, s23).AsInt32(), Vector256.Create(0, 4, 1, 5, 2, 6, 3, 7)).AsSByte();
    }

    /// <summary>
    /// ggml's Q8_K pairing for the k-quant interleaved kernels: one scale per 256 values (d = max|x| / 127, binary32),
    /// q = round(x / d) half away from zero. Each value moves by at most d/2 (the bound of ggml's own Q8_K activations).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void QuantizeBlocks256(ReadOnlySpan<float> x, Span<sbyte> q, Span<float> d)
    {
        if (x.Length % 256 != 0 || q.Length < x.Length || d.Length < x.Length / 256)
        {
            throw new ArgumentException("QuantizeBlocks256: x must be whole blocks of 256, q as long, d one scale per block.");
        }
        ref float xs = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(x);
        ref sbyte qs = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(q);
        for (int b = 0; b < x.Length / 256; b++)
        {
            ref float xb = ref Unsafe.Add(ref xs, b * 256);
            float max = 0f;
            if (Avx2.IsSupported)
            {
                var magnitude = Vector256.Create(0x7FFFFFFF).AsSingle();
                var amax = Vector256<float>.Zero;
                for (int i = 0; i < 256; i += 8)
                {
                    amax = Avx.Max(amax, Vector256.LoadUnsafe(ref xb, (nuint)i) & magnitude);
                }
                var m = Sse.Max(amax.GetLower(), amax.GetUpper());
                m = Sse.Max(m, Avx.Permute(m, 0b01_00_11_10));
                max = Sse.Max(m, Avx.Permute(m, 0b10_11_00_01)).ToScalar();
            }
            else
            {
                for (int i = 0; i < 256; i++)
                {
                    max = MathF.Max(max, MathF.Abs(Unsafe.Add(ref xb, i)));
                }
            }
            float db = max / 127f;
            float id = db != 0f ? 1f / db : 0f;
            d[b] = db;
            for (int c = 0; c < 8; c++)
            {
                ref float xc = ref Unsafe.Add(ref xb, 32 * c);
                if (Avx2.IsSupported)
                {
                    Pack32(Vector256.LoadUnsafe(ref xc), Vector256.LoadUnsafe(ref xc, 8), Vector256.LoadUnsafe(ref xc, 16), Vector256.LoadUnsafe(ref xc, 24), Vector256.Create(id))
                        .StoreUnsafe(ref Unsafe.Add(ref qs, b * 256 + 32 * c));
                    continue;
                }
                for (int i = 0; i < 32; i++)
                {
                    q[b * 256 + 32 * c + i] = (sbyte)(int)MathF.Round(Unsafe.Add(ref xc, i) * id, MidpointRounding.AwayFromZero);
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void QuantizeBlock(ref float x, Span<sbyte> q, out float d, out float sumLo, out float sumHi)
    {
        if (Vector256.IsHardwareAccelerated)
        {
            var v0 = Vector256.LoadUnsafe(ref x);
            var v1 = Vector256.LoadUnsafe(ref x, 8);
            var v2 = Vector256.LoadUnsafe(ref x, 16);
            var v3 = Vector256.LoadUnsafe(ref x, 24);
            var amax = Vector256.Max(Vector256.Max(Vector256.Abs(v0), Vector256.Abs(v1)), Vector256.Max(Vector256.Abs(v2), Vector256.Abs(v3)));
            float max = HorizontalMax(amax);
            d = max / 127f;
            float id = d != 0f ? 1f / d : 0f;
            var scale = Vector256.Create(id);
            var i0 = RoundAway(v0 * scale);
            var i1 = RoundAway(v1 * scale);
            var i2 = RoundAway(v2 * scale);
            var i3 = RoundAway(v3 * scale);
            var bytes = Vector256.Narrow(Vector256.Narrow(i0, i1), Vector256.Narrow(i2, i3));
            bytes.StoreUnsafe(ref System.Runtime.InteropServices.MemoryMarshal.GetReference(q));
            sumLo = d * Vector256.Sum(i0 + i1);
            sumHi = d * Vector256.Sum(i2 + i3);
            return;
        }
        float m = 0f;
        for (int i = 0; i < 32; i++)
        {
            m = MathF.Max(m, MathF.Abs(Unsafe.Add(ref x, i)));
        }
        d = m / 127f;
        float inv = d != 0f ? 1f / d : 0f;
        int s0 = 0, s1 = 0;
        for (int i = 0; i < 32; i++)
        {
            int v = (int)MathF.Round(Unsafe.Add(ref x, i) * inv, MidpointRounding.AwayFromZero);
            q[i] = (sbyte)v;
            if (i < 16)
            {
                s0 += v;
            }
            else
            {
                s1 += v;
            }
        }
        sumLo = d * s0;
        sumHi = d * s1;
    }

    /// <summary>Round half away from zero, as C's roundf (|v| ≤ 127 here, so adding ±0.5 is exact enough).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> RoundAway(Vector256<float> v) =>
        Vector256.ConvertToInt32(v + ((v.AsUInt32() & Vector256.Create(0x80000000u)) | Vector256.Create(0.5f).AsUInt32()).AsSingle());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float HorizontalMax(Vector256<float> v)
    {
        var m = Vector128.Max(v.GetLower(), v.GetUpper());
        m = Vector128.Max(m, Vector128.Shuffle(m, Vector128.Create(2, 3, 0, 1)));
        m = Vector128.Max(m, Vector128.Shuffle(m, Vector128.Create(1, 0, 3, 2)));
        return m.ToScalar();
    }
}
