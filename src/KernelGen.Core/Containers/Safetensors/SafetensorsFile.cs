using System.Buffers.Binary;
using KernelGen.Errors;
using KernelGen.IO;

namespace KernelGen.Containers.Safetensors;

/// <summary>
/// A safetensors file, memory-mapped: opening it reads and validates the header only (FORMATS.md §8.2), so a
/// multi-gigabyte checkpoint costs no more than its JSON. Nothing sized by the file is allocated before the header
/// length has been checked against the limit and the file length. Any inconsistency is a
/// <see cref="ModelFormatException"/> naming the byte offset.
/// </summary>
public sealed class SafetensorsFile : IModelContainer
{
    /// <summary>The reference's <c>MAX_HEADER_SIZE</c>: headers longer than this are rejected, not parsed.</summary>
    public const long MaxHeaderLength = 100_000_000;

    /// <summary>Bytes of the little-endian u64 header length that starts every file.</summary>
    public const int LengthPrefixBytes = 8;

    private readonly MappedFile _file;
    private readonly SafetensorsTensorInfo[] _tensors;
    private readonly Dictionary<string, SafetensorsTensorInfo> _byName;
    private TensorEntry[]? _entries;

    private SafetensorsFile(MappedFile file, long headerLength, ParsedHeader header, SafetensorsTensorInfo[] tensors)
    {
        _file = file;
        HeaderLength = headerLength;
        Metadata = header.Metadata;
        HasMetadataObject = header.HasMetadataObject;
        _tensors = tensors;
        _byName = tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
    }

    /// <inheritdoc/>
    public ContainerKind Kind => ContainerKind.Safetensors;

    /// <inheritdoc/>
    public string Path => _file.Path;

    /// <summary>safetensors has no version field.</summary>
    int? IModelContainer.Version => null;

    /// <summary>The <c>__metadata__</c> entries in file order (empty when there are none).</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Metadata { get; }

    /// <summary>
    /// True when the header holds a <c>__metadata__</c> object, even an empty one; a writer needs this to reproduce
    /// <c>"__metadata__":{}</c> byte for byte (see <see cref="SafetensorsWriter.WriteEmptyMetadata"/>).
    /// </summary>
    public bool HasMetadataObject { get; }

    /// <summary>The tensors in header order (which is not necessarily offset order).</summary>
    public IReadOnlyList<SafetensorsTensorInfo> Tensors => _tensors;

    IReadOnlyList<TensorEntry> IModelContainer.Tensors => _entries ??= _tensors
        .Select(t => new TensorEntry(t.Name, t.TypeName, t.Shape, t.AbsoluteOffset, t.ByteSize, Path)).ToArray();

    /// <summary>N, the length of the JSON header including its padding.</summary>
    public long HeaderLength { get; }

    /// <summary>Absolute offset of the data buffer: <c>8 + N</c>.</summary>
    public long DataOffset => LengthPrefixBytes + HeaderLength;

    /// <summary>File length in bytes.</summary>
    public long FileLength => _file.Length;

    /// <summary>The memory-mapped file, for kernels that read tensors through pointers.</summary>
    public MappedFile File => _file;

    /// <summary>The value of metadata key <paramref name="key"/>, or null.</summary>
    public string? GetMetadata(string key)
    {
        foreach (var kv in Metadata)
            if (kv.Key == key) return kv.Value;
        return null;
    }

    /// <summary>The tensor named <paramref name="name"/>, or null.</summary>
    public SafetensorsTensorInfo? Find(string name) => _byName.GetValueOrDefault(name);

    /// <summary>A tensor's bytes (tensors under 2 GiB; use <see cref="OpenData"/> for any size).</summary>
    public ReadOnlySpan<byte> GetData(SafetensorsTensorInfo tensor)
    {
        RequireOwn(tensor);
        if (tensor.ByteSize > int.MaxValue)
            throw new InvalidOperationException($"tensor '{tensor.Name}' is {tensor.ByteSize} bytes; use OpenData to stream it");
        return _file.Span(tensor.AbsoluteOffset, (int)tensor.ByteSize);
    }

    /// <summary>A read-only stream over a tensor's bytes, of any size.</summary>
    public Stream OpenData(SafetensorsTensorInfo tensor)
    {
        RequireOwn(tensor);
        return _file.OpenRange(tensor.AbsoluteOffset, tensor.ByteSize);
    }

    /// <summary>
    /// A cheap sniff for format detection: the first bytes hold a header length within the limit followed by
    /// <c>{</c>. Says nothing about validity; <see cref="Open"/> decides that.
    /// </summary>
    public static bool HasSignature(ReadOnlySpan<byte> head) =>
        head.Length > LengthPrefixBytes
        && BinaryPrimitives.ReadUInt64LittleEndian(head) is > 1 and <= MaxHeaderLength
        && head[LengthPrefixBytes] == (byte)'{';

    /// <summary>Opens and validates a safetensors file.</summary>
    public static SafetensorsFile Open(string path)
    {
        var file = MappedFile.Open(path);
        try
        {
            return Parse(file);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    private static SafetensorsFile Parse(MappedFile file)
    {
        var prefix = new BoundedReader(file.Span(0, (int)Math.Min(file.Length, LengthPrefixBytes)), file.Path);
        ulong n = prefix.U64("the 8-byte header length");
        if (n > MaxHeaderLength)
            throw new ModelFormatException(file.Path, 0, $"header length {n} exceeds the limit of {MaxHeaderLength} bytes");
        if ((long)n > file.Length - LengthPrefixBytes)
            throw new ModelFormatException(file.Path, 0, $"header length {n} runs past the end of the {file.Length}-byte file");

        var header = SafetensorsHeaderParser.Parse(file.Span(LengthPrefixBytes, (int)n), LengthPrefixBytes, file.Path);
        var tensors = SafetensorsLayout.Validate(header, LengthPrefixBytes + (long)n, file.Length, file.Path);
        return new SafetensorsFile(file, (long)n, header, tensors);
    }

    private void RequireOwn(SafetensorsTensorInfo tensor)
    {
        if (!ReferenceEquals(Find(tensor.Name), tensor))
            throw new ArgumentException($"tensor '{tensor.Name}' does not belong to {Path}", nameof(tensor));
    }

    /// <summary>Unmaps the file; spans and streams obtained from it become invalid.</summary>
    public void Dispose() => _file.Dispose();
}
