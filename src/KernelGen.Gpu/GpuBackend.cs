using System.Collections.Concurrent;
using ILGPU;
using ILGPU.Runtime;
using KernelGen.Gpu.Generated;

namespace KernelGen.Gpu;

/// <summary>The kind of ILGPU accelerator a <see cref="GpuBackend"/> runs on.</summary>
public enum GpuBackendKind
{
    /// <summary>An NVIDIA GPU through CUDA.</summary>
    Cuda,

    /// <summary>An OpenCL 2.0+ device.</summary>
    OpenCL,

    /// <summary>ILGPU's CPU accelerator: runs the kernels on the CPU with emulated warps and groups (slow; for tests).</summary>
    Cpu,
}

/// <summary>
/// One ILGPU accelerator and the KernelGen kernels loaded on it. <see cref="Create(GpuBackendKind?)"/> picks CUDA, then
/// OpenCL, then ILGPU's CPU accelerator (the first whose accelerator and kernels load), and says which it chose
/// (<see cref="Kind"/>, <see cref="DeviceName"/>, <see cref="SelectionLog"/>). Kernels are compiled per format on first
/// use and cached. Launches go to the accelerator's default stream; the object is not thread-safe.
/// </summary>
public sealed class GpuBackend : IDisposable
{
    /// <summary>Environment variable that forces a backend for <see cref="Create(GpuBackendKind?)"/>: <c>cuda</c>, <c>opencl</c> or <c>cpu</c>.</summary>
    public const string ForceVariable = "KERNELGEN_GPU_BACKEND";

    private readonly Context _context;
    private readonly ConcurrentDictionary<string, IKernelGenGpuKernels> _kernels = new(StringComparer.OrdinalIgnoreCase);
    private bool _disposed;

    private GpuBackend(Context context, Accelerator accelerator, GpuBackendKind kind, IReadOnlyList<string> log)
    {
        _context = context;
        Accelerator = accelerator;
        Kind = kind;
        SelectionLog = log;
    }

    /// <summary>The accelerator kind in use.</summary>
    public GpuBackendKind Kind { get; }

    /// <summary>The device's name as ILGPU reports it (e.g. <c>NVIDIA H100 80GB HBM3</c>, <c>CPUAccelerator</c>).</summary>
    public string DeviceName => Accelerator.Name;

    /// <summary>The ILGPU accelerator (for allocating device buffers and launching other kernels).</summary>
    public Accelerator Accelerator { get; }

    /// <summary>Device memory in bytes.</summary>
    public long MemoryBytes => Accelerator.MemorySize;

    /// <summary>How the backend was chosen: one line per candidate tried (and why one was skipped).</summary>
    public IReadOnlyList<string> SelectionLog { get; }

    /// <summary>One line for users: kind, device name, warp size.</summary>
    public string Description => $"{Kind}: {DeviceName} (warp {Accelerator.WarpSize}, {Accelerator.MaxNumThreadsPerGroup} threads/group)";

    /// <summary>Names of the formats with GPU kernels (every block format spec).</summary>
    public static IReadOnlyList<string> Formats => KernelGenGpuRegistry.Formats.Select(f => f.Name).ToArray();

    /// <summary>True when <paramref name="formatName"/> has GPU kernels.</summary>
    public static bool IsSupported(string formatName) => KernelGenGpuRegistry.Find(formatName) is not null;

    /// <summary>
    /// Creates the preferred backend: <paramref name="force"/> if given (or <see cref="ForceVariable"/> if set), else the
    /// first of CUDA, OpenCL, CPU whose device is present and whose accelerator and kernels load.
    /// </summary>
    /// <exception cref="InvalidOperationException">A forced kind has no usable device.</exception>
    public static GpuBackend Create(GpuBackendKind? force = null)
    {
        force ??= ParseForce(Environment.GetEnvironmentVariable(ForceVariable));
        var order = force is { } f ? new[] { f } : new[] { GpuBackendKind.Cuda, GpuBackendKind.OpenCL, GpuBackendKind.Cpu };
        var log = new List<string>();
        foreach (var kind in order)
        {
            var context = CreateContext();
            var device = context.Devices.FirstOrDefault(d => KindOf(d.AcceleratorType) == kind);
            if (device is null)
            {
                log.Add($"{kind}: no device");
                context.Dispose();
                continue;
            }
            var backend = TryCreate(context, device, kind, log);
            if (backend is not null)
            {
                return backend;
            }
        }
        throw new InvalidOperationException("No usable ILGPU accelerator: " + string.Join("; ", log));
    }

