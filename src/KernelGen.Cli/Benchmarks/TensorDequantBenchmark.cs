using KernelGen.Kernels.Generated;

namespace KernelGen.Cli.Benchmarks;

/// <summary>
/// <c>kernelgen bench dequant --format GPTQ4_G128 ...</c>: the tensor-level codecs (GPTQ, AWQ, BitNet) decoding a
/// K = 4096 × N = 4096 nn.Linear layer built with the generated encoders from random codes, zero points and scales,
/// scalar (<c>DecodeRowsScalar</c>) against the widest accelerated SIMD path, on the whole layer (DRAM-sized output)
/// and on a cache-resident slice of output rows (1 MiB of floats per thread), as <see cref="DequantBenchmark"/> does.
/// </summary>
public static class TensorDequantBenchmark
{
    public const int InFeatures = 4096;

    /// <summary>Benchmark names and what each decodes (the command's help and PERFORMANCE.md list them).</summary>
    public static readonly IReadOnlyList<(string Name, string Description)> Cases = new[]
    {
        ("GPTQ4_G128", "GPTQ 4-bit, group 128, no g_idx (sym/asym v1 zeros)"),
        ("GPTQ4_G128_GIDX", "GPTQ 4-bit, group 128, g_idx stored as k / 128 (desc_act=False checkpoints)"),
        ("GPTQ4_G128_ACT", "GPTQ 4-bit, group 128, act-order g_idx (a random permutation cut into groups)"),
        ("GPTQ4_PC", "GPTQ 4-bit, per channel (group_size -1), no g_idx"),
        ("GPTQ4_PC_GIDX", "GPTQ 4-bit, per channel, g_idx stored (all zero)"),
        ("AWQ_GEMM", "AWQ WQLinear_GEMM 4-bit, group 128 (interleaved nibbles, qweight [K, N/8])"),
        ("AWQ_GEMV", "AWQ WQLinear_GEMV 4-bit, group 128 (qweight [N, K/8])"),
        ("BITNET", "BitNet b1.58 ternary, 2 bits, autobitlinear"),
    };

    public static bool IsTensorCase(string name) => Cases.Any(c => string.Equals(c.Name, name, StringComparison.OrdinalIgnoreCase));

    /// <summary>The case names a <c>--format</c> word selects: a case name, <c>GPTQ4</c> (every GPTQ case) or <c>tensor</c> (all).</summary>
    public static IEnumerable<string> Expand(string word)
    {
        if (string.Equals(word, "tensor", StringComparison.OrdinalIgnoreCase))
        {
            return Cases.Select(c => c.Name);
        }
        if (string.Equals(word, "GPTQ4", StringComparison.OrdinalIgnoreCase))
        {
            return Cases.Select(c => c.Name).Where(n => n.StartsWith("GPTQ4_", StringComparison.Ordinal));
        }
        return Cases.Where(c => string.Equals(c.Name, word, StringComparison.OrdinalIgnoreCase)).Select(c => c.Name);
    }

    private delegate void DecodeRows(int firstRow, int rowCount, Span<float> dst);

    private static ushort RandomScale(Random rng) => BitConverter.HalfToUInt16Bits((Half)(rng.NextDouble() * 0.02 + 0.001));

