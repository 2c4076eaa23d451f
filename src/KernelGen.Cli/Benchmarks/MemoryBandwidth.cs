using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using KernelGen.Kernels.Threading;

namespace KernelGen.Cli.Benchmarks;

/// <summary>
/// This machine's memory bandwidth, measured in-process with the same thread count as the kernel it is compared
/// with (PERF-ANCHORS.md "How to compare"): a STREAM-like read (a vector sum with four accumulators over a buffer far
/// larger than the last-level cache) and a copy. Best of <c>repeats</c>.
/// </summary>
public sealed unsafe class MemoryBandwidth : IDisposable
{
    private readonly nuint _bytes;
    private readonly byte* _a;
    private readonly byte* _b;

    /// <param name="bytes">Buffer size; 1 GiB by default, so caches do not flatter the result.</param>
    /// <param name="copyBuffer">Also allocate the destination buffer <see cref="CopyGBps"/> needs (false: read only, half the memory).</param>
    public MemoryBandwidth(long bytes = 1L << 30, bool copyBuffer = true)
    {
        _bytes = (nuint)(bytes / 256 * 256);
        _a = (byte*)NativeMemory.AlignedAlloc(_bytes, 64);
        _b = copyBuffer ? (byte*)NativeMemory.AlignedAlloc(_bytes, 64) : null;
        // First touch costs page faults; pay them before timing.
        NativeMemory.Fill(_a, _bytes, 1);
        if (copyBuffer) NativeMemory.Fill(_b, _bytes, 2);
    }

    /// <summary>Read bandwidth in GB/s (10^9 bytes per second) with <paramref name="threads"/> threads.</summary>
    public double ReadGBps(int threads, int repeats = 3) => Best(repeats, threads, (start, count) => Sum(_a + start, count));

    /// <summary>Copy bandwidth in GB/s of bytes copied (traffic is twice that).</summary>
    public double CopyGBps(int threads, int repeats = 3)
    {
        if (_b == null) throw new InvalidOperationException("this MemoryBandwidth was created without a copy buffer");
        return Best(repeats, threads, (start, count) => { Buffer.MemoryCopy(_a + start, _b + start, (long)count, (long)count); return 0; });
    }

    /// <summary>
    /// One read-bandwidth measurement in GB/s on the threads of <paramref name="pool"/>, the pool a kernel benchmark
    /// runs its kernels on, so the probe's threads are the kernel's threads (same placement, same wake-up path). The
    /// buffer is cut into <c>8 × pool.Threads</c> contiguous chunks claimed dynamically, as kernel work items are.
    /// </summary>
    public double ReadGBps(KernelThreadPool pool)
    {
        ArgumentNullException.ThrowIfNull(pool);
        int items = pool.Threads == 1 ? 1 : pool.Threads * 8;
        var job = new ReadJob { Base = _a, TotalBytes = _bytes, ChunkBytes = (_bytes / (nuint)items + 255) / 256 * 256 };
        long start = System.Diagnostics.Stopwatch.GetTimestamp();
        pool.For(items, &ReadItem, &job);
        double seconds = System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalSeconds;
        GC.KeepAlive(job.Sink);
        return _bytes / seconds / 1e9;
    }

    private struct ReadJob
    {
        public byte* Base;
        public nuint ChunkBytes;
        public nuint TotalBytes;
        public float Sink;
    }

    private static void ReadItem(void* state, int item)
    {
        var job = (ReadJob*)state;
        nuint start = (nuint)item * job->ChunkBytes;
        if (start >= job->TotalBytes) return;
        nuint count = Math.Min(job->ChunkBytes, job->TotalBytes - start);
        // A racy add is fine: the store only keeps the sum (and so the loads) alive.
        job->Sink += Sum(job->Base + start, count);
    }

    private double Best(int repeats, int threads, Func<nuint, nuint, float> work)
    {
        double best = 0;
        for (int r = 0; r < repeats; r++)
        {
            var sw = System.Diagnostics.Stopwatch.StartNew();
            ParallelChunks.Run(threads, (long)_bytes, 256, (start, count) => work((nuint)start, (nuint)count));
            double gbps = _bytes / sw.Elapsed.TotalSeconds / 1e9;
            best = Math.Max(best, gbps);
        }
        return best;
    }

    // Four independent accumulators hide the add latency, so the loop is limited by loads alone.
    private static float Sum(byte* p, nuint count)
    {
        float* f = (float*)p;
        nuint n = count / 4;
        if (Vector512.IsHardwareAccelerated)
        {
            Vector512<float> s0 = default, s1 = default, s2 = default, s3 = default;
            for (nuint i = 0; i + 64 <= n; i += 64)
            {
                s0 += Vector512.Load(f + i);
                s1 += Vector512.Load(f + i + 16);
                s2 += Vector512.Load(f + i + 32);
                s3 += Vector512.Load(f + i + 48);
            }
            return Vector512.Sum(s0 + s1 + s2 + s3);
        }
        Vector256<float> t0 = default, t1 = default, t2 = default, t3 = default;
        for (nuint i = 0; i + 32 <= n; i += 32)
        {
            t0 += Vector256.Load(f + i);
            t1 += Vector256.Load(f + i + 8);
            t2 += Vector256.Load(f + i + 16);
            t3 += Vector256.Load(f + i + 24);
        }
        return Vector256.Sum(t0 + t1 + t2 + t3);
    }

    public void Dispose()
    {
        NativeMemory.AlignedFree(_a);
        if (_b != null) NativeMemory.AlignedFree(_b);
    }
}
