using KernelGen.Errors;
using KernelGen.Formats;
using KernelGen.IO;

namespace KernelGen.Containers.Gguf;

/// <summary>
/// A GGUF file (versions 2 and 3), memory-mapped: opening it parses the header and tensor infos only, so a
/// multi-gigabyte model costs no more memory than its metadata. Every count, length and offset read from the file is
/// validated (as ggml's <c>gguf_init_from_reader</c> does, see FORMATS.md §1.7) before it is used; anything wrong is a
/// <see cref="ModelFormatException"/> naming the byte offset.
/// </summary>
public sealed class GgufFile : IModelContainer
{
    /// <summary>"GGUF" read as a little-endian u32.</summary>
    public const uint Magic = 0x46554747;
    public const uint DefaultAlignment = 32;
    /// <summary>ggml's GGUF_MAX_STRING_LENGTH and GGUF_MAX_ARRAY_ELEMENTS (1 Gi).</summary>
    public const ulong MaxStringLength = 1UL << 30, MaxArrayElements = 1UL << 30;
    /// <summary>GGML_MAX_DIMS.</summary>
    public const int MaxDimensions = 4;
    private const int MaxArrayNesting = 8;

    private readonly MappedFile _file;
    private TensorEntry[]? _entries;
    private Dictionary<string, GgufTensorInfo>? _byName;

    private GgufFile(MappedFile file, int version, GgufMetadata metadata, List<GgufTensorInfo> tensors,
        uint alignment, long dataOffset, long headerEnd, bool hasNestedArrays)
    {
        _file = file;
        Version = version;
        Metadata = metadata;
        Tensors = tensors;
        Alignment = alignment;
        DataOffset = dataOffset;
        HeaderEnd = headerEnd;
        HasNestedArrays = hasNestedArrays;
    }

    public ContainerKind Kind => ContainerKind.Gguf;
    public string Path => _file.Path;
    public long FileLength => _file.Length;

    /// <summary>GGUF version (2 or 3).</summary>
    public int Version { get; }
    int? IModelContainer.Version => Version;

    /// <summary>Metadata in file order.</summary>
    public GgufMetadata Metadata { get; }

    /// <summary>Tensor infos in file order.</summary>
    public IReadOnlyList<GgufTensorInfo> Tensors { get; }

    /// <summary>Data alignment (<c>general.alignment</c> or 32).</summary>
    public uint Alignment { get; }

    /// <summary>Absolute offset of the data section.</summary>
    public long DataOffset { get; }

    /// <summary>Offset just past the last tensor-info record (before the alignment padding).</summary>
    public long HeaderEnd { get; }

    /// <summary>True when some metadata array has array elements: gguf-py reads these, ggml's reader (and so llama.cpp) rejects them.</summary>
    public bool HasNestedArrays { get; }

    /// <summary>The memory-mapped file.</summary>
    public MappedFile File => _file;

    IReadOnlyList<TensorEntry> IModelContainer.Tensors => _entries ??= Tensors
        .Select(t => new TensorEntry(t.Name, t.TypeName, t.Shape, t.AbsoluteOffset, t.ByteSize, Path)).ToArray();

    /// <summary>The tensor named <paramref name="name"/>, or null.</summary>
    public GgufTensorInfo? Find(string name)
    {
        _byName ??= Tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
        return _byName.GetValueOrDefault(name);
    }

    /// <summary>A tensor's bytes (tensors under 2 GiB; use <see cref="OpenData"/> for any size).</summary>
    public ReadOnlySpan<byte> GetData(GgufTensorInfo tensor)
    {
        long size = tensor.ByteSize ?? throw new InvalidOperationException($"tensor '{tensor.Name}' has unknown type {tensor.TypeId}; its size is unknown");
        if (size > int.MaxValue) throw new InvalidOperationException($"tensor '{tensor.Name}' is {size} bytes; use OpenData to stream it");
        return _file.Span(tensor.AbsoluteOffset, (int)size);
    }

