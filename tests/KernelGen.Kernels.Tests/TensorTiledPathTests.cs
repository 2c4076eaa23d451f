using KernelGen.Kernels.Generated;

namespace KernelGen.Kernels.Tests;

/// <summary>
/// The tiled Vector256 path (GPTQ and AWQ_GEMM: 8 output rows at a time from one contiguous or shared load per input,
/// then an 8x8 transpose) against <c>DecodeRowsScalar</c>: layers with several tiles whose out features are not a
/// multiple of 8, row ranges starting at odd rows (so rows before and after the aligned tiles take the row path), K not
/// a multiple of 8 or of the group size, act-order group maps, layers of several 128-row blocks and several 128-input
/// runs, and every width (plus the dispatcher) bit for bit.
/// </summary>
public sealed class TensorTiledPathTests
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
        var ranges = new[] { (0, n), (1, n - 1), (3, n - 5), (7, 17), (8, 16), (9, 24), (n - 9, 9), (n - 1, 1), (5, 2) };
        foreach (var (first, wanted) in ranges)
        {
            int count = Math.Min(wanted, n - first);
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
    [InlineData(4, 128, false, 45, 300)]
    [InlineData(4, 24, false, 45, 200)]
    [InlineData(4, 24, true, 45, 200)]
    [InlineData(4, 128, true, 37, 387)]
    [InlineData(4, -1, false, 41, 264)]
    [InlineData(4, -1, true, 41, 264)]
    [InlineData(8, 40, true, 33, 200)]
    [InlineData(8, 32, false, 40, 96)]
    [InlineData(4, 64, true, 300, 136)]
    [InlineData(4, 32, false, 277, 152)]
    [InlineData(2, 32, false, 33, 200)]
    [InlineData(3, 32, true, 33, 200)]
    public void Gptq_tiled_path_equals_scalar(int bits, int groupSize, bool actOrder, int n, int k)
    {
        var rng = new Random(bits * 1009 + groupSize * 7 + n * 3 + k + (actOrder ? 1 : 0));
        foreach (var checkpoint in new[] { GPTQCheckpoint.Gptq, GPTQCheckpoint.GptqV2 })
        {
            var layout = new GPTQLayout(n, k, bits, groupSize, checkpoint);
            int groups = (int)layout.GroupCount, gs = layout.GroupSize;
            var order = Enumerable.Range(0, k).ToArray();
            if (actOrder) rng.Shuffle(order);
            var g = new int[k];
            for (int i = 0; i < k; i++) g[order[i]] = i / gs;
            byte[] qweight = new byte[layout.QweightBytes], qzeros = new byte[layout.QzerosBytes], scales = new byte[layout.ScalesBytes], gIdx = new byte[layout.GIdxBytes];
            int maxq = (1 << bits) - 1;
            GPTQCodec.Encode(layout, Codes(rng, n * k, maxq + 1), Codes(rng, n * groups, maxq + 1), Enumerable.Range(0, n * groups).Select(_ => RandomHalf(rng)).ToArray(), g, qweight, qzeros, scales, gIdx);
            foreach (var gi in new[] { gIdx, Array.Empty<byte>() })
            {
                if (gi.Length == 0 && actOrder) continue;
                AssertPathsEqual(n, k, (f, c, d) => GPTQCodec.DecodeRowsScalar(layout, qweight, qzeros, scales, gi, f, c, d),
                    ("V128", (f, c, d) => GPTQCodec.DecodeRowsV128(layout, qweight, qzeros, scales, gi, f, c, d)),
                    ("V256", (f, c, d) => GPTQCodec.DecodeRowsV256(layout, qweight, qzeros, scales, gi, f, c, d)),
                    ("V512", (f, c, d) => GPTQCodec.DecodeRowsV512(layout, qweight, qzeros, scales, gi, f, c, d)),
                    ("dispatch", (f, c, d) => GPTQCodec.DecodeRows(layout, qweight, qzeros, scales, gi, f, c, d)));
            }
        }
    }

    [Theory]
    [InlineData(40, 100, 20)]
    [InlineData(48, 256, 128)]
    [InlineData(32, 36, 12)]
    [InlineData(264, 136, 8)]
    public void Awq_gemm_tiled_path_equals_scalar(int n, int k, int groupSize)
    {
        var rng = new Random(n * 131 + k + groupSize);
        int groups = k / groupSize;
        var q = Codes(rng, n * k, 16);
        var z = Codes(rng, n * groups, 16);
        var s = Enumerable.Range(0, n * groups).Select(_ => RandomHalf(rng)).ToArray();
        var layout = new AWQ_GEMMLayout(n, k, groupSize);
        byte[] qw = new byte[layout.QweightBytes], qz = new byte[layout.QzerosBytes], sc = new byte[layout.ScalesBytes];
        AWQ_GEMMCodec.Encode(layout, q, z, s, qw, qz, sc);
        AssertPathsEqual(n, k, (f, c, d) => AWQ_GEMMCodec.DecodeRowsScalar(layout, qw, qz, sc, f, c, d),
            ("V128", (f, c, d) => AWQ_GEMMCodec.DecodeRowsV128(layout, qw, qz, sc, f, c, d)),
            ("V256", (f, c, d) => AWQ_GEMMCodec.DecodeRowsV256(layout, qw, qz, sc, f, c, d)),
            ("V512", (f, c, d) => AWQ_GEMMCodec.DecodeRowsV512(layout, qw, qz, sc, f, c, d)),
            ("dispatch", (f, c, d) => AWQ_GEMMCodec.DecodeRows(layout, qw, qz, sc, f, c, d)));
    }

    /// <summary>
    /// Outputs of 4 MiB or more into a 32-byte aligned buffer take the streaming stores of the row runs (kind 1 for
    /// GPTQ, kind 2 for AWQ GEMM): still equal to the scalar decoder bit for bit, for whole layers and row ranges that
    /// start and end off the tiles. A misaligned view of the same buffer takes the cached stores.
    /// </summary>
    [Theory]
    [InlineData("GPTQ", 264, 4096, 128)]
    [InlineData("GPTQ", 300, 4096, 32)]
    [InlineData("AWQ_GEMM", 264, 4096, 128)]
    [InlineData("AWQ_GEMM", 296, 4096, 64)]
    public unsafe void Large_aligned_outputs_stream_and_equal_scalar(string format, int n, int k, int groupSize)
    {
        var rng = new Random(n * 7 + k + groupSize);
        Decode scalar, simd;
        if (format == "GPTQ")
        {
            var layout = new GPTQLayout(n, k, 4, groupSize, GPTQCheckpoint.Gptq);
            int groups = (int)layout.GroupCount;
            var g = Enumerable.Range(0, k).Select(i => i / groupSize).ToArray();
            byte[] qweight = new byte[layout.QweightBytes], qzeros = new byte[layout.QzerosBytes], scales = new byte[layout.ScalesBytes], gIdx = new byte[layout.GIdxBytes];
            GPTQCodec.Encode(layout, Codes(rng, n * k, 16), Codes(rng, n * groups, 16), Enumerable.Range(0, n * groups).Select(_ => RandomHalf(rng)).ToArray(), g, qweight, qzeros, scales, gIdx);
            scalar = (f, c, d) => GPTQCodec.DecodeRowsScalar(layout, qweight, qzeros, scales, gIdx, f, c, d);
            simd = (f, c, d) => GPTQCodec.DecodeRowsV256(layout, qweight, qzeros, scales, gIdx, f, c, d);
        }
        else
        {
            var layout = new AWQ_GEMMLayout(n, k, groupSize);
            int groups = k / groupSize;
            byte[] qw = new byte[layout.QweightBytes], qz = new byte[layout.QzerosBytes], sc = new byte[layout.ScalesBytes];
            AWQ_GEMMCodec.Encode(layout, Codes(rng, n * k, 16), Codes(rng, n * groups, 16), Enumerable.Range(0, n * groups).Select(_ => RandomHalf(rng)).ToArray(), qw, qz, sc);
            scalar = (f, c, d) => AWQ_GEMMCodec.DecodeRowsScalar(layout, qw, qz, sc, f, c, d);
            simd = (f, c, d) => AWQ_GEMMCodec.DecodeRowsV256(layout, qw, qz, sc, f, c, d);
        }
        long length = (long)n * k;
        Assert.True(length >= 1 << 20, "the layer must be large enough to stream");
        float* buffer = (float*)System.Runtime.InteropServices.NativeMemory.AlignedAlloc((nuint)(length + 8) * sizeof(float), 64);
        try
        {
            foreach (var (first, count, shift) in new[] { (0, n, 0), (3, n - 3, 0), (0, n, 1), (5, n - 13, 0) })
            {
                var expected = new float[(long)count * k];
                scalar(first, count, expected);
                var actual = new Span<float>(buffer + shift, count * k);
                actual.Fill(float.NaN);
                simd(first, count, actual);
                Paths.AssertBitwiseEqual(expected, actual.ToArray(), $"{format} rows {first}+{count}, buffer offset {shift}");
            }
        }
        finally
        {
            System.Runtime.InteropServices.NativeMemory.AlignedFree(buffer);
        }
    }
}
