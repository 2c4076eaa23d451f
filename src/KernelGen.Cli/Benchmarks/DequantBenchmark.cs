using KernelGen.Kernels;
using KernelGen.Kernels.Generated;

namespace KernelGen.Cli.Benchmarks;

/// <summary>The result of one dequantization benchmark, in GB/s of output floats (10^9 bytes of float32 per second).</summary>
public sealed record DequantResult(
    string Format, long Elements, int Threads, double ScalarGBps, double SimdGBps, string SimdPath,
    double CacheScalarGBps, double CacheSimdGBps, double MemoryCopyGBps, double MemoryReadGBps)
{
    /// <summary>SIMD over scalar on cache-resident data (where the kernel, not DRAM, is the limit).</summary>
    public double CacheSpeedup => CacheSimdGBps / CacheScalarGBps;

    /// <summary>SIMD output bandwidth over memcpy bandwidth, both streaming through DRAM with the same thread count.</summary>
    public double CopyRatio => SimdGBps / MemoryCopyGBps;
}

/// <summary>
/// <c>kernelgen bench dequant</c>: decodes a DRAM-sized tensor (rows × 4096) and a cache-resident slice (1 MiB of
/// output, as PERF-ANCHORS.md's last column) with the scalar path and the widest accelerated SIMD path, and measures
/// this machine's memory copy and read bandwidth in the same process with the same thread count.
/// </summary>
public static class DequantBenchmark
{
    public const int RowLength = 4096;

    public static DequantResult Run(string formatName, long elements, int threads, double secondsPerMeasure, MemoryBandwidth bandwidth)
    {
        var format = Dequantizer.GetFormat(formatName);
        if (!Quantizer.IsSupported(format.Name)) throw new NotSupportedException($"no quantizer for {format.Name} to make test data");
        elements = Math.Max(RowLength, elements / RowLength * RowLength);
        long rows = elements / RowLength;
        long rowBytes = RowLength / format.BlockElements * format.BlockBytes;

        // Quantize one pseudo-random row set and tile it: the bytes differ per block, which is all decoding cares about.
        var random = new Random(1234);
        var row = new float[RowLength * 16];
        for (int i = 0; i < row.Length; i++) row[i] = (float)(random.NextDouble() * 2 - 1);
        var quantRows = new byte[16 * rowBytes];
        Quantizer.Quantize(format.Name, row, quantRows);
        var src = new byte[rows * rowBytes];
        for (long r = 0; r < rows; r++) quantRows.AsSpan((int)(r % 16 * rowBytes), (int)rowBytes).CopyTo(src.AsSpan((int)(r * rowBytes)));
        var dst = new float[elements];

        string simdPath = System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated ? "V512"
            : System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated ? "V256" : "V128";
        var simd = simdPath switch { "V512" => format.DecodeRowV512, "V256" => format.DecodeRowV256, _ => format.DecodeRowV128 };

        double Measure(KernelGenDecodeRow decode, long measureRows)
        {
            void Once() => ParallelChunks.Run(threads, measureRows, 1, (start, count) =>
                decode(src.AsSpan((int)(start * rowBytes), (int)(count * rowBytes)), dst.AsSpan((int)(start * RowLength), (int)(count * RowLength))));
            int runs = BenchTimer.RunsFor(Once, secondsPerMeasure);
            return measureRows * RowLength * 4.0 / BenchTimer.MedianSeconds(Once, runs) / 1e9;
        }

        long cacheRows = Math.Min(rows, Math.Max(1, (1 << 20) / (RowLength * 4) * threads)); // 1 MiB of floats per thread
        void Small(KernelGenDecodeRow decode) => decode(src.AsSpan(0, (int)Math.Min(src.Length, 4 * rowBytes)), dst.AsSpan(0, (int)Math.Min(dst.Length, 4L * RowLength)));
        BenchTimer.WarmUp(() => Small(format.DecodeRowScalar));
        BenchTimer.WarmUp(() => Small(simd));
        return new DequantResult(format.Name, elements, threads,
            ScalarGBps: Measure(format.DecodeRowScalar, rows),
            SimdGBps: Measure(simd, rows),
            SimdPath: simdPath,
            CacheScalarGBps: Measure(format.DecodeRowScalar, cacheRows),
            CacheSimdGBps: Measure(simd, cacheRows),
            MemoryCopyGBps: bandwidth.CopyGBps(threads),
            MemoryReadGBps: bandwidth.ReadGBps(threads));
    }
}
