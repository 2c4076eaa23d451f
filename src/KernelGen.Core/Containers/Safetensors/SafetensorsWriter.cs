using System.Buffers.Binary;
using System.Text;
using KernelGen.IO;

namespace KernelGen.Containers.Safetensors;

/// <summary>
/// Writes a safetensors file the way the reference library lays it out (FORMATS.md §8.1): <c>__metadata__</c>
/// first, tensors sorted by <see cref="Order"/>, offsets contiguous from 0, header padded with spaces to a multiple of
/// 8. It streams: the header is computed from the declared shapes first, then each tensor's
/// <see cref="TensorDataSource"/> is asked for its bytes one at a time and must deliver exactly the declared number,
/// so a model never has to be held in memory whole. Mistakes in what the caller adds are argument errors; a source
/// that delivers the wrong number of bytes is an <see cref="InvalidOperationException"/>.
/// </summary>
public sealed class SafetensorsWriter
{
    private readonly List<KeyValuePair<string, string>> _metadata = [];
    private readonly HashSet<string> _metadataKeys = new(StringComparer.Ordinal);
    private readonly List<Pending> _tensors = [];
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);

    /// <summary>How tensors are ordered in the output; <see cref="SafetensorsTensorOrder.SizeThenName"/> by default.</summary>
    public SafetensorsTensorOrder Order { get; set; } = SafetensorsTensorOrder.SizeThenName;

    /// <summary>Keep the order tensors were added in instead of sorting (shorthand for <see cref="Order"/> = Insertion).</summary>
    public bool PreserveOrder
    {
        get => Order == SafetensorsTensorOrder.Insertion;
        set => Order = value ? SafetensorsTensorOrder.Insertion : SafetensorsTensorOrder.SizeThenName;
    }

    /// <summary>
    /// Write <c>"__metadata__":{}</c> even when no metadata was added: the reference writes it when it was given an
    /// empty dictionary rather than none, so a faithful copy of such a file needs it.
    /// </summary>
    public bool WriteEmptyMetadata { get; set; }

    /// <summary>Metadata entries in the order they were added.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Metadata => _metadata;

    /// <summary>Number of tensors added.</summary>
    public int TensorCount => _tensors.Count;

    /// <summary>Adds a <c>__metadata__</c> entry; keys must be unique.</summary>
    public void AddMetadata(string key, string value)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(value);
        if (!_metadataKeys.Add(key)) throw new ArgumentException($"metadata key '{key}' was already added", nameof(key));
        _metadata.Add(new(key, value));
    }

    /// <summary>
    /// Adds a tensor. <paramref name="shape"/> is outermost first (empty for a scalar) and the source must produce
    /// exactly shape × dtype bytes; names must be unique and may not be <c>__metadata__</c>.
    /// </summary>
    public void AddTensor(string name, SafetensorsDType dtype, IReadOnlyList<long> shape, TensorDataSource data)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(shape);
        ArgumentNullException.ThrowIfNull(data);
        if (name == SafetensorsHeaderParser.MetadataKey)
            throw new ArgumentException($"'{name}' is reserved for the metadata object and cannot name a tensor", nameof(name));
        long[] dims = shape.ToArray();
        long bytes = SafetensorsDTypes.ByteSize(dtype, dims);
        if (data.Length != bytes)
            throw new ArgumentException($"tensor '{name}': shape {SafetensorsDTypes.FormatShape(dims)} of {dtype.Name()} is {bytes} bytes but the source has {data.Length}", nameof(data));
        if (!_names.Add(name)) throw new ArgumentException($"tensor '{name}' was already added", nameof(name));
        _tensors.Add(new Pending(name, Encoding.UTF8.GetBytes(name), dtype, dims, data));
    }

    /// <summary>
    /// A writer holding <paramref name="source"/>'s metadata and tensors (data streamed from the source file, which
    /// must stay open until the writer has written). With the default order it reproduces any file whose header
    /// follows <see cref="SafetensorsTensorOrder.SizeThenName"/> byte for byte.
    /// </summary>
    public static SafetensorsWriter FromFile(SafetensorsFile source)
    {
        var writer = new SafetensorsWriter { WriteEmptyMetadata = source.HasMetadataObject };
        foreach (var kv in source.Metadata) writer.AddMetadata(kv.Key, kv.Value);
        foreach (var t in source.Tensors)
            writer.AddTensor(t.Name, t.DType, t.Shape, TensorDataSource.FromStream(t.ByteSize, () => source.OpenData(t)));
        return writer;
    }

    /// <summary>The header bytes (N of them, padded) that <see cref="Write"/> will emit.</summary>
    public byte[] BuildHeader() => Layout().Header;

    /// <summary>Total size of the output in bytes.</summary>
    public long ComputeLength()
    {
        long data = 0;
        foreach (var t in _tensors) data += t.Data.Length;
        return SafetensorsFile.LengthPrefixBytes + Layout().Header.Length + data;
    }

    /// <summary>Writes the file to <paramref name="output"/>, one tensor at a time.</summary>
    public void Write(Stream output, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(output);
        var (header, ordered) = Layout();
        Span<byte> length = stackalloc byte[SafetensorsFile.LengthPrefixBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
        output.Write(length);
        output.Write(header);
        foreach (var t in ordered)
        {
            cancellation.ThrowIfCancellationRequested();
            var counting = new CountingStream(output, t.Data.Length, $"tensor '{t.Name}'");
            t.Data.WriteTo(counting, cancellation);
            if (counting.Written != t.Data.Length)
                throw new InvalidOperationException($"tensor '{t.Name}': the source wrote {counting.Written} of the declared {t.Data.Length} bytes");
        }
        output.Flush();
    }

    /// <summary>Writes the file to <paramref name="path"/> atomically: a complete file appears, or nothing changes.</summary>
    public void WriteFile(string path, bool overwrite, CancellationToken cancellation = default) =>
        AtomicFile.Write(path, overwrite, stream => Write(stream, cancellation));

    private (byte[] Header, List<Pending> Ordered) Layout()
    {
        var ordered = Sorted();
        var entries = new HeaderEntry[ordered.Count];
        long offset = 0;
        for (int i = 0; i < ordered.Count; i++)
        {
            var t = ordered[i];
            entries[i] = new HeaderEntry(t.NameUtf8, t.DType, t.Shape, offset, offset + t.Data.Length);
            offset += t.Data.Length;
        }
        byte[] header = SafetensorsHeaderWriter.Build(_metadata, WriteEmptyMetadata || _metadata.Count > 0, entries);
        if (header.Length > SafetensorsFile.MaxHeaderLength)
            throw new InvalidOperationException($"the header would be {header.Length} bytes, over the {SafetensorsFile.MaxHeaderLength}-byte limit readers accept");
        return (header, ordered);
    }

    private List<Pending> Sorted()
    {
        var list = new List<Pending>(_tensors);
        Comparison<Pending>? byKind = Order switch
        {
            SafetensorsTensorOrder.SizeThenName => (a, b) => b.DType.BitSize().CompareTo(a.DType.BitSize()),
            SafetensorsTensorOrder.DTypeThenName => (a, b) => ((int)b.DType).CompareTo((int)a.DType),
            SafetensorsTensorOrder.Insertion => null,
            _ => throw new InvalidOperationException($"unknown tensor order {Order}"),
        };
        if (byKind is not null)
            list.Sort((a, b) => byKind(a, b) is var c and not 0 ? c : a.NameUtf8.AsSpan().SequenceCompareTo(b.NameUtf8));
        return list;
    }

    private sealed record Pending(string Name, byte[] NameUtf8, SafetensorsDType DType, long[] Shape, TensorDataSource Data);
}
