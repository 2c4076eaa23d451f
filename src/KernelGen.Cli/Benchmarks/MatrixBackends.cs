using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;
using KernelGen.Cli.Infrastructure;
using KernelGen.Gpu;
using KernelGen.Kernels.MatMul;
using KernelGen.Kernels.Threading;

namespace KernelGen.Cli.Benchmarks;

/// <summary>
/// Where <c>kernelgen bench matvec|matmul</c> and the demo's kernel section run a <see cref="QuantizedMatrix"/>: the
/// CPU kernels on a persistent <see cref="KernelThreadPool"/>, or a GPU through KernelGen.Gpu (ILGPU). A backend also
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

    /// <summary>
    /// The integer kernels' compute ceiling on the kernel's own threads (<see cref="Int8ComputePeak"/>), in 10^9
    /// operations per second, per candidate instruction, fastest first; empty where it does not apply (a GPU, a CPU
    /// without AVX2).
    /// </summary>
    IReadOnlyList<(string Instruction, double GopPerSecond)> MeasureInt8Peak();

    /// <summary>
    /// The last-level cache in front of the memory the weights stream from, in bytes (the host L3 for the CPU, the
    /// device L2 for a GPU): rotated copies are cold when they total at least 4x this.
    /// </summary>
    long CacheBytes { get; }

    /// <summary>How many copies of a <paramref name="weightBytes"/> matrix a run rotates through (1 when not <paramref name="cold"/>).</summary>
    int CopyCount(long weightBytes, bool cold);

    /// <summary>
    /// True when kernel calls are tiered-JIT .NET code whose timing needs the warm-up rounds of
    /// <see cref="BenchTimer.WarmUp"/> first; false when a few untimed calls suffice (GPU kernels are compiled at load).
    /// </summary>
    bool NeedsJitWarmUp { get; }
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

    /// <summary>
    /// Every backend this machine can run now: the CPU, and the GPU backend (<see cref="GpuMatrixBackend.IsAvailable"/>:
    /// always, on ILGPU's CPU accelerator at worst; left out only when KERNELGEN_GPU_BACKEND forces a device that is not here).
    /// </summary>
    public static IEnumerable<IMatrixBackend> Available(int threads)
    {
        yield return new CpuMatrixBackend(threads);
        if (!GpuMatrixBackend.IsAvailable) yield break;
        IMatrixBackend? gpu = null;
        try
        {
            gpu = GpuMatrixBackend.Create();
        }
        catch (CliUsageException)
        {
        }
        if (gpu is not null) yield return gpu;
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
            // The byte dot product the integer kernels use: vpdpbusd with AVX-VNNI, else vpmaddubsw + vpmaddwd.
            string dot = System.Runtime.Intrinsics.X86.AvxVnni.IsSupported ? "AVX-VNNI"
                : System.Runtime.Intrinsics.X86.Avx2.IsSupported ? "AVX2" : "portable";
            return $"CPU, {Threads} thread(s) of {Environment.ProcessorCount}, {simd}, {dot}, 4-row tile {KernelGen.Kernels.MatMul.QuantizedMatrix.InterleavedTile}";
        }
    }

    public IMatrixSession Open(IReadOnlyList<QuantizedMatrix> copies, ReadOnlySpan<float> x, int batch) =>
        new Session(this, copies, x.ToArray(), batch);

    /// <summary>
    /// Reads a 1 GiB buffer (64 x the last-level cache; allocated and touched on first use) on the kernel pool's own
    /// threads, so the probe's threads are the kernel's.
    /// </summary>
    public double MeasureReadGBps() => (_bandwidth ??= new MemoryBandwidth(1L << 30, copyBuffer: false)).ReadGBps(_pool);

    public IReadOnlyList<(string Instruction, double GopPerSecond)> MeasureInt8Peak() => Int8ComputePeak.Measure(_pool);

    public long CacheBytes => MatrixWeights.LastLevelCacheBytes;

    public int CopyCount(long weightBytes, bool cold) => MatrixWeights.CopyCount(weightBytes, cold);

    public bool NeedsJitWarmUp => true;

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
/// <c>--backend gpu</c> and the demo's GPU rows: KernelGen.Gpu's generated ILGPU kernels on the accelerator
/// <see cref="GpuBackend.Create(GpuBackendKind?)"/> picks (CUDA, then OpenCL, then ILGPU's CPU accelerator; the
/// environment variable <c>KERNELGEN_GPU_BACKEND=cuda|opencl|cpu</c> forces one). <see cref="IMatrixSession.Run"/>
/// launches the device kernel on weights and activations uploaded once and synchronises, so a timed call is launch +
/// kernel + wait, with no host-device copies. Read bandwidth: <see cref="GpuReadBandwidth"/>, a device-side read kernel.
/// </summary>
public sealed class GpuMatrixBackend : IMatrixBackend
{
    /// <summary>Read-probe buffer on a real GPU: 1 GiB (20x an H100's 50 MB L2), at most an eighth of device memory.</summary>
    public const long DeviceProbeBytes = 1L << 30;

