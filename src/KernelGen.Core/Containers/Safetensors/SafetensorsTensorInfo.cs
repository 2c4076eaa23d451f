namespace KernelGen.Containers.Safetensors;

/// <summary>
/// One tensor entry of a safetensors header, already validated against the file: its byte range lies inside the
/// data buffer and matches its shape and dtype. <see cref="Begin"/>/<see cref="End"/> are as stored (relative to the
/// data buffer, which starts at <c>8 + N</c>); <see cref="AbsoluteOffset"/> is where the bytes are in the file.
/// </summary>
public sealed class SafetensorsTensorInfo
{
    private readonly long[] _shape;

    internal SafetensorsTensorInfo(string name, SafetensorsDType dtype, long[] shape, long begin, long end, long dataOffset, long elementCount)
    {
        Name = name;
        DType = dtype;
        _shape = shape;
        Begin = begin;
        End = end;
        AbsoluteOffset = dataOffset + begin;
        ElementCount = elementCount;
    }

    /// <summary>Tensor name (the header key).</summary>
    public string Name { get; }

    /// <summary>Element type.</summary>
    public SafetensorsDType DType { get; }

    /// <summary>The dtype as the header spells it.</summary>
    public string TypeName => DType.Name();

    /// <summary>Dimensions outermost first (C order); empty for a scalar. A copy, so callers cannot alter the entry.</summary>
    public long[] Shape => (long[])_shape.Clone();

    /// <summary>Number of dimensions.</summary>
    public int Rank => _shape.Length;

    /// <summary>Start of the data relative to the data buffer, as stored in <c>data_offsets</c>.</summary>
    public long Begin { get; }

    /// <summary>End (exclusive) of the data relative to the data buffer, as stored in <c>data_offsets</c>.</summary>
    public long End { get; }

    /// <summary>Absolute byte offset of the data in the file.</summary>
    public long AbsoluteOffset { get; }

    /// <summary>Size of the data in bytes (<c>End − Begin</c>).</summary>
    public long ByteSize => End - Begin;

    /// <summary>Number of elements (1 for a scalar, 0 when a dimension is 0).</summary>
    public long ElementCount { get; }

    /// <summary>The shape without copying, for code in this assembly that only reads it.</summary>
    internal ReadOnlySpan<long> ShapeSpan => _shape;

    /// <inheritdoc/>
    public override string ToString() => $"{Name} {TypeName} {SafetensorsDTypes.FormatShape(_shape)} [{Begin}, {End})";
}
