using KernelGen.Kernels.Generated;

namespace KernelGen.Kernels.Tests;

/// <summary>
/// The tensor-level SIMD decoders (lane-plan fast path, per-lane gather fallback, scalar tail) against
/// <c>DecodeRowsScalar</c> on random layers whose K is not a multiple of the vector widths, decoded as row sub-ranges
/// starting at odd rows: every path must equal the scalar path bit for bit, including when the fast path is refused
/// (GPTQ 3-bit straddles words; 2-bit repeats only every 16 inputs) and for act-order group maps.
/// </summary>
public sealed class TensorSimdPathTests
{
    private delegate void Decode(int first, int count, Span<float> dst);

    private static ushort RandomHalf(Random rng)
    {
        while (true)
        {
            ushort h = (ushort)rng.Next(0x10000);
            if ((h & 0x7C00) != 0x7C00) return h;
        }
    }

    private static int[] Codes(Random rng, int count, int max) => Enumerable.Range(0, count).Select(_ => rng.Next(max)).ToArray();

    private static void AssertPathsEqual(int n, int k, Decode scalar, params (string Name, Decode Path)[] paths)
    {
        foreach (var (first, count) in new[] { (0, n), (1, n - 1), (3, Math.Min(5, n - 3)), (n - 1, 1) })
        {
            var expected = new float[count * k];
            scalar(first, count, expected);
            foreach (var (name, path) in paths)
            {
                var actual = new float[count * k];
                path(first, count, actual);
                Paths.AssertBitwiseEqual(expected, actual, $"{name} rows {first}+{count}");
            }
        }
    }

    [Theory]
    [InlineData(2, 32, false)]
    [InlineData(3, 32, true)]
    [InlineData(4, 24, false)]
    [InlineData(4, 24, true)]
    [InlineData(4, -1, false)]
    [InlineData(4, -1, true)]
    [InlineData(8, 40, true)]
    public void Gptq_simd_paths_equal_scalar_on_odd_sizes(int bits, int groupSize, bool actOrder)
    {
        const int n = 13, k = 200;
        var rng = new Random(bits * 31 + groupSize + (actOrder ? 1 : 0));
        var layout = new GPTQLayout(n, k, bits, groupSize, GPTQCheckpoint.Gptq);
        int groups = (int)layout.GroupCount, gs = layout.GroupSize;
        var order = Enumerable.Range(0, k).ToArray();
        if (actOrder) rng.Shuffle(order);
        var g = new int[k];
        for (int i = 0; i < k; i++) g[order[i]] = i / gs;
        byte[] qweight = new byte[layout.QweightBytes], qzeros = new byte[layout.QzerosBytes], scales = new byte[layout.ScalesBytes], gIdx = new byte[layout.GIdxBytes];
        int maxq = (1 << bits) - 1;
        GPTQCodec.Encode(layout, Codes(rng, n * k, maxq + 1), Codes(rng, n * groups, maxq), Enumerable.Range(0, n * groups).Select(_ => RandomHalf(rng)).ToArray(), g, qweight, qzeros, scales, gIdx);
        foreach (var gi in new[] { gIdx, Array.Empty<byte>() })
        {
            if (gi.Length == 0 && actOrder) continue;
            AssertPathsEqual(n, k, (f, c, d) => GPTQCodec.DecodeRowsScalar(layout, qweight, qzeros, scales, gi, f, c, d),
                ("V128", (f, c, d) => GPTQCodec.DecodeRowsV128(layout, qweight, qzeros, scales, gi, f, c, d)),
                ("V256", (f, c, d) => GPTQCodec.DecodeRowsV256(layout, qweight, qzeros, scales, gi, f, c, d)),
                ("V512", (f, c, d) => GPTQCodec.DecodeRowsV512(layout, qweight, qzeros, scales, gi, f, c, d)));
        }
    }

    [Theory]
    [InlineData(24, 104, 8)]
    [InlineData(16, 96, 32)]
    public void Awq_simd_paths_equal_scalar_on_odd_sizes(int n, int k, int groupSize)
    {
        var rng = new Random(n + k + groupSize);
        int groups = k / groupSize;
        var q = Codes(rng, n * k, 16);
        var z = Codes(rng, n * groups, 16);
        var s = Enumerable.Range(0, n * groups).Select(_ => RandomHalf(rng)).ToArray();
        var gemm = new AWQ_GEMMLayout(n, k, groupSize);
        byte[] qw = new byte[gemm.QweightBytes], qz = new byte[gemm.QzerosBytes], sc = new byte[gemm.ScalesBytes];
        AWQ_GEMMCodec.Encode(gemm, q, z, s, qw, qz, sc);
        AssertPathsEqual(n, k, (f, c, d) => AWQ_GEMMCodec.DecodeRowsScalar(gemm, qw, qz, sc, f, c, d),
            ("V128", (f, c, d) => AWQ_GEMMCodec.DecodeRowsV128(gemm, qw, qz, sc, f, c, d)),
            ("V256", (f, c, d) => AWQ_GEMMCodec.DecodeRowsV256(gemm, qw, qz, sc, f, c, d)),
            ("V512", (f, c, d) => AWQ_GEMMCodec.DecodeRowsV512(gemm, qw, qz, sc, f, c, d)));
        var gemv = new AWQ_GEMVLayout(n, k, groupSize);
        byte[] vw = new byte[gemv.QweightBytes], vz = new byte[gemv.QzerosBytes], vs = new byte[gemv.ScalesBytes];
        AWQ_GEMVCodec.Encode(gemv, q, z, s, vw, vz, vs);
        AssertPathsEqual(n, k, (f, c, d) => AWQ_GEMVCodec.DecodeRowsScalar(gemv, vw, vz, vs, f, c, d),
            ("V128", (f, c, d) => AWQ_GEMVCodec.DecodeRowsV128(gemv, vw, vz, vs, f, c, d)),
            ("V256", (f, c, d) => AWQ_GEMVCodec.DecodeRowsV256(gemv, vw, vz, vs, f, c, d)),
            ("V512", (f, c, d) => AWQ_GEMVCodec.DecodeRowsV512(gemv, vw, vz, vs, f, c, d)));
    }

    [Theory]
    [InlineData(11, 37, BitNetLinearClass.Autobitlinear)]
    [InlineData(22, 100, BitNetLinearClass.Bitlinear)]
    public void BitNet_simd_paths_equal_scalar_on_odd_sizes(int n, int k, BitNetLinearClass linearClass)
    {
        var rng = new Random(n * k);
        var layout = new BitNetLayout(n, k, linearClass);
        byte[] weight = new byte[layout.WeightBytes], ws = new byte[layout.WeightScaleBytes];
        BitNetCodec.Encode(layout, Codes(rng, n * k, 3), new ushort[] { 0x3E2B }, weight, ws);
        AssertPathsEqual(n, k, (f, c, d) => BitNetCodec.DecodeRowsScalar(layout, weight, ws, f, c, d),
            ("V128", (f, c, d) => BitNetCodec.DecodeRowsV128(layout, weight, ws, f, c, d)),
            ("V256", (f, c, d) => BitNetCodec.DecodeRowsV256(layout, weight, ws, f, c, d)),
            ("V512", (f, c, d) => BitNetCodec.DecodeRowsV512(layout, weight, ws, f, c, d)));
    }
}