    /// <summary>Scalar and SIMD decoders of one random layer of case <paramref name="name"/>.</summary>
    private static (DecodeRows Scalar, DecodeRows Simd, string SimdPath, int Rows) Build(string name, int outFeatures)
    {
        var rng = new Random(1234);
        int n = outFeatures, k = InFeatures;
        string path = System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated ? "V512"
            : System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated ? "V256" : "V128";
        int[] Codes(int count, int max)
        {
            var a = new int[count];
            for (int i = 0; i < a.Length; i++) a[i] = rng.Next(max);
            return a;
        }
        ushort[] Scales(int count)
        {
            var a = new ushort[count];
            for (int i = 0; i < a.Length; i++) a[i] = RandomScale(rng);
            return a;
        }
        switch (name)
        {
            case "GPTQ4_G128" or "GPTQ4_G128_GIDX" or "GPTQ4_G128_ACT" or "GPTQ4_PC" or "GPTQ4_PC_GIDX":
            {
                int group = name.StartsWith("GPTQ4_PC", StringComparison.Ordinal) ? -1 : 128;
                var layout = new GPTQLayout(n, k, 4, group, GPTQCheckpoint.Gptq);
                int groups = (int)layout.GroupCount, gs = layout.GroupSize;
                var g = new int[k];
                var order = Enumerable.Range(0, k).ToArray();
                if (name.EndsWith("_ACT", StringComparison.Ordinal)) rng.Shuffle(order);
                for (int i = 0; i < k; i++) g[order[i]] = i / gs;
                byte[] qweight = new byte[layout.QweightBytes], qzeros = new byte[layout.QzerosBytes], scales = new byte[layout.ScalesBytes], gIdx = new byte[layout.GIdxBytes];
                GPTQCodec.Encode(layout, Codes(n * k, 16), Codes(n * groups, 15), Scales(n * groups), g, qweight, qzeros, scales, gIdx);
                byte[] gi = name.EndsWith("GIDX", StringComparison.Ordinal) || name.EndsWith("_ACT", StringComparison.Ordinal) ? gIdx : Array.Empty<byte>();
                return (
                    (f, c, d) => GPTQCodec.DecodeRowsScalar(layout, qweight, qzeros, scales, gi, f, c, d),
                    path switch
                    {
                        "V512" => (f, c, d) => GPTQCodec.DecodeRowsV512(layout, qweight, qzeros, scales, gi, f, c, d),
                        "V256" => (f, c, d) => GPTQCodec.DecodeRowsV256(layout, qweight, qzeros, scales, gi, f, c, d),
                        _ => (f, c, d) => GPTQCodec.DecodeRowsV128(layout, qweight, qzeros, scales, gi, f, c, d),
                    }, path, n);
            }
            case "AWQ_GEMM":
            {
                var layout = new AWQ_GEMMLayout(n, k, 128);
                int groups = (int)layout.GroupCount;
                byte[] qweight = new byte[layout.QweightBytes], qzeros = new byte[layout.QzerosBytes], scales = new byte[layout.ScalesBytes];
                AWQ_GEMMCodec.Encode(layout, Codes(n * k, 16), Codes(n * groups, 16), Scales(n * groups), qweight, qzeros, scales);
                return (
                    (f, c, d) => AWQ_GEMMCodec.DecodeRowsScalar(layout, qweight, qzeros, scales, f, c, d),
                    path switch
                    {
                        "V512" => (f, c, d) => AWQ_GEMMCodec.DecodeRowsV512(layout, qweight, qzeros, scales, f, c, d),
                        "V256" => (f, c, d) => AWQ_GEMMCodec.DecodeRowsV256(layout, qweight, qzeros, scales, f, c, d),
                        _ => (f, c, d) => AWQ_GEMMCodec.DecodeRowsV128(layout, qweight, qzeros, scales, f, c, d),
                    }, path, n);
            }
            case "AWQ_GEMV":
            {
                var layout = new AWQ_GEMVLayout(n, k, 128);
                int groups = (int)layout.GroupCount;
                byte[] qweight = new byte[layout.QweightBytes], qzeros = new byte[layout.QzerosBytes], scales = new byte[layout.ScalesBytes];
                AWQ_GEMVCodec.Encode(layout, Codes(n * k, 16), Codes(n * groups, 16), Scales(n * groups), qweight, qzeros, scales);
                return (
                    (f, c, d) => AWQ_GEMVCodec.DecodeRowsScalar(layout, qweight, qzeros, scales, f, c, d),
                    path switch
                    {
                        "V512" => (f, c, d) => AWQ_GEMVCodec.DecodeRowsV512(layout, qweight, qzeros, scales, f, c, d),
                        "V256" => (f, c, d) => AWQ_GEMVCodec.DecodeRowsV256(layout, qweight, qzeros, scales, f, c, d),
                        _ => (f, c, d) => AWQ_GEMVCodec.DecodeRowsV128(layout, qweight, qzeros, scales, f, c, d),
                    }, path, n);
            }
            case "BITNET":
            {
                var layout = new BitNetLayout(n, k, BitNetLinearClass.Autobitlinear);
                byte[] weight = new byte[layout.WeightBytes], weightScale = new byte[layout.WeightScaleBytes];
                BitNetCodec.Encode(layout, Codes(n * k, 3), new ushort[] { 0x3F80 }, weight, weightScale);
                return (
                    (f, c, d) => BitNetCodec.DecodeRowsScalar(layout, weight, weightScale, f, c, d),
                    path switch
                    {
                        "V512" => (f, c, d) => BitNetCodec.DecodeRowsV512(layout, weight, weightScale, f, c, d),
                        "V256" => (f, c, d) => BitNetCodec.DecodeRowsV256(layout, weight, weightScale, f, c, d),
                        _ => (f, c, d) => BitNetCodec.DecodeRowsV128(layout, weight, weightScale, f, c, d),
                    }, path, n);
            }
            default:
                throw new ArgumentException($"unknown tensor-level benchmark '{name}'", nameof(name));
        }
    }

    public static DequantResult Run(string name, long elements, int threads, double secondsPerMeasure, MemoryBandwidth bandwidth)
    {
        int rows = (int)Math.Clamp(elements / InFeatures, 1, int.MaxValue);
        var (scalar, simd, simdPath, _) = Build(name, rows);
        // The output goes where a real caller would put a large layer: a 64-byte aligned buffer (the tile path then
        // streams its stores past the caches; see KernelGenHelpers.CanStream).
        using var output = new AlignedFloats((long)rows * InFeatures);
        var dst = output.Memory;

        double Measure(DecodeRows decode, long measureRows)
        {
            void Once() => ParallelChunks.Run(threads, measureRows, 1, (start, count) =>
                decode((int)start, (int)count, dst.Span.Slice((int)(start * InFeatures), (int)(count * InFeatures))));
            int runs = BenchTimer.RunsFor(Once, secondsPerMeasure);
            return measureRows * InFeatures * 4.0 / BenchTimer.MedianSeconds(Once, runs) / 1e9;
        }

        long cacheRows = Math.Min(rows, Math.Max(1, (1 << 20) / (InFeatures * 4) * threads)); // 1 MiB of floats per thread
        // Warm-up on the cache-sized slice: enough rows to reach the tile paths, so they are at full JIT tier when timed.
        void Small(DecodeRows d) => d(0, (int)cacheRows, dst.Span);
        BenchTimer.WarmUp(() => Small(scalar));
        BenchTimer.WarmUp(() => Small(simd));
        return new DequantResult(name, (long)rows * InFeatures, threads,
            ScalarGBps: Measure(scalar, rows),
            SimdGBps: Measure(simd, rows),
            SimdPath: simdPath,
            CacheScalarGBps: Measure(scalar, cacheRows),
            CacheSimdGBps: Measure(simd, cacheRows),
            MemoryCopyGBps: bandwidth.CopyGBps(threads),
            MemoryReadGBps: bandwidth.ReadGBps(threads));
    }
}
