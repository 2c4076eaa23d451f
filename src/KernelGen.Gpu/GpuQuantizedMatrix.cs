using ILGPU;
using ILGPU.Runtime;
using KernelGen.Gpu.Generated;

namespace KernelGen.Gpu;

/// <summary>
/// A quantized weight matrix on the device: <see cref="N"/> rows of <see cref="K"/> elements in GGUF row-block layout
/// (ggml ne0 = K, ne1 = N), uploaded once. <c>MatVec</c>/<c>MatMul</c> from host spans copy the activations in and the
/// results out (synchronous); the <c>…Device</c> variants take device views and only launch (asynchronous: call
/// <see cref="Synchronize"/> before reading results or stopping a timer). Not thread-safe.
/// </summary>
public sealed class GpuQuantizedMatrix : IDisposable
{
    private readonly MemoryBuffer1D<byte, Stride1D.Dense> _weights;
    private MemoryBuffer1D<float, Stride1D.Dense>? _x;
    private MemoryBuffer1D<float, Stride1D.Dense>? _y;
    private bool _disposed;

    private GpuQuantizedMatrix(GpuBackend backend, IKernelGenGpuKernels kernels, MemoryBuffer1D<byte, Stride1D.Dense> weights, int k, int n)
    {
        Backend = backend;
        Kernels = kernels;
        _weights = weights;
        K = k;
        N = n;
    }

    /// <summary>Uploads <paramref name="rows"/> (<paramref name="n"/> rows of <paramref name="k"/> elements of <paramref name="formatName"/>).</summary>
    public static GpuQuantizedMatrix Upload(GpuBackend backend, string formatName, ReadOnlySpan<byte> rows, int k, int n)
    {
        ArgumentNullException.ThrowIfNull(backend);
        var kernels = backend.GetKernels(formatName);
        if (k <= 0 || k % kernels.BlockElements != 0)
            throw new ArgumentException($"K ({k}) must be a positive multiple of the {kernels.FormatName} block ({kernels.BlockElements} elements).", nameof(k));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(n);
        long bytes = (long)n * (k / kernels.BlockElements) * kernels.BlockBytes;
        if (rows.Length != bytes)
            throw new ArgumentException($"{n} rows of {k} {kernels.FormatName} elements are {bytes} bytes; got {rows.Length}.", nameof(rows));
        var buffer = backend.Accelerator.Allocate1D<byte>(bytes);
        ((ArrayView<byte>)buffer.View).CopyFromCPU(rows);
        return new GpuQuantizedMatrix(backend, kernels, buffer, k, n);
    }

    /// <summary>The backend (accelerator) the matrix lives on.</summary>
    public GpuBackend Backend { get; }

    /// <summary>The format's loaded kernels.</summary>
    public IKernelGenGpuKernels Kernels { get; }

    /// <summary>Format name (e.g. <c>Q4_K</c>).</summary>
    public string Format => Kernels.FormatName;

    /// <summary>Input features (elements per row).</summary>
    public int K { get; }

    /// <summary>Output features (rows).</summary>
    public int N { get; }

    /// <summary>Bytes of quantized weights on the device (what a matvec reads).</summary>
    public long WeightBytes => _weights.Length;

    /// <summary>The weights on the device.</summary>
    public ArrayView<byte> Weights => _weights.View;

    /// <summary>y = W·x from host memory: <paramref name="x"/> has K floats, <paramref name="y"/> receives N. Synchronous.</summary>
    public void MatVec(ReadOnlySpan<float> x, Span<float> y) => MatMul(x, 1, y);

    /// <summary>Y = X·Wᵀ from host memory: <paramref name="x"/> is batch×K, <paramref name="y"/> batch×N (row-major). Synchronous.</summary>
    public void MatMul(ReadOnlySpan<float> x, int batch, Span<float> y)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batch);
        if (x.Length != (long)batch * K)
            throw new ArgumentException($"x must hold batch × K = {(long)batch * K} floats; got {x.Length}.", nameof(x));
        if (y.Length != (long)batch * N)
            throw new ArgumentException($"y must hold batch × N = {(long)batch * N} floats; got {y.Length}.", nameof(y));
        var xv = Scratch(ref _x, x.Length);
        var yv = Scratch(ref _y, y.Length);
        xv.CopyFromCPU(x);
        if (batch == 1)
        {
            Kernels.MatVec(_weights.View, N, K, xv, yv);
        }
        else
        {
            Kernels.MatMul(_weights.View, N, K, xv, batch, yv);
        }
        Backend.Synchronize();
        yv.CopyToCPU(y);
    }

    /// <summary>Launches y = W·x on device views (x: K floats, y: N floats). Asynchronous.</summary>
    public void MatVecDevice(ArrayView<float> x, ArrayView<float> y)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        Kernels.MatVec(_weights.View, N, K, x, y);
    }

    /// <summary>Launches Y = X·Wᵀ on device views (X: batch×K, Y: batch×N, row-major). Asynchronous.</summary>
    public void MatMulDevice(ArrayView<float> x, int batch, ArrayView<float> y)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        Kernels.MatMul(_weights.View, N, K, x, batch, y);
    }

    /// <summary>Decodes the whole matrix to host floats (N×K, row-major). Synchronous.</summary>
    public void Dequantize(Span<float> destination)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        long count = (long)N * K;
        if (destination.Length != count)
            throw new ArgumentException($"The destination must hold N × K = {count} floats.", nameof(destination));
        using var buffer = Backend.Accelerator.Allocate1D<float>(count);
        Kernels.Dequantize(_weights.View, buffer.View);
        Backend.Synchronize();
        ((ArrayView<float>)buffer.View).CopyToCPU(destination);
    }

    /// <summary>Launches the decode of the whole matrix into a device view of N×K floats. Asynchronous.</summary>
    public void DequantizeDevice(ArrayView<float> destination)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        Kernels.Dequantize(_weights.View, destination);
    }

    /// <summary>Waits for every launched kernel (use around <c>…Device</c> calls when timing).</summary>
    public void Synchronize() => Backend.Synchronize();

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        _weights.Dispose();
        _x?.Dispose();
        _y?.Dispose();
    }

    private ArrayView<float> Scratch(ref MemoryBuffer1D<float, Stride1D.Dense>? buffer, long length)
    {
        if (buffer is null || buffer.Length < length)
        {
            buffer?.Dispose();
            buffer = Backend.Accelerator.Allocate1D<float>(length);
        }
        return buffer.View.SubView(0, length);
    }
}