    /// <summary>A stream over a tensor's bytes, of any size.</summary>
    public Stream OpenData(GgufTensorInfo tensor) =>
        _file.OpenRange(tensor.AbsoluteOffset, tensor.ByteSize ?? throw new InvalidOperationException($"tensor '{tensor.Name}' has unknown type {tensor.TypeId}"));

    /// <summary>True when the first four bytes of the file are "GGUF".</summary>
    public static bool HasMagic(ReadOnlySpan<byte> head) => head.Length >= 4 && head[0] == 'G' && head[1] == 'G' && head[2] == 'U' && head[3] == 'F';

    /// <summary>Opens and validates a GGUF file.</summary>
    public static GgufFile Open(string path)
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

    private static GgufFile Parse(MappedFile file)
    {
        // The header is read through a span; a header over 2 GiB is not something any tool writes.
        var r = new BoundedReader(file.Span(0, (int)Math.Min(file.Length, int.MaxValue)), file.Path);
        if (file.Length < 4 || !HasMagic(file.Span(0, 4)))
            throw new ModelFormatException(file.Path, 0, file.Length < 4 ? "file is too short to be GGUF (no magic)" : "not a GGUF file (magic is not \"GGUF\")");
        r.Seek(4);

        uint version = r.U32("the version");
        if (version == 0) throw r.Error("GGUF version 0 is invalid", 4);
        if ((version & 0xFFFF) == 0) throw r.Error($"GGUF version {version:#x} looks byte-swapped: big-endian GGUF files are not supported", 4);
        if (version == 1) throw r.Error("GGUF version 1 is no longer supported (only versions 2 and 3 are)", 4);
        if (version > 3) throw r.Error($"unsupported GGUF version {version} (only versions 2 and 3 are supported)", 4);

        long tensorCountAt = r.Position;
        ulong tensorCount = r.U64("the tensor count");
        long kvCountAt = r.Position;
        ulong kvCount = r.U64("the metadata count");
        if (tensorCount > long.MaxValue) throw r.Error($"tensor count {tensorCount} is negative as an int64", tensorCountAt);
        if (kvCount > long.MaxValue) throw r.Error($"metadata count {kvCount} is negative as an int64", kvCountAt);
        // Each record takes a minimum number of bytes; a count that cannot fit is rejected before anything is allocated.
        if (kvCount > (ulong)r.Remaining / 13)
            throw r.Error($"metadata count {kvCount} cannot fit in the {r.Remaining} bytes left in the file", kvCountAt);

        var metadata = new GgufMetadata();
        bool nested = false;
        for (ulong i = 0; i < kvCount; i++)
        {
            long keyAt = r.Position;
            string key = r.LengthPrefixedString($"metadata key #{i}", MaxStringLength);
            if (key.Length == 0) throw r.Error($"metadata key #{i} is empty", keyAt);
            long typeAt = r.Position;
            uint type = r.U32($"the type of '{key}'");
            if (type >= GgufValueTypes.Count) throw r.Error($"metadata '{key}' has invalid value type {type}", typeAt);
            var value = ReadValue(ref r, (GgufValueType)type, key, 0, ref nested);
            if (!metadata.TryAdd(key, value)) throw r.Error($"duplicate metadata key '{key}'", keyAt);
        }

        uint alignment = DefaultAlignment;
        if (metadata.TryGetValue(GgufMetadata.AlignmentKey, out var alignValue))
        {
            if (alignValue.Type != GgufValueType.UInt32)
                throw new ModelFormatException(file.Path, null, $"general.alignment must be UINT32, not {GgufValueTypes.Name(alignValue.Type)}");
            alignment = (uint)alignValue.Raw;
            if (alignment == 0 || (alignment & (alignment - 1)) != 0)
                throw new ModelFormatException(file.Path, null, $"general.alignment {alignment} is not a non-zero power of two");
        }

        // A tensor-info record takes at least 8 (name length) + 4 (n_dims) + 4 (type) + 8 (offset) bytes.
        if (tensorCount > (ulong)r.Remaining / 24)
            throw r.Error($"tensor count {tensorCount} cannot fit in the {r.Remaining} bytes left in the file", tensorCountAt);

        var raw = new List<(string Name, long[] Ne, uint Type, ulong Offset, long RecordAt, long OffsetAt)>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (ulong i = 0; i < tensorCount; i++)
        {
            long recordAt = r.Position;
            string name = r.LengthPrefixedString($"the name of tensor #{i}", MaxStringLength);
            if (!names.Add(name)) throw r.Error($"duplicate tensor name '{name}'", recordAt);
            long dimsAt = r.Position;
            uint nDims = r.U32($"the dimension count of '{name}'");
            if (nDims > MaxDimensions) throw r.Error($"tensor '{name}' has {nDims} dimensions (at most {MaxDimensions} are allowed)", dimsAt);
            var ne = new long[nDims];
            Int128 elements = 1;
            for (int d = 0; d < nDims; d++)
            {
                long dimAt = r.Position;
                ulong n = r.U64($"dimension {d} of '{name}'");
                if (n > long.MaxValue) throw r.Error($"tensor '{name}' dimension {d} is negative ({(long)n})", dimAt);
                ne[d] = (long)n;
                elements *= (long)n;
                if (elements >= long.MaxValue) throw r.Error($"tensor '{name}' element count overflows int64 (dimensions {string.Join(" x ", ne.Take(d + 1))}...)", dimAt);
            }
            long typeAt = r.Position;
            uint typeId = r.U32($"the type of '{name}'");
            if (GgmlTypeInfo.TryGet(typeId, out var info) && ne.Length > 0 && ne[0] % info.BlockElements != 0)
                throw r.Error($"tensor '{name}' row length {ne[0]} is not a multiple of {info.Name}'s block of {info.BlockElements}", typeAt);
            long offsetAt = r.Position;
            ulong offset = r.U64($"the data offset of '{name}'");
            raw.Add((name, ne, typeId, offset, recordAt, offsetAt));
        }

        long headerEnd = r.Position;
        long dataOffset = headerEnd;
        if (tensorCount > 0)
        {
            dataOffset = Pad(headerEnd, alignment);
            if (dataOffset > file.Length) throw r.Error($"file ends inside the padding before the data section (data would start at {dataOffset}, file is {file.Length} bytes)", headerEnd);
        }

        var tensors = new List<GgufTensorInfo>(raw.Count);
        ulong expected = 0;
        bool expectedKnown = true;
        foreach (var t in raw)
        {
            if (t.Offset % alignment != 0)
                throw r.Error($"tensor '{t.Name}' data offset {t.Offset} is not a multiple of the alignment {alignment}", t.OffsetAt);
            if (expectedKnown ? t.Offset != expected : t.Offset < expected)
                throw r.Error(t.Offset < expected
                    ? $"tensor '{t.Name}' data at offset {t.Offset} overlaps the previous tensor (which ends at {expected})"
                    : $"tensor '{t.Name}' has offset {t.Offset}, expected {expected} (tensor data must be packed in order)", t.OffsetAt);
            long? size = null;
            if (GgmlTypeInfo.TryGet(t.Type, out var info))
            {
                Int128 rows = 1;
                for (int d = 1; d < t.Ne.Length; d++) rows *= t.Ne[d];
                Int128 bytes = (t.Ne.Length > 0 ? t.Ne[0] : 1) / info.BlockElements * (Int128)info.BlockBytes * rows;
                if (bytes > long.MaxValue) throw r.Error($"tensor '{t.Name}' size overflows int64", t.RecordAt);
                size = (long)bytes;
            }
            if ((Int128)dataOffset + t.Offset + (size ?? 0) > file.Length)
                throw r.Error($"tensor '{t.Name}' data [{(Int128)dataOffset + t.Offset}, {(Int128)dataOffset + t.Offset + (size ?? 0)}) runs past the end of the {file.Length}-byte file", t.OffsetAt);
            tensors.Add(new GgufTensorInfo(t.Name, t.Ne, t.Type, t.Offset, dataOffset + (long)t.Offset, size));
            expectedKnown = size.HasValue;
            expected = t.Offset + (ulong)Pad(size ?? 0, alignment);
        }

        return new GgufFile(file, (int)version, metadata, tensors, alignment, dataOffset, headerEnd, nested);
    }

