namespace KernelGen.Conversion.Tensors;

/// <summary>
/// The Q/K row permutation between Hugging Face llama checkpoints ("rotate half" order) and ggml's rope, which wants
/// interleaved pairs (FORMATS.md §7.3): with H heads of hd rows and half = hd / 2,
/// GGUF row <c>h·hd + 2i + p</c> = HF row <c>h·hd + p·half + i</c>. Applied lazily, row by row, in either direction.
/// </summary>
public sealed class PermutedRowsTensor : FloatTensor
{
    private readonly FloatTensor _inner;
    private readonly int _heads;
    private readonly bool _toGguf;

    /// <param name="inner">The tensor in its source order.</param>
    /// <param name="heads">n_head for q_proj, n_head_kv for k_proj.</param>
    /// <param name="toGguf">True: HF order in, GGUF order out; false: the inverse.</param>
    public PermutedRowsTensor(FloatTensor inner, int heads, bool toGguf)
        : base(inner.Name, inner.Shape, inner.StorageType)
    {
        if (heads <= 0 || inner.RowCount % (2 * heads) != 0)
            throw new NotSupportedException($"tensor '{inner.Name}' has {inner.RowCount} rows, which do not split into {heads} heads of an even size");
        _inner = inner;
        _heads = heads;
        _toGguf = toGguf;
    }

    /// <summary>The tensor in its source order.</summary>
    public FloatTensor Inner => _inner;

    /// <summary>The source row that output row <paramref name="row"/> comes from.</summary>
    public long SourceRow(long row)
    {
        long hd = RowCount / _heads, half = hd / 2, h = row / hd, r = row % hd;
        return _toGguf
            ? h * hd + (r % 2) * half + r / 2        // GGUF row h·hd + 2i + p ← HF row h·hd + p·half + i
            : h * hd + 2 * (r % half) + r / half;    // HF row h·hd + p·half + i ← GGUF row h·hd + 2i + p
    }

    protected override void ReadRowsCore(long firstRow, int rowCount, Span<float> destination)
    {
        for (int i = 0; i < rowCount; i++)
            _inner.ReadRows(SourceRow(firstRow + i), 1, destination.Slice((int)(i * RowLength), (int)RowLength));
    }
}
