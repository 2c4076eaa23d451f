namespace KernelGen.Gpu;

/// <summary>
/// What generated <c>[QuantizedMatVec(..., Backend = KernelBackend.Gpu)]</c> / <c>[QuantizedMatMul]</c> methods call:
/// the weights and activations arrive as host spans, so each call uploads W and x to the process-wide
/// <see cref="GpuBackend"/> (CUDA, then OpenCL, then ILGPU's CPU accelerator), runs the generated ILGPU kernel and
/// copies y back. For weights that stay on the device across calls use <see cref="GpuQuantizedMatrix"/> directly.
/// </summary>
public static class GpuKernelCalls
{
    private static readonly object s_gate = new();
    private static GpuBackend? s_backend;

    /// <summary>The backend generated GPU methods run on, created on first use.</summary>
    public static GpuBackend Backend
    {
        get
        {
            lock (s_gate)
            {
                return s_backend ??= GpuBackend.Create();
            }
        }
    }

    /// <summary>Y = X·Wᵀ on the GPU backend: W is n rows of k elements of <paramref name="format"/> (GGUF row layout).</summary>
    public static void MatMul(string format, ReadOnlySpan<byte> weights, int k, int n, ReadOnlySpan<float> x, int batch, Span<float> y)
    {
        var backend = Backend;
        // One call at a time per process: the accelerator's default stream is shared.
        lock (s_gate)
        {
            using var matrix = backend.Upload(format, weights, k, n);
            if (batch == 1)
            {
                matrix.MatVec(x[..k], y[..n]);
            }
            else
            {
                matrix.MatMul(x[..(batch * k)], batch, y[..(batch * n)]);
            }
        }
    }
}
