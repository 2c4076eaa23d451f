using KernelGen.Containers.Gguf;
using KernelGen.Kernels;
using KernelGen.Kernels.Generated;

namespace KernelGen.Conversion.Tensors;

/// <summary>A GGUF tensor of any type KernelGen decodes; rows are ggml rows (ne[0] elements), decoded with the generated codec.</summary>
public sealed class GgufFloatTensor : FloatTensor
{
    private readonly GgufFile _file;
    private readonly GgufTensorInfo _info;
    private readonly KernelGenFormatInfo _format;
    private readonly long _rowBytes;

    public GgufFloatTensor(GgufFile file, GgufTensorInfo info)
        : base(info.Name, info.Shape, info.TypeName)
    {
        _file = file;
        _info = info;
        if (!Dequantizer.IsSupported(info.TypeId))
            throw new NotSupportedException($"tensor '{info.Name}' has type {info.TypeName}, which KernelGen cannot decode");
        _format = Dequantizer.GetFormat(info.TypeId);
        _rowBytes = RowLength / _format.BlockElements * _format.BlockBytes;
    }

    /// <summary>The GGUF tensor this reads.</summary>
    public GgufTensorInfo Info => _info;

    /// <summary>The stored bytes of one row (its quantized blocks).</summary>
    public ReadOnlySpan<byte> RawRow(long row) => _file.File.Span(_info.AbsoluteOffset + row * _rowBytes, (int)_rowBytes);

    protected override void ReadRowsCore(long firstRow, int rowCount, Span<float> destination)
    {
        // Decode in slices a span can describe; a row is at most a few MB even for huge vocabularies.
        int rowsPerSlice = (int)Math.Max(1, Math.Min(rowCount, (1L << 30) / Math.Max(1, _rowBytes)));
        for (int done = 0; done < rowCount; done += rowsPerSlice)
        {
            int n = Math.Min(rowsPerSlice, rowCount - done);
            var src = _file.File.Span(_info.AbsoluteOffset + (firstRow + done) * _rowBytes, (int)(n * _rowBytes));
            _format.DecodeRow(src, destination.Slice((int)(done * RowLength), (int)(n * RowLength)));
        }
    }
}
