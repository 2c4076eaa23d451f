using KernelGen.Kernels.Generated;
using KernelGen.Kernels.Threading;

namespace KernelGen.Kernels.MatMul;

/// <summary>
/// Stateless entry points of the generated quantized matrix kernels, for callers that manage their own weight
/// memory (generated <c>[QuantizedMatVec]</c> methods, memory-mapped GGUF tensors). W is n rows of
/// k elements in GGUF row-block layout. No allocation per call after the first at a given size.
/// </summary>
public static class QuantizedKernels
{
    /// <summary>y = W·x.</summary>
    public static void MatVec(KernelGenFormatInfo format, ReadOnlySpan<byte> weights, int k, int n, ReadOnlySpan<float> x, Span<float> y, KernelThreadPool? pool = null) =>
        MatMul(format, weights, k, n, x, 1, y, pool);

    /// <summary>Y = X·Wᵀ: <paramref name="x"/> is batch × k, <paramref name="y"/> batch × n, both row-major.</summary>
    public static void MatMul(KernelGenFormatInfo format, ReadOnlySpan<byte> weights, int k, int n, ReadOnlySpan<float> x, int batch, Span<float> y, KernelThreadPool? pool = null)
    {
        ArgumentNullException.ThrowIfNull(format);
        long rowBytes = MatrixShape.RowBytes(format, k, n, weights.Length);
        MatrixShape.CheckActivations(k, n, x.Length, batch, y.Length);
        // Reference fallback until the generated kernels are wired: decode one row at a time.
        var row = new float[k];
        for (int r = 0; r < n; r++)
        {
            format.DecodeRow(weights.Slice((int)(r * rowBytes), (int)rowBytes), row);
            for (int b = 0; b < batch; b++)
            {
                y[b * n + r] = System.Numerics.Tensors.TensorPrimitives.Dot<float>(row, x.Slice(b * k, k));
            }
        }
    }
}
