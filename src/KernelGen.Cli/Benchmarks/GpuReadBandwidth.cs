using System.Diagnostics;
using ILGPU;
using ILGPU.Runtime;

namespace KernelGen.Cli.Benchmarks;

/// <summary>
/// Device memory read bandwidth, measured on the accelerator the GPU kernels run on: a grid-stride read kernel (one
/// thread per resident thread slot, 8-byte coalesced loads, four independent loads in flight per thread) sums a buffer
/// far larger than the L2 and writes one value per thread, so nothing is optimised away. A read, not a
/// device-to-device copy: the matrix kernels only read their weights, and a copy's write traffic would muddle the
/// comparison. GB/s = buffer bytes / (launch + kernel + synchronise), 10^9 bytes per second.
/// </summary>
public sealed class GpuReadBandwidth : IDisposable
{
    private readonly Accelerator _accelerator;
    private readonly MemoryBuffer1D<long, Stride1D.Dense> _data;
    private readonly MemoryBuffer1D<long, Stride1D.Dense> _sums;
    private readonly Action<Index1D, ArrayView<long>, ArrayView<long>> _kernel;

    /// <param name="accelerator">The device.</param>
    /// <param name="bytes">Buffer size (rounded down to whole 8-byte words).</param>
    public GpuReadBandwidth(Accelerator accelerator, long bytes)
    {
        _accelerator = accelerator;
        long words = Math.Max(1, bytes / sizeof(long));
        // Enough threads to fill every multiprocessor; a multiple of the warp, at most one per 8 words.
        long slots = (long)Math.Max(1, accelerator.NumMultiprocessors) * Math.Max(accelerator.WarpSize, accelerator.MaxNumThreadsPerMultiprocessor);
        int threads = (int)Math.Clamp(slots, 1, Math.Max(1, words / 8));
        _data = accelerator.Allocate1D<long>(words);
        _sums = accelerator.Allocate1D<long>(threads);
        _data.MemSetToZero();
        _kernel = accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<long>, ArrayView<long>>(ReadKernel);
        // Compile and first touch before anything is timed.
        _kernel(threads, _data.View, _sums.View);
        accelerator.Synchronize();
    }

    /// <summary>Bytes read per measurement.</summary>
    public long Bytes => _data.LengthInBytes;

    /// <summary>One measurement, GB/s.</summary>
    public double ReadGBps()
    {
        long start = Stopwatch.GetTimestamp();
        _kernel((int)_sums.Length, _data.View, _sums.View);
        _accelerator.Synchronize();
        return Bytes / Stopwatch.GetElapsedTime(start).TotalSeconds / 1e9;
    }

    public void Dispose()
    {
        _data.Dispose();
        _sums.Dispose();
    }

    /// <summary>Thread t sums words t, t + T, t + 2T, ... (T = threads): each warp's loads are contiguous.</summary>
    internal static void ReadKernel(Index1D index, ArrayView<long> data, ArrayView<long> sums)
    {
        long stride = sums.Length;
        long length = data.Length;
        long a = 0, b = 0, c = 0, d = 0;
        long i = index;
        for (; i + 3 * stride < length; i += 4 * stride)
        {
            a += data[i];
            b += data[i + stride];
            c += data[i + 2 * stride];
            d += data[i + 3 * stride];
        }
        for (; i < length; i += stride) a += data[i];
        sums[index] = a + b + c + d;
    }
}
