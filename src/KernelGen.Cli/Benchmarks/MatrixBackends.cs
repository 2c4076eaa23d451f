using KernelGen.Cli.Infrastructure;
using KernelGen.Kernels.MatMul;
using KernelGen.Kernels.Threading;

namespace KernelGen.Cli.Benchmarks;

/// <summary>
/// Where <c>kernelgen bench matvec|matmul</c> and the demo's kernel section run a <see cref="QuantizedMatrix"/>: the
/// CPU kernels on a persistent <see cref="KernelThreadPool"/>, or (once KernelGen.Gpu lands) a GPU. A backend also
/// measures the memory read bandwidth the kernel's weight GB/s is compared with, on the same threads / device.
/// </summary>
public interface IMatrixBackend : IDisposable
{
    /// <summary><c>cpu</c> or <c>gpu</c>, as <c>--backend</c> spells it.</summary>
    string Name { get; }

    /// <summary>One line for humans: threads, SIMD, device name.</summary>
    string Description { get; }

    /// <summary>Threads a kernel call runs on (1 for a GPU).</summary>
    int Threads { get; }

    /// <summary>
    /// Loads the weight copies (a GPU uploads them here) and the activations <paramref name="x"/>
    /// (<paramref name="batch"/> × K, row-major); the session's <see cref="IMatrixSession.Run"/> is what is timed.
    /// </summary>
    IMatrixSession Open(IReadOnlyList<QuantizedMatrix> copies, ReadOnlySpan<float> x, int batch);

    /// <summary>One measurement of the memory read bandwidth the weights stream from, GB/s (10^9 bytes/s), on the kernel's own threads.</summary>
    double MeasureReadGBps();
}

/// <summary>Weight copies and activations loaded on a backend.</summary>
public interface IMatrixSession : IDisposable
{
    /// <summary>Y = X·Wᵀ with weight copy <paramref name="copy"/>; returns when the result is complete.</summary>
    void Run(int copy);

    /// <summary>Copies the output of the last <see cref="Run"/> (batch × N, row-major) into <paramref name="y"/>.</summary>
    void ReadOutput(Span<float> y);
}

/// <summary>The backends <c>--backend</c> accepts, and the ones the demo runs on.</summary>
public static class MatrixBackends
{
    public static readonly string[] Names = ["cpu", "gpu"];

    /// <summary>Creates the backend named <paramref name="name"/>; a usage error (exit 2) when it is unknown or not available.</summary>
    public static IMatrixBackend Create(string name, int threads) => name.ToLowerInvariant() switch
    {
        "cpu" => new CpuMatrixBackend(threads),
        "gpu" => GpuMatrixBackend.Create(),
        _ => throw new CliUsageException($"unknown backend '{name}'; known: {string.Join(", ", Names)}"),
    };

    /// <summary>Every backend this machine can run now: the CPU, and a GPU when <see cref="GpuMatrixBackend.IsAvailable"/>.</summary>
    public static IEnumerable<IMatrixBackend> Available(int threads)
    {
        yield return new CpuMatrixBackend(threads);
        if (GpuMatrixBackend.IsAvailable) yield return GpuMatrixBackend.Create();
    }
}

/// <summary>The CPU kernels (<see cref="QuantizedMatrix.MatMul"/>) on a persistent <see cref="KernelThreadPool"/>.</summary>
public sealed class CpuMatrixBackend : IMatrixBackend
{
    private readonly KernelThreadPool _pool;
    private MemoryBandwidth? _bandwidth;

    /// <param name="threads">Kernel threads (the caller plus threads - 1 pool workers).</param>
    public CpuMatrixBackend(int threads) => _pool = new KernelThreadPool(threads);

    public string Name => "cpu";

    public int Threads => _pool.Threads;

    public string Description
    {
        get
        {
            string simd = System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated ? "Vector512"
                : System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated ? "Vector256" : "Vector128";
            return $"CPU, {Threads} thread(s) of {Environment.ProcessorCount}, {simd}";
        }
    }

    public IMatrixSession Open(IReadOnlyList<QuantizedMatrix> copies, ReadOnlySpan<float> x, int batch) =>
        new Session(this, copies, x.ToArray(), batch);

    /// <summary>
    /// Reads a 1 GiB buffer (64 x the last-level cache; allocated and touched on first use) on the kernel pool's own
    /// threads, so the probe's threads are the kernel's.
    /// </summary>
    public double MeasureReadGBps() => (_bandwidth ??= new MemoryBandwidth(1L << 30, copyBuffer: false)).ReadGBps(_pool);

    public void Dispose()
    {
        _pool.Dispose();
        _bandwidth?.Dispose();
    }

    private sealed class Session(CpuMatrixBackend backend, IReadOnlyList<QuantizedMatrix> copies, float[] x, int batch) : IMatrixSession
    {
        private readonly float[] _y = new float[(long)batch * copies[0].N];

        public void Run(int copy) => copies[copy].MatMul(x, batch, _y, backend._pool);

        public void ReadOutput(Span<float> y) => _y.CopyTo(y);

        public void Dispose()
        {
        }
    }
}

/// <summary>
/// The GPU hook of <c>bench matvec|matmul --backend gpu</c> and of the demo's kernel section: the one place that
/// knows about KernelGen.Gpu.
/// </summary>
public static class GpuMatrixBackend
{
    // TODO(lead): GPU backend. When KernelGen.Gpu lands: make IsAvailable probe for a device, and Create return an
    // IMatrixBackend whose Open uploads the weight copies and x once, whose Run launches the kernel and synchronises
    // (so the timer sees the whole call), whose ReadOutput downloads y, and whose MeasureReadGBps measures device
    // memory read bandwidth (a device-side read kernel over a buffer far larger than L2).

    /// <summary>True when a GPU backend can run here (never, until KernelGen.Gpu is part of the build).</summary>
    public static bool IsAvailable => false;

    /// <summary>The GPU backend; a usage error (exit 2, one line) until KernelGen.Gpu is part of the build.</summary>
    public static IMatrixBackend Create() =>
        throw new CliUsageException("--backend gpu is not available yet: this build has no GPU backend (KernelGen.Gpu); use --backend cpu");
}
