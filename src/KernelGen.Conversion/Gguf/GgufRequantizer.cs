using KernelGen.Containers.Gguf;
using KernelGen.Conversion.Quantization;
using KernelGen.Conversion.Tensors;
using KernelGen.Formats;
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
    public IReadOnlyDictionary<string, TensorError> Errors => _pipeline?.Errors ?? new Dictionary<string, TensorError>();

    private GgufOutputPipeline? _pipeline;

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

    /// <summary>The output tensors: copies for unchanged types, float sources to quantize for the others.</summary>
    public IReadOnlyList<GgufOutputTensor> OutputTensors() => Plan.Select(p => new GgufOutputTensor(p.Source.Name, p.Source.Ne, p.TargetType,
        p.Source.TypeName, p.IsCopy ? null : new GgufFloatTensor(_source, p.Source), p.IsCopy ? () => _source.OpenData(p.Source) : null)).ToList();

    /// <summary>Writes the converted file atomically; <paramref name="progress"/> hears about every finished tensor.</summary>
    public GgufOutputPipeline Write(string path, bool overwrite, IProgress<TensorWritten>? progress = null, CancellationToken cancellation = default)
    {
        _pipeline = new GgufOutputPipeline { Threads = Threads };
        _pipeline.Write(path, overwrite, BuildMetadata(), OutputTensors(), progress, cancellation);
        return _pipeline;
    }
}