    internal static long Pad(long x, long alignment) => (x + alignment - 1) / alignment * alignment;

    private static GgufValue ReadValue(ref BoundedReader r, GgufValueType type, string key, int depth, ref bool nested)
    {
        switch (type)
        {
            case GgufValueType.UInt8: return GgufValue.UInt8(r.U8(key));
            case GgufValueType.Int8: return GgufValue.Int8((sbyte)r.U8(key));
            case GgufValueType.UInt16: return GgufValue.UInt16(r.U16(key));
            case GgufValueType.Int16: return GgufValue.Int16((short)r.U16(key));
            case GgufValueType.UInt32: return GgufValue.UInt32(r.U32(key));
            case GgufValueType.Int32: return GgufValue.Int32((int)r.U32(key));
            case GgufValueType.Float32: return GgufValue.Float32(r.F32(key));
            case GgufValueType.Bool: return GgufValue.BoolByte(r.U8(key));
            case GgufValueType.String: return GgufValue.String(r.LengthPrefixedString($"the value of '{key}'", MaxStringLength));
            case GgufValueType.UInt64: return GgufValue.UInt64(r.U64(key));
            case GgufValueType.Int64: return GgufValue.Int64((long)r.U64(key));
            case GgufValueType.Float64: return GgufValue.Float64(r.F64(key));
            case GgufValueType.Array: return GgufValue.Array(ReadArrayBody(ref r, key, depth, ref nested));
            default: throw r.Error($"metadata '{key}' has invalid value type {(uint)type}");
        }
    }

