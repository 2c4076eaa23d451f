using System.Buffers.Binary;
using System.Text;
using KernelGen.Formats;
using KernelGen.IO;

namespace KernelGen.Containers.Gguf;

/// <summary>
/// Writes GGUF files the way llama.cpp's tools do, streaming: the header and every tensor offset are computed from
/// the declared tensors first, then the tensors are written one at a time, each from its own
/// <see cref="TensorDataSource"/>, so a model never has to be held in memory. Layout (FORMATS.md §1.6): metadata in
/// insertion order, tensor infos in data order, zero padding to the alignment after the header and after every tensor
/// (the last one included), offsets packed exactly as ggml requires.
/// </summary>
public sealed class GgufWriter
{
    private static readonly UTF8Encoding Utf8 = new(false, true);
    private readonly List<PendingTensor> _tensors = new();
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);

    /// <param name="metadata">Metadata to write, in order (kept by reference: changes before <see cref="Write"/> count).</param>
    /// <param name="version">GGUF version to write: 3, or 2 to reproduce a version-2 file.</param>
    public GgufWriter(GgufMetadata metadata, int version = 3)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        if (version is not (2 or 3)) throw new ArgumentOutOfRangeException(nameof(version), "GGUF versions 2 and 3 can be written");
        Metadata = metadata;
        Version = version;
    }

    /// <summary>The metadata that will be written.</summary>
    public GgufMetadata Metadata { get; }

    /// <summary>The version written.</summary>
    public int Version { get; }

    /// <summary>
    /// Allow metadata arrays of arrays. gguf-py writes them but ggml's reader (so llama.cpp) rejects the file, so
    /// they are refused unless a faithful copy of such a file is wanted.
    /// </summary>
    public bool AllowNestedArrays { get; init; }

    /// <summary>
    /// Pad the header to the alignment even when the file has no tensors. ggml's writer does; gguf-py's does not
    /// (llama.cpp's vocab-only files end right after the metadata). Copies keep whichever the source did.
    /// </summary>
    public bool PadHeaderWithoutTensors { get; init; } = true;

    /// <summary>Number of tensors added.</summary>
    public int TensorCount => _tensors.Count;

    /// <summary>Declares a tensor; its data is pulled from <paramref name="data"/> when <see cref="Write"/> reaches it.</summary>
    /// <param name="name">Unique tensor name.</param>
    /// <param name="ne">Dimensions in ggml order (ne[0] = row length), at most 4.</param>
    /// <param name="typeId">ggml type id. For an unknown id the data length is taken as is (copies of newer files).</param>
    /// <param name="data">Exactly the tensor's bytes.</param>
    public void AddTensor(string name, IReadOnlyList<long> ne, uint typeId, TensorDataSource data)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(ne);
        ArgumentNullException.ThrowIfNull(data);
        if (ne.Count > GgufFile.MaxDimensions) throw new ArgumentException($"tensor '{name}' has {ne.Count} dimensions; GGUF allows {GgufFile.MaxDimensions}");
        if (_names.Contains(name)) throw new ArgumentException($"duplicate tensor name '{name}'");
        if (GgmlTypeInfo.TryGet(typeId, out var info))
        {
            long rows = 1;
            foreach (long d in ne.Skip(1)) rows = checked(rows * d);
            long rowLength = ne.Count > 0 ? ne[0] : 1;
            if (rowLength % info.BlockElements != 0)
                throw new ArgumentException($"tensor '{name}' row length {rowLength} is not a multiple of {info.Name}'s block of {info.BlockElements}");
            long expected = checked(info.RowBytes(rowLength) * rows);
            if (expected != data.Length)
                throw new ArgumentException($"tensor '{name}' ({info.Name} {string.Join(" x ", ne)}) needs {expected} bytes but its source has {data.Length}");
        }
        _names.Add(name);
        _tensors.Add(new PendingTensor(name, ne.ToArray(), typeId, data));
    }

    /// <summary>A writer that reproduces <paramref name="source"/>: same version, metadata, tensors and data.</summary>
    public static GgufWriter CopyOf(GgufFile source)
    {
        var writer = new GgufWriter(source.Metadata.Clone(), source.Version)
        {
            AllowNestedArrays = source.HasNestedArrays,
            PadHeaderWithoutTensors = source.Tensors.Count > 0 || source.FileLength > source.HeaderEnd,
        };
        foreach (var t in source.Tensors)
        {
            var tensor = t;
            long length = t.ByteSize ?? InferUnknownSize(source, t);
            writer.AddTensor(t.Name, t.Ne, t.TypeId, TensorDataSource.FromStream(length, () => source.File.OpenRange(tensor.AbsoluteOffset, length)));
        }
        return writer;
    }

    // A tensor of an unknown type spans from its offset to the next tensor's (its padding included) or the end of the file.
    private static long InferUnknownSize(GgufFile file, GgufTensorInfo t)
    {
        var next = file.Tensors.SkipWhile(x => x != t).Skip(1).FirstOrDefault();
        return (next?.AbsoluteOffset ?? file.FileLength) - t.AbsoluteOffset;
    }

    private uint Alignment
    {
        get
        {
            if (!Metadata.TryGetValue(GgufMetadata.AlignmentKey, out var v)) return GgufFile.DefaultAlignment;
            if (v.Type != GgufValueType.UInt32) throw new InvalidOperationException("general.alignment must be UINT32");
            uint a = (uint)v.Raw;
            if (a == 0 || (a & (a - 1)) != 0) throw new InvalidOperationException($"general.alignment {a} is not a power of two");
            return a;
        }
    }

    /// <summary>The exact size of the file <see cref="Write"/> produces.</summary>
    public long ComputeFileSize()
    {
        long header = BuildHeader().Length;
        long size = header + PadLength(header);
        foreach (var t in _tensors) size += GgufFile.Pad(t.Data.Length, Alignment);
        return size;
    }

    /// <summary>Writes the file to <paramref name="output"/>, reporting each finished tensor to <paramref name="progress"/>.</summary>
    public void Write(Stream output, IProgress<TensorWritten>? progress = null, CancellationToken cancellation = default)
    {
        byte[] header = BuildHeader();
        long alignment = Alignment;
        output.Write(header);
        WriteZeros(output, PadLength(header.Length));
        for (int i = 0; i < _tensors.Count; i++)
        {
            cancellation.ThrowIfCancellationRequested();
            var t = _tensors[i];
            var counter = new CountingStream(output, t.Data.Length, $"tensor '{t.Name}'");
            t.Data.WriteTo(counter, cancellation);
            if (counter.Written != t.Data.Length)
                throw new InvalidOperationException($"tensor '{t.Name}': the source wrote {counter.Written} of its declared {t.Data.Length} bytes");
            WriteZeros(output, GgufFile.Pad(t.Data.Length, alignment) - t.Data.Length);
            progress?.Report(new TensorWritten(i, _tensors.Count, t.Name, t.Data.Length));
        }
        output.Flush();
    }

    /// <summary>Writes the file atomically (temporary file, then rename); nothing is left behind on failure.</summary>
    public void WriteFile(string path, bool overwrite, IProgress<TensorWritten>? progress = null, CancellationToken cancellation = default) =>
        AtomicFile.Write(path, overwrite, stream => Write(stream, progress, cancellation));

    private long PadLength(long position) =>
        _tensors.Count == 0 && !PadHeaderWithoutTensors ? 0 : GgufFile.Pad(position, Alignment) - position;

    private static void WriteZeros(Stream s, long count)
    {
        Span<byte> zeros = stackalloc byte[256];
        zeros.Clear();
        while (count > 0)
        {
            int n = (int)Math.Min(count, zeros.Length);
            s.Write(zeros[..n]);
            count -= n;
        }
    }

    private byte[] BuildHeader()
    {
        long alignment = Alignment;
        var w = new HeaderBuffer();
        w.U32(GgufFile.Magic);
        w.U32((uint)Version);
        w.U64((ulong)_tensors.Count);
        w.U64((ulong)Metadata.Count);
        foreach (var (key, value) in Metadata)
        {
            w.String(key);
            w.U32((uint)value.Type);
            WriteValue(w, value, key);
        }
        ulong offset = 0;
        foreach (var t in _tensors)
        {
            w.String(t.Name);
            w.U32((uint)t.Ne.Length);
            foreach (long d in t.Ne) w.U64((ulong)d);
            w.U32(t.TypeId);
            w.U64(offset);
            offset += (ulong)GgufFile.Pad(t.Data.Length, alignment);
        }
        return w.ToArray();
    }

    private void WriteValue(HeaderBuffer w, GgufValue value, string key)
    {
        switch (value.Raw)
        {
            case GgufArray a: WriteArray(w, a, key); break;
            case string s: w.String(s); break;
            case byte b: w.Bytes([b]); break;
            case sbyte v: w.Bytes([(byte)v]); break;
            case ushort v: w.U16(v); break;
            case short v: w.U16((ushort)v); break;
            case uint v: w.U32(v); break;
            case int v: w.U32((uint)v); break;
            case float v: w.U32(BitConverter.SingleToUInt32Bits(v)); break;
            case ulong v: w.U64(v); break;
            case long v: w.U64((ulong)v); break;
            case double v: w.U64(BitConverter.DoubleToUInt64Bits(v)); break;
            default: throw new InvalidOperationException($"metadata '{key}' holds an unsupported value {value.Raw.GetType().Name}");
        }
    }

    private void WriteArray(HeaderBuffer w, GgufArray a, string key)
    {
        w.U32((uint)a.ElementType);
        w.U64((ulong)a.Count);
        switch (a.ElementType)
        {
            case GgufValueType.String:
                foreach (string s in (string[])a.Items) w.String(s);
                break;
            case GgufValueType.Array:
                if (!AllowNestedArrays)
                    throw new InvalidOperationException($"metadata '{key}' is an array of arrays, which llama.cpp cannot load (set AllowNestedArrays to write it anyway)");
                foreach (var inner in (GgufArray[])a.Items) WriteArray(w, inner, key);
                break;
            default:
                w.Bytes(GgufArray.RawBytes(a.Items));
                break;
        }
    }

    private sealed record PendingTensor(string Name, long[] Ne, uint TypeId, TensorDataSource Data);

    private sealed class HeaderBuffer
    {
        private readonly MemoryStream _s = new();
        public void U16(ushort v) { Span<byte> b = stackalloc byte[2]; BinaryPrimitives.WriteUInt16LittleEndian(b, v); _s.Write(b); }
        public void U32(uint v) { Span<byte> b = stackalloc byte[4]; BinaryPrimitives.WriteUInt32LittleEndian(b, v); _s.Write(b); }
        public void U64(ulong v) { Span<byte> b = stackalloc byte[8]; BinaryPrimitives.WriteUInt64LittleEndian(b, v); _s.Write(b); }
        public void Bytes(ReadOnlySpan<byte> b) => _s.Write(b);
        public void String(string s)
        {
            byte[] bytes = Utf8.GetBytes(s);
            U64((ulong)bytes.Length);
            _s.Write(bytes);
        }
        public byte[] ToArray() => _s.ToArray();
    }
}

/// <summary>Progress of a streaming write: tensor <see cref="Index"/> of <see cref="Count"/> is on disk.</summary>
public readonly record struct TensorWritten(int Index, int Count, string Name, long Bytes);