    /// <summary>Read-probe buffer on ILGPU's CPU accelerator (slow: it runs the kernel as emulated threads on the host): 4x the host L3.</summary>
    public const long CpuAcceleratorProbeBytes = 64L << 20;

    /// <summary>The L2 assumed for an OpenCL device (ILGPU does not report it): generous, so rotated copies are cold.</summary>
    public const long UnknownDeviceCacheBytes = 256L << 20;

    private readonly GpuBackend _gpu;
    private GpuReadBandwidth? _bandwidth;

    private GpuMatrixBackend(GpuBackend gpu) => _gpu = gpu;

    /// <summary>Always true: with no CUDA or OpenCL device, the kernels run on ILGPU's CPU accelerator.</summary>
    public static bool IsAvailable => true;

    /// <summary>
    /// Opens the accelerator <see cref="GpuBackend.Create(GpuBackendKind?)"/> chooses; a usage error (exit 2, one line)
    /// when KERNELGEN_GPU_BACKEND names an unknown kind or a device that is not usable here.
    /// </summary>
    public static IMatrixBackend Create()
    {
        try
        {
            return new GpuMatrixBackend(GpuBackend.Create());
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException)
        {
            throw new CliUsageException($"--backend gpu: {e.Message.Replace('\n', ' ')} ({GpuBackend.ForceVariable}={Environment.GetEnvironmentVariable(GpuBackend.ForceVariable) ?? "unset"})");
        }
    }

    /// <summary>The ILGPU backend in use.</summary>
    public GpuBackend Gpu => _gpu;

    /// <summary>True on ILGPU's CPU accelerator (no real GPU here).</summary>
    public bool IsCpuAccelerator => _gpu.Kind == GpuBackendKind.Cpu;

    public string Name => "gpu";

    /// <summary>The device chosen, e.g. <c>ILGPU CUDA: NVIDIA H100 80GB HBM3 (warp 32, 1024 threads/group)</c> or <c>ILGPU CPU accelerator: ...</c>.</summary>
    public string Description
    {
        get
        {
            string kind = _gpu.Kind switch
            {
                GpuBackendKind.Cuda => "CUDA",
                GpuBackendKind.OpenCL => "OpenCL",
                _ => "CPU accelerator",
            };
            var a = _gpu.Accelerator;
            return $"ILGPU {kind}: {_gpu.DeviceName} (warp {a.WarpSize}, {a.MaxNumThreadsPerGroup} threads/group, {a.NumMultiprocessors} multiprocessors)";
        }
    }

    public int Threads => 1;

    /// <summary>The device L2 (CUDA reports it); ILGPU's CPU accelerator: the host L3; OpenCL: <see cref="UnknownDeviceCacheBytes"/>.</summary>
    public long CacheBytes => _gpu.Accelerator switch
    {
        CudaAccelerator cuda when cuda.L2CacheSize > 0 => cuda.L2CacheSize,
        _ when IsCpuAccelerator => MatrixWeights.LastLevelCacheBytes,
        _ => UnknownDeviceCacheBytes,
    };