    private static GgufArray ReadArrayBody(ref BoundedReader r, string key, int depth, ref bool nested)
    {
        long at = r.Position;
        uint et = r.U32($"the element type of '{key}'");
        if (et >= GgufValueTypes.Count) throw r.Error($"array '{key}' has invalid element type {et}", at);
        var elementType = (GgufValueType)et;
        long countAt = r.Position;
        ulong count = r.U64($"the element count of '{key}'");
        if (count > MaxArrayElements) throw r.Error($"array '{key}' has {count} elements (the limit is {MaxArrayElements})", countAt);
        if (count > (ulong)r.Remaining / (ulong)GgufValueTypes.MinEncodedSize(elementType))
            throw r.Error($"array '{key}' of {count} {GgufValueTypes.Name(elementType)} elements runs past the end of the file ({r.Remaining} bytes left)", countAt);
        int n = (int)count;
        switch (elementType)
        {
            case GgufValueType.String:
            {
                var items = new string[n];
                for (int i = 0; i < n; i++) items[i] = r.LengthPrefixedString($"element {i} of '{key}'", MaxStringLength);
                return new GgufArray(elementType, items);
            }
            case GgufValueType.Array:
            {
                nested = true;
                if (depth + 1 >= MaxArrayNesting) throw r.Error($"array '{key}' nests deeper than {MaxArrayNesting} levels", at);
                var items = new GgufArray[n];
                for (int i = 0; i < n; i++) items[i] = ReadArrayBody(ref r, key, depth + 1, ref nested);
                return new GgufArray(elementType, items);
            }
            default:
            {
                int size = GgufValueTypes.FixedSize(elementType);
                var bytes = r.Bytes(checked(n * size), $"array '{key}'");
                var items = System.Array.CreateInstance(GgufArray.ClrType(elementType), n);
                // Little-endian on disk and in memory (KernelGen runs on little-endian hosts only).
                bytes.CopyTo(GgufArray.RawBytes(items));
                return new GgufArray(elementType, items);
            }
        }
    }

    public void Dispose() => _file.Dispose();
}
