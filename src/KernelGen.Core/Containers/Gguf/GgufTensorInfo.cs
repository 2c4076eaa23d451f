using KernelGen.Formats;

namespace KernelGen.Containers.Gguf;

/// <summary>
/// One GGUF tensor-info record. <see cref="Ne"/> is ggml's dimension order (ne[0] = row length, innermost) and keeps
/// the stored <c>n_dims</c>, so a file written back is byte-identical; <see cref="Shape"/> is the numpy order.
/// </summary>
public sealed class GgufTensorInfo
{
    internal GgufTensorInfo(string name, long[] ne, uint typeId, ulong relativeOffset, long absoluteOffset, long? byteSize)
    {
        Name = name;
        Ne = ne;
        TypeId = typeId;
        RelativeOffset = relativeOffset;
        AbsoluteOffset = absoluteOffset;
        ByteSize = byteSize;
    }

    /// <summary>Tensor name.</summary>
    public string Name { get; }

    /// <summary>Dimensions in ggml order (innermost first), as many as the file stored.</summary>
    public IReadOnlyList<long> Ne { get; }

    /// <summary>The stored ggml type id (may be unknown to this build).</summary>
    public uint TypeId { get; }

    /// <summary>The type's facts when the id is known.</summary>
    public GgmlTypeInfo? Type => GgmlTypeInfo.TryGet(TypeId, out var t) ? t : null;

    /// <summary>The type name as ggml/gguf-py spell it, or <c>type_N</c>.</summary>
    public string TypeName => GgmlTypeInfo.NameOf(TypeId);

    /// <summary>Offset relative to the start of the data section, as stored.</summary>
    public ulong RelativeOffset { get; }

    /// <summary>Absolute offset of the data in the file.</summary>
    public long AbsoluteOffset { get; }

    /// <summary>Data size in bytes; null when the type id is unknown.</summary>
    public long? ByteSize { get; }

    /// <summary>Number of elements (product of <see cref="Ne"/>).</summary>
    public long ElementCount
    {
        get
        {
            long n = 1;
            foreach (long d in Ne) n *= d;
            return n;
        }
    }

    /// <summary>Row length (ne[0]), 1 for a zero-dimensional tensor.</summary>
    public long RowLength => Ne.Count > 0 ? Ne[0] : 1;

    /// <summary>Number of rows (product of ne[1..]).</summary>
    public long RowCount => RowLength == 0 ? 0 : ElementCount / RowLength;

    /// <summary>Dimensions outermost first (numpy / PyTorch order): the reverse of <see cref="Ne"/>.</summary>
    public long[] Shape
    {
        get
        {
            var s = new long[Ne.Count];
            for (int i = 0; i < s.Length; i++) s[i] = Ne[Ne.Count - 1 - i];
            return s;
        }
    }

    /// <summary>Number of dimensions that matter (ggml_n_dims: index of the last dim that is not 1, plus 1; at least 1).</summary>
    public int EffectiveDimensions
    {
        get
        {
            for (int i = Ne.Count - 1; i >= 1; i--)
                if (Ne[i] != 1) return i + 1;
            return 1;
        }
    }
}
