namespace KernelGen.Conversion.Tensors;

/// <summary>
/// A tensor of any supported container seen as float32 rows, in numpy / nn.Linear layout: <see cref="Shape"/> is
/// outermost first and a row is the innermost dimension (for a GGUF weight: one ggml row; for a GPTQ/AWQ/BitNet layer:
/// one output feature, <c>[out_features, in_features]</c>). Reading decodes on the fly from the memory-mapped file,
/// so a tensor is never materialised whole unless the caller asks for all rows at once.
/// </summary>
public abstract class FloatTensor
{
    protected FloatTensor(string name, IReadOnlyList<long> shape, string storageType)
    {
        Name = name;
        Shape = shape;
        StorageType = storageType;
        long n = 1;
        foreach (long d in shape) n = checked(n * d);
        ElementCount = n;
        RowLength = shape.Count == 0 ? 1 : shape[^1];
        RowCount = RowLength == 0 ? 0 : n / RowLength;
    }

    /// <summary>The tensor's name in its container (for quantized layers: the layer's <c>.weight</c> name).</summary>
    public string Name { get; }

    /// <summary>Dimensions, outermost first.</summary>
    public IReadOnlyList<long> Shape { get; }

    /// <summary>How the tensor is stored: a ggml type name, a safetensors dtype, or a checkpoint description such as <c>GPTQ 4-bit g128</c>.</summary>
    public string StorageType { get; }

    /// <summary>Number of elements.</summary>
    public long ElementCount { get; }

    /// <summary>Elements per row (the innermost dimension).</summary>
    public long RowLength { get; }

    /// <summary>Number of rows.</summary>
    public long RowCount { get; }

    /// <summary>Decodes rows <c>[firstRow, firstRow + rowCount)</c> into <paramref name="destination"/> (row-major).</summary>
    public void ReadRows(long firstRow, int rowCount, Span<float> destination)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(firstRow);
        ArgumentOutOfRangeException.ThrowIfNegative(rowCount);
        if (firstRow + rowCount > RowCount) throw new ArgumentOutOfRangeException(nameof(rowCount), $"rows [{firstRow}, {firstRow + rowCount}) are outside the {RowCount} rows of '{Name}'");
        if (destination.Length < rowCount * RowLength) throw new ArgumentException($"destination holds {destination.Length} floats, {rowCount * RowLength} needed", nameof(destination));
        ReadRowsCore(firstRow, rowCount, destination[..(int)(rowCount * RowLength)]);
    }

    /// <summary>Reads rows already checked to be in range into an exactly sized destination.</summary>
    protected abstract void ReadRowsCore(long firstRow, int rowCount, Span<float> destination);

    /// <summary>How many rows fit in about <paramref name="floats"/> floats (at least one).</summary>
    public int RowsPerChunk(long floats = 1 << 20) => (int)Math.Clamp(floats / Math.Max(1, RowLength), 1, Math.Max(1, RowCount));
}