    /// <summary>
    /// One backend per device present, in CUDA, OpenCL, CPU order (devices that fail to load are left out and listed in
    /// <paramref name="skipped"/>). The CPU accelerator is always among them. Dispose each.
    /// </summary>
    public static IReadOnlyList<GpuBackend> CreateAll(out IReadOnlyList<string> skipped)
    {
        var result = new List<GpuBackend>();
        var log = new List<string>();
        using (var probe = CreateContext())
        {
            int count = probe.Devices.Length;
            var ordered = Enumerable.Range(0, count)
                .Select(i => (Index: i, Kind: KindOf(probe.Devices[i].AcceleratorType)))
                .Where(d => d.Kind is not null)
                .OrderBy(d => d.Kind)
                .ToList();
            foreach (var (index, kind) in ordered)
            {
                var context = CreateContext();
                var backend = TryCreate(context, context.Devices[index], kind!.Value, log);
                if (backend is not null)
                {
                    result.Add(backend);
                }
            }
        }
        skipped = log;
        return result;
    }

    /// <summary>Forcing value from text (<c>cuda</c>, <c>opencl</c>, <c>cpu</c>; case-insensitive); null for empty or <c>auto</c>.</summary>
    public static GpuBackendKind? ParseForce(string? text) => text?.Trim().ToLowerInvariant() switch
    {
        null or "" or "auto" => null,
        "cuda" => GpuBackendKind.Cuda,
        "opencl" or "cl" => GpuBackendKind.OpenCL,
        "cpu" => GpuBackendKind.Cpu,
        _ => throw new ArgumentException($"Unknown GPU backend '{text}' (expected cuda, opencl, cpu or auto)."),
    };

    /// <summary>The kernels of <paramref name="formatName"/> on this accelerator (compiled on first use, then cached).</summary>
    /// <exception cref="NotSupportedException">The format has no GPU kernels.</exception>
    public IKernelGenGpuKernels GetKernels(string formatName)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _kernels.GetOrAdd(formatName, name =>
            (KernelGenGpuRegistry.Find(name) ?? throw new NotSupportedException($"Format '{name}' has no GPU kernels.")).Load(Accelerator));
    }

    /// <summary>Uploads a weight matrix: <paramref name="n"/> rows of <paramref name="k"/> elements in GGUF row-block layout.</summary>
    public GpuQuantizedMatrix Upload(string formatName, ReadOnlySpan<byte> rows, int k, int n) =>
        GpuQuantizedMatrix.Upload(this, formatName, rows, k, n);

    /// <summary>Allocates a dense device buffer of <paramref name="length"/> elements (for device-side calls and timing).</summary>
    public MemoryBuffer1D<T, Stride1D.Dense> Allocate<T>(long length) where T : unmanaged => Accelerator.Allocate1D<T>(length);

    /// <summary>Allocates a device buffer holding a copy of <paramref name="data"/>.</summary>
    public MemoryBuffer1D<T, Stride1D.Dense> Allocate<T>(T[] data) where T : unmanaged => Accelerator.Allocate1D(data);

    /// <summary>Waits until every launched kernel and copy has finished.</summary>
    public void Synchronize() => Accelerator.Synchronize();

    /// <inheritdoc/>
    public override string ToString() => Description;

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        Accelerator.Dispose();
        _context.Dispose();
    }

    private static Context CreateContext() => Context.Create(builder => builder.Default().EnableAlgorithms());

    private static GpuBackend? TryCreate(Context context, Device device, GpuBackendKind kind, List<string> log)
    {
        Accelerator? accelerator = null;
        try
        {
            accelerator = device.CreateAccelerator(context);
            var backend = new GpuBackend(context, accelerator, kind, log);
            // A device that cannot compile the kernels (e.g. an OpenCL device without sub-group support) is skipped.
            backend.GetKernels("Q4_0");
            log.Add($"{kind}: {device.Name} selected");
            return backend;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            log.Add($"{kind}: {device.Name} failed: {ex.GetType().Name}: {ex.Message}");
            accelerator?.Dispose();
            context.Dispose();
            return null;
        }
    }

    private static GpuBackendKind? KindOf(AcceleratorType type) => type switch
    {
        AcceleratorType.Cuda => GpuBackendKind.Cuda,
        AcceleratorType.OpenCL => GpuBackendKind.OpenCL,
        AcceleratorType.CPU => GpuBackendKind.Cpu,
        _ => null,
    };
}
