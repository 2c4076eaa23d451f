using KernelGen.Kernels.Generated;
using KernelGen.Kernels.Threading;

namespace KernelGen.Kernels.MatMul;

/// <summary>
/// A weight matrix W of <see cref="N"/> output rows by <see cref="K"/> inputs, held in a quantized layout, with the
/// generated kernels that multiply it by f32 activations without ever materialising W in floats:
/// <see cref="MatVec"/> (y = W·x, token generation) and <see cref="MatMul"/> (Y = X·Wᵀ for a batch of activation rows,
/// prompt processing). GGUF row-block data is used in place (no copy).
/// </summary>
public sealed partial class QuantizedMatrix
{
    private readonly ReadOnlyMemory<byte> _rows;

    /// <summary>
    /// For repacked layouts whose rows store the inputs in another order (GPTQ act-order groups made contiguous):
    /// stored column j holds input <c>InputOrder[j]</c>, so kernels read x[InputOrder[j]]. Null means identity.
    /// </summary>
    private readonly int[]? _inputOrder;

    private QuantizedMatrix(KernelGenFormatInfo format, ReadOnlyMemory<byte> rows, int k, int n, long rowBytes, int[]? inputOrder = null, string? sourceFormat = null,
        MatrixLayout layout = MatrixLayout.Rows)
    {
        Layout = layout;
        Format = format;
        _rows = rows;
        K = k;
        N = n;
        RowBytes = rowBytes;
        _inputOrder = inputOrder;
        SourceFormat = sourceFormat ?? format.Name;
    }

    /// <summary>
    /// The format the weights came in: the same as <see cref="Format"/> for GGUF rows; for GPTQ/AWQ/BitNet layers, the
    /// checkpoint format that was repacked (once, at load) into the kernel row layout <see cref="Format"/>.
    /// </summary>
    public string SourceFormat { get; }

    /// <summary>The input permutation of a repacked layout (stored column j = input InputOrder[j]), or null.</summary>
    public ReadOnlySpan<int> InputOrder => _inputOrder;

    /// <summary>The weight format.</summary>
    public KernelGenFormatInfo Format { get; }

    /// <summary>Inputs per output (the row length; ggml's ne0).</summary>
    public int K { get; }

    /// <summary>Outputs (rows).</summary>
    public int N { get; }

    /// <summary>Bytes of one encoded row in the format's own row layout (also for an interleaved matrix).</summary>
    public long RowBytes { get; }

    /// <summary>
    /// Bytes of the whole matrix in the format's row layout: what one matvec streams (an interleaved matrix stores
    /// <see cref="StoredBytes"/>, at most a few percent more).
    /// </summary>
    public long WeightBytes => RowBytes * N;

    /// <summary>Bytes of <see cref="Rows"/>.</summary>
    public long StoredBytes => _rows.Length;

    /// <summary>
    /// The stored weights: GGUF row blocks (<see cref="RowBytes"/> per row) for <see cref="MatrixLayout.Rows"/>, groups of
    /// 8 interleaved rows for <see cref="MatrixLayout.Interleaved8"/> (see <see cref="Interleaved"/>).
    /// </summary>
    public ReadOnlyMemory<byte> Rows => _rows;

    /// <summary>How <see cref="Rows"/> is laid out.</summary>
    public MatrixLayout Layout { get; }

    /// <summary>
    /// Wraps <paramref name="n"/> rows of <paramref name="k"/> elements of GGUF row-block data (ggml's layout for a
    /// 2-D tensor with ne0 = k, ne1 = n). The memory is referenced, not copied.
    /// </summary>
    public static QuantizedMatrix FromRows(string format, ReadOnlyMemory<byte> rows, int k, int n) =>
        FromRows(Dequantizer.GetFormat(format), rows, k, n);

    /// <inheritdoc cref="FromRows(string, ReadOnlyMemory{byte}, int, int)"/>
    public static QuantizedMatrix FromRows(KernelGenFormatInfo format, ReadOnlyMemory<byte> rows, int k, int n)
    {
        ArgumentNullException.ThrowIfNull(format);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(k);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(n);
        if (k % format.BlockElements != 0)
        {
            throw new ArgumentException($"{format.Name} rows are whole {format.BlockElements}-element blocks; k = {k} is not a multiple.", nameof(k));
        }
        long rowBytes = (long)(k / format.BlockElements) * format.BlockBytes;
        if (rows.Length != rowBytes * n)
        {
            throw new ArgumentException($"{n} rows of {k} {format.Name} elements take {rowBytes * n} bytes, not {rows.Length}.", nameof(rows));
        }
        return new QuantizedMatrix(format, rows, k, n, rowBytes);
    }

    /// <summary>A copy of this matrix with storage of its own (the rows copied; format, shape and input order kept).</summary>
    public QuantizedMatrix Clone() => new(Format, _rows.ToArray(), K, N, RowBytes, _inputOrder, SourceFormat, Layout);

    /// <summary>y[r] = Σ_k W[r, k] · x[k] for every row r; <paramref name="x"/> has <see cref="K"/> elements, <paramref name="y"/> <see cref="N"/>.</summary>
    public void MatVec(ReadOnlySpan<float> x, Span<float> y, KernelThreadPool? pool = null) => MatMul(x, 1, y, pool);

    /// <summary>
    /// Y[b, r] = Σ_k W[r, k] · X[b, k] for a batch of <paramref name="batch"/> activation rows: <paramref name="x"/> is
    /// batch × <see cref="K"/> and <paramref name="y"/> batch × <see cref="N"/>, both row-major.
    /// </summary>
    public void MatMul(ReadOnlySpan<float> x, int batch, Span<float> y, KernelThreadPool? pool = null)
    {
        if (Layout == MatrixLayout.Interleaved8)
        {
            QuantizedKernels.MatMulInterleaved8(Format, _rows.Span, K, N, x, batch, y, pool, _inputOrder);
            return;
        }
        QuantizedKernels.MatMul(QuantizedKernels.KernelOf(Format), Format.DotActivationKind, Format.BlockElements, Format.BlockBytes, Format.Name,
            _rows.Span, K, N, x, batch, y, pool, _inputOrder);
    }
}