    /// <summary>
    /// One copy when hot, and always on ILGPU's CPU accelerator (too slow for rotation to matter; its weights are then
    /// reported hot). Cold on a real GPU: enough copies to total 4x the L2 (at least 2), within a quarter of the device
    /// memory and of the host memory available (the host builds the copies before uploading them).
    /// </summary>
    public int CopyCount(long weightBytes, bool cold)
    {
        if (!cold || IsCpuAccelerator) return 1;
        weightBytes = Math.Max(1, weightBytes);
        long wanted = Math.Max((4 * CacheBytes + weightBytes - 1) / weightBytes + 1, 2);
        long affordable = Math.Min(_gpu.MemoryBytes, MatrixWeights.AvailableMemoryBytes()) / 4 / weightBytes;
        return (int)Math.Clamp(Math.Min(wanted, affordable), 1, 1 << 20);
    }

    public bool NeedsJitWarmUp => false;

    public IMatrixSession Open(IReadOnlyList<QuantizedMatrix> copies, ReadOnlySpan<float> x, int batch) => new Session(_gpu, copies, x, batch);

    /// <summary>
    /// One read-bandwidth measurement of device memory: <see cref="GpuReadBandwidth"/> over
    /// <see cref="DeviceProbeBytes"/> (<see cref="CpuAcceleratorProbeBytes"/> on the CPU accelerator), allocated on first use.
    /// </summary>
    public IReadOnlyList<(string Instruction, double GopPerSecond)> MeasureInt8Peak() => [];

    public double MeasureReadGBps()
    {
        _bandwidth ??= new GpuReadBandwidth(_gpu.Accelerator, IsCpuAccelerator
            ? CpuAcceleratorProbeBytes
            : Math.Min(DeviceProbeBytes, _gpu.MemoryBytes / 8));
        return _bandwidth.ReadGBps();
    }

    public void Dispose()
    {
        _bandwidth?.Dispose();
        _gpu.Dispose();
    }

    /// <summary>
    /// The weight copies uploaded by their kernel format name (a GPTQ/AWQ/BitNet layer arrives repacked: GQ4_G128, ...),
    /// x uploaded once, permuted on the host first when the layout stores its inputs in another order
    /// (<see cref="QuantizedMatrix.InputOrder"/>, as the CPU kernels gather it), and y allocated once.
    /// </summary>
    private sealed class Session : IMatrixSession
    {
        private readonly GpuBackend _gpu;
        private readonly List<GpuQuantizedMatrix> _copies = [];
        private readonly MemoryBuffer1D<float, Stride1D.Dense> _x;
        private readonly MemoryBuffer1D<float, Stride1D.Dense> _y;
        private readonly int _batch;

        public Session(GpuBackend gpu, IReadOnlyList<QuantizedMatrix> copies, ReadOnlySpan<float> x, int batch)
        {
            _gpu = gpu;
            _batch = batch;
            var first = copies[0];
            var input = x.ToArray();
            if (!first.InputOrder.IsEmpty)
            {
                // Stored column j holds input InputOrder[j] (all copies are clones: one order).
                var order = first.InputOrder;
                for (int b = 0; b < batch; b++)
                {
                    var src = x.Slice(b * first.K, first.K);
                    var dst = input.AsSpan(b * first.K, first.K);
                    for (int j = 0; j < first.K; j++) dst[j] = src[order[j]];
                }
            }
            try
            {
                foreach (var m in copies) _copies.Add(gpu.Upload(m.Format.Name, m.Rows.Span, m.K, m.N));
                _x = gpu.Allocate(input);
                _y = gpu.Allocate<float>((long)batch * first.N);
            }
            catch
            {
                foreach (var c in _copies) c.Dispose();
                _x?.Dispose();
                throw;
            }
        }

        public void Run(int copy)
        {
            var m = _copies[copy];
            if (_batch == 1) m.MatVecDevice(_x.View, _y.View);
            else m.MatMulDevice(_x.View, _batch, _y.View);
            _gpu.Synchronize();
        }

        public void ReadOutput(Span<float> y) => ((ArrayView<float>)_y.View).CopyToCPU(y);

        public void Dispose()
        {
            foreach (var c in _copies) c.Dispose();
            _x.Dispose();
            _y.Dispose();
        }
    }
}
