using KernelGen.Containers.Gguf;
using KernelGen.Conversion.Quantization;
using KernelGen.Conversion.Tensors;
using KernelGen.Formats;
using KernelGen.IO;
using KernelGen.Kernels;

namespace KernelGen.Conversion.Gguf;

/// <summary>One tensor of a conversion plan: where it comes from and what it becomes.</summary>
public sealed record PlannedTensor(GgufTensorInfo Source, GgmlType TargetType, long TargetBytes)
{
    /// <summary>True when the bytes are copied unchanged (same type), false when decoded and re-quantized.</summary>
    public bool IsCopy => (uint)TargetType == Source.TypeId;
}

/// <summary>
/// GGUF → GGUF re-quantization the way llama-quantize does it (FORMATS.md §6): metadata copied with
/// <c>general.quantization_version</c> and <c>general.file_type</c> moved to the end, <c>split.*</c> dropped, tensors
/// in llama-quantize's order, each tensor's type from <see cref="TensorTypePolicy"/>; tensors whose type does not change
/// are copied byte for byte, the others decoded to float and quantized with the reference quantizers. Streaming: one
/// tensor at a time, quantized in parallel row ranges.
/// </summary>
public sealed class GgufRequantizer
{
    private readonly GgufFile _source;

    public GgufRequantizer(GgufFile source, LlamaFileType fileType, bool pure)
    {
        _source = source;
        FileType = fileType;
        var shapes = source.Tensors.Select(t => new TensorShapeInfo(t.Name, t.Ne, (GgmlType)t.TypeId)).ToList();
        var policy = new TensorTypePolicy(fileType, pure, ReadHyperParameters(source), shapes);
        var plan = new List<PlannedTensor>();
        foreach (var t in source.Tensors.OrderBy(t => t.Name, LlamaTensorOrder.Instance))
        {
            var target = policy.Choose(new TensorShapeInfo(t.Name, t.Ne, (GgmlType)t.TypeId));
            if (!(t.Ne.Count == 0 || t.Ne[0] % GgmlTypeInfo.Of(target).BlockElements == 0))
                throw new NotSupportedException($"tensor '{t.Name}' cannot be stored as {target}");
            if ((uint)target != t.TypeId && !Quantizer.IsSupported(target.ToString()))
                throw new NotSupportedException($"tensor '{t.Name}': KernelGen cannot quantize to {target}");
            if ((uint)target != t.TypeId && !Dequantizer.IsSupported(t.TypeId))
                throw new NotSupportedException($"tensor '{t.Name}' is {t.TypeName}, which KernelGen cannot decode");
            plan.Add(new PlannedTensor(t, target, GgmlTypeInfo.Of(target).RowBytes(t.RowLength) * t.RowCount));
        }
        Plan = plan;
    }

    public LlamaFileType FileType { get; }

    /// <summary>Every tensor, in output order, with its target type.</summary>
    public IReadOnlyList<PlannedTensor> Plan { get; }

    /// <summary>Threads quantizing each tensor's rows.</summary>
    public int Threads { get; init; } = Environment.ProcessorCount;

    /// <summary>Round-trip error of every re-quantized tensor, filled in as <see cref="Write"/> goes.</summary>
    public IReadOnlyDictionary<string, TensorError> Errors => _errors;

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, TensorError> _errors = new();

    private static ModelHyperParameters ReadHyperParameters(GgufFile f)
    {
        string arch = f.Metadata.GetString(GgufMetadata.ArchitectureKey) ?? "";
        int Get(string key, int fallback) => f.Metadata.TryGetValue($"{arch}.{key}", out var v) && v.IsInteger ? (int)v.AsInteger() : fallback;
        int layers = Get("block_count", f.Tensors.Select(t => LlamaTensorOrder.Layer(t.Name)).DefaultIfEmpty(-1).Max() + 1);
        int heads = Get("attention.head_count", 1);
        return new ModelHyperParameters(arch, layers, heads, Get("attention.head_count_kv", heads));
    }

    /// <summary>The output metadata: the input's, as llama-quantize rewrites it.</summary>
    public GgufMetadata BuildMetadata()
    {
        var md = _source.Metadata.Clone();
        foreach (string key in md.Select(kv => kv.Key).Where(k => k.StartsWith("split.", StringComparison.Ordinal)).ToList()) md.Remove(key);
        md.Set(GgufMetadata.QuantizationVersionKey, GgufValue.UInt32(2));
        md.Set(GgufMetadata.FileTypeKey, GgufValue.UInt32(FileType.Value));
        return md;
    }

    /// <summary>Writes the converted file atomically; <paramref name="progress"/> hears about every finished tensor.</summary>
    public void Write(string path, bool overwrite, IProgress<TensorWritten>? progress = null, CancellationToken cancellation = default)
    {
        var writer = new GgufWriter(BuildMetadata());
        foreach (var p in Plan)
        {
            var planned = p;
            var data = p.IsCopy
                ? TensorDataSource.FromStream(p.TargetBytes, () => _source.OpenData(planned.Source))
                : TensorDataSource.FromCallback(p.TargetBytes, (s, ct) => Quantize(planned, s, ct));
            writer.AddTensor(p.Source.Name, p.Source.Ne, (uint)p.TargetType, data);
        }
        writer.WriteFile(path, overwrite, progress, cancellation);
    }

    private void Quantize(PlannedTensor p, Stream output, CancellationToken cancellation)
    {
        var tensor = new GgufFloatTensor(_source, p.Source);
        string target = p.TargetType.ToString();
        long rowBytes = p.TargetBytes / Math.Max(1, tensor.RowCount);
        // Quantize in slabs of rows so memory stays bounded for huge tensors; rows within a slab run in parallel.
        int slabRows = (int)Math.Clamp((64L << 20) / Math.Max(1, rowBytes + 4 * tensor.RowLength), 1, Math.Max(1, tensor.RowCount));
        var buffer = new byte[slabRows * rowBytes];
        var error = new TensorErrorAccumulator();
        for (long first = 0; first < tensor.RowCount; first += slabRows)
        {
            cancellation.ThrowIfCancellationRequested();
            int rows = (int)Math.Min(slabRows, tensor.RowCount - first);
            int workers = Math.Clamp(Threads, 1, rows);
            int perWorker = (rows + workers - 1) / workers;
            Parallel.For(0, workers, new ParallelOptions { MaxDegreeOfParallelism = workers, CancellationToken = cancellation }, w =>
            {
                int start = w * perWorker, count = Math.Min(perWorker, rows - start);
                if (count <= 0) return;
                var floats = new float[count * tensor.RowLength];
                tensor.ReadRows(first + start, count, floats);
                var quantized = buffer.AsSpan((int)(start * rowBytes), (int)(count * rowBytes));
                Quantizer.Quantize(target, floats, quantized);
                var decoded = new float[floats.Length];
                Dequantizer.Dequantize(target, quantized, decoded);
                error.Add(floats, decoded);
            });
            output.Write(buffer, 0, (int)(rows * rowBytes));
        }
        _errors[p.Source.Name] = error.Result;
    }
}
