using KernelGen.Errors;

namespace KernelGen.Containers.Safetensors;

/// <summary>
/// Checks a parsed header against the file as the reference's <c>Metadata::validate</c> and <c>read_metadata</c> do
/// (FORMATS.md §8.2 steps 4–5): sorted by <c>data_offsets</c>, the tensors must tile the data buffer from 0 with no
/// gap or overlap, each range must be exactly shape × dtype bytes, and the last one must end at the end of the file.
/// Only after this does any tensor get an absolute offset.
/// </summary>
internal static class SafetensorsLayout
{
    /// <summary>Validated tensor infos, in header order.</summary>
    public static SafetensorsTensorInfo[] Validate(ParsedHeader header, long dataOffset, long fileLength, string path)
    {
        var tensors = header.Tensors;
        var elements = new long[tensors.Count];
        for (int i = 0; i < tensors.Count; i++)
        {
            var t = tensors[i];
            string? problem = SafetensorsDTypes.TryComputeSize(t.DType, t.Shape, out elements[i], out long bytes);
            if (problem is not null)
                throw new ModelFormatException(path, t.At, $"tensor '{t.Name}': {problem}");
            if (t.End < t.Begin)
                throw new ModelFormatException(path, t.At, $"tensor '{t.Name}' data_offsets [{t.Begin}, {t.End}] end before they begin");
            if (t.End - t.Begin != bytes)
                throw new ModelFormatException(path, t.At,
                    $"tensor '{t.Name}' data_offsets [{t.Begin}, {t.End}] hold {t.End - t.Begin} bytes but shape {SafetensorsDTypes.FormatShape(t.Shape)} of {t.DType.Name()} needs {bytes}");
        }

        long end = CheckContiguous(tensors, dataOffset, path);
        long available = fileLength - dataOffset;
        if (end < available)
            throw new ModelFormatException(path, dataOffset + end,
                $"{available - end} trailing bytes after the last tensor (tensors end at data offset {end}, the file at {available})");
        if (end > available)
            throw new ModelFormatException(path, fileLength,
                $"file is truncated: the tensors need {end} data bytes after the header but only {available} remain");

        var infos = new SafetensorsTensorInfo[tensors.Count];
        for (int i = 0; i < tensors.Count; i++)
        {
            var t = tensors[i];
            infos[i] = new SafetensorsTensorInfo(t.Name, t.DType, t.Shape, t.Begin, t.End, dataOffset, elements[i]);
        }
        return infos;
    }

    /// <summary>Walks the tensors in offset order; returns where the last one ends.</summary>
    private static long CheckContiguous(IReadOnlyList<ParsedTensor> tensors, long dataOffset, string path)
    {
        var order = Enumerable.Range(0, tensors.Count)
            .OrderBy(i => tensors[i].Begin).ThenBy(i => tensors[i].End).ToArray();
        long expected = 0;
        ParsedTensor? previous = null;
        foreach (int i in order)
        {
            var t = tensors[i];
            if (t.Begin < expected)
                throw new ModelFormatException(path, t.At,
                    $"tensor '{t.Name}' data [{t.Begin}, {t.End}) overlaps tensor '{previous!.Name}' [{previous.Begin}, {previous.End})");
            if (t.Begin > expected)
                throw new ModelFormatException(path, t.At,
                    $"gap in the data buffer: tensor '{t.Name}' begins at {t.Begin} but " +
                    (previous is null ? "the first tensor must begin at 0" : $"tensor '{previous.Name}' ends at {expected}"));
            expected = t.End;
            previous = t;
        }
        return expected;
    }
}
