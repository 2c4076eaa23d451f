using System.Text.Json;
using KernelGen.Containers.Gguf;
using KernelGen.Containers.HuggingFace;
using KernelGen.Conversion.Gguf;
using KernelGen.Conversion.Quantization;
using KernelGen.Conversion.Tensors;
using KernelGen.Formats;
using KernelGen.IO;

namespace KernelGen.Conversion.HuggingFace;

/// <summary>
/// Hugging Face safetensors (F32/F16/BF16) → GGUF for the llama family (llama, mistral, qwen2), the way llama.cpp's
/// <c>convert_hf_to_gguf.py</c> does it (FORMATS.md §7): tensor names mapped, llama's Q/K rows permuted for ggml's
/// rope, hyper-parameters from config.json, the tokenizer into <c>tokenizer.*</c>. Output types: F32, F16, BF16, Q8_0,
/// TQ1_0 and TQ2_0 follow the converter's per-tensor rules (norms and 1-D tensors stay F32); any other
/// <c>--type</c> (Q4_K_M, Q6_K, ...) is applied as llama-quantize would to the converted file.
/// Everything is checked before the output is opened.
/// </summary>
public sealed class HfToGgufConverter
{
    private static readonly Dictionary<string, string> Architectures = new(StringComparer.Ordinal)
    {
        ["LlamaForCausalLM"] = "llama", ["MistralForCausalLM"] = "llama", ["MixtralForCausalLM"] = "llama", ["Qwen2ForCausalLM"] = "qwen2",
        ["BitnetForCausalLM"] = "bitnet", ["BitNetForCausalLM"] = "bitnet",
    };

    private static readonly string[] ConverterOutTypes = ["F32", "F16", "BF16", "Q8_0", "TQ1_0", "TQ2_0"];

    private readonly HfModelFolder _folder;
    private readonly List<GgufOutputTensor> _tensors = new();

    public HfToGgufConverter(HfModelFolder folder, string? typeName, bool pure)
    {
        _folder = folder;
        var config = folder.Config?.RootElement ?? JsonDocument.Parse("{}").RootElement;
        if (config.TryGetProperty("architectures", out var a) && a.GetArrayLength() > 0)
        {
            string hfArch = a[0].GetString() ?? "";
            Architecture = Architectures.TryGetValue(hfArch, out var arch) ? arch
                : throw new NotSupportedException($"architecture '{hfArch}' has no GGUF name mapping (supported: {string.Join(", ", Architectures.Keys)})");
            HeadCount = Int(config, "num_attention_heads") ?? throw new NotSupportedException("config.json has no num_attention_heads");
            HeadCountKv = Int(config, "num_key_value_heads") ?? HeadCount;
        }
        // A bare checkpoint (a layer or two without an architecture, like the test vectors) converts tensor by tensor:
        // names are kept, nothing is permuted, and the file says which architecture it lacks.
        _layers = new QuantizedLayerIndex(folder);

        bool bf16Source = folder.Tensors.Any(t => t.Type == "BF16");
        // Without --type a quantized checkpoint keeps its quantization (exact GGUF blocks where they exist).
        KeepQuantization = typeName is null && _layers.Layers.Count > 0;
        typeName ??= bf16Source ? "BF16" : "F16";
        var fileType = LlamaFileType.Parse(typeName) ?? throw new NotSupportedException($"unknown --type '{typeName}'");
        bool converterType = ConverterOutTypes.Contains(fileType.Name) && !pure;
        Metadata = BuildMetadata(config, converterType ? fileType : LlamaFileType.Parse("F32")!);

        var floats = PlanFloatTensors(converterType ? fileType.DefaultType : GgmlType.F32);
        if (converterType)
        {
            FileType = fileType;
            _tensors.AddRange(floats);
            if (KeepQuantization)
            {
                // The file type names the layers' most common GGUF type, as a llama-quantize file would.
                var main = floats.Where(t => GgmlTypeInfo.Of(t.TargetType).IsQuantized).GroupBy(t => t.TargetType).OrderByDescending(g => g.Count()).FirstOrDefault()?.Key;
                if (main is GgmlType m && LlamaFileType.Parse(m.ToString()) is { } kept && kept.DefaultType == m) FileType = kept;
                Metadata.Set(GgufMetadata.QuantizationVersionKey, GgufValue.UInt32(2));
                Metadata.Set(GgufMetadata.FileTypeKey, GgufValue.UInt32(FileType.Value));
            }
        }
        else
        {
            // Quantized file types: what llama-quantize would make of the converted float file.
            FileType = fileType;
            var shapes = floats.Select(t => new TensorShapeInfo(t.Name, t.Ne, GgmlType.F32)).ToList();
            var policy = new TensorTypePolicy(fileType, pure, new ModelHyperParameters(Architecture ?? "", Int(config, "num_hidden_layers") ?? 0, HeadCount, HeadCountKv), shapes);
            foreach (var t in floats.OrderBy(t => t.Name, LlamaTensorOrder.Instance))
            {
                var chosen = policy.Choose(new TensorShapeInfo(t.Name, t.Ne, GgmlType.F32));
                _tensors.Add(t with { TargetType = chosen, CopyFrom = chosen == GgmlType.F32 ? t.CopyFrom : null });
            }
            Metadata.Set(GgufMetadata.QuantizationVersionKey, GgufValue.UInt32(2));
            Metadata.Set(GgufMetadata.FileTypeKey, GgufValue.UInt32(fileType.Value));
        }
    }

    private readonly QuantizedLayerIndex _layers;

    /// <summary>The GGUF architecture name (<c>llama</c>, <c>qwen2</c>), or null for a checkpoint without one.</summary>
    public string? Architecture { get; }

    /// <summary>True when quantized layers are carried over as they are (exactly where a GGUF type allows) rather than re-quantized.</summary>
    public bool KeepQuantization { get; }

    public int HeadCount { get; }

    public int HeadCountKv { get; }

    public LlamaFileType FileType { get; }

    /// <summary>The output metadata.</summary>
    public GgufMetadata Metadata { get; }

    /// <summary>The output tensors, in output order.</summary>
    public IReadOnlyList<GgufOutputTensor> Tensors => _tensors;

    private static int? Int(JsonElement e, string name) => e.TryGetProperty(name, out var v) && v.TryGetInt32(out int i) ? i : null;

    private static double? Number(JsonElement e, string name) => e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : null;

    private GgufMetadata BuildMetadata(JsonElement config, LlamaFileType fileType)
    {
        var md = new GgufMetadata();
        if (Architecture is not string a)
        {
            md.Set("general.type", GgufValue.String("model"));
            md.Set("general.name", GgufValue.String(Path.GetFileName(Path.TrimEndingDirectorySeparator(_folder.Path))));
            md.Set(GgufMetadata.FileTypeKey, GgufValue.UInt32(fileType.Value));
            return md;
        }
        md.Set("general.architecture", GgufValue.String(a));
        md.Set("general.type", GgufValue.String("model"));
        md.Set("general.name", GgufValue.String(Path.GetFileName(Path.TrimEndingDirectorySeparator(_folder.Path))));
        int? context = new[] { "max_position_embeddings", "n_ctx", "n_positions", "max_length", "max_sequence_length", "model_max_length" }
            .Select(k => Int(config, k)).FirstOrDefault(v => v is not null);
        int embedding = Int(config, "hidden_size") ?? Int(config, "n_embd") ?? Int(config, "dim") ?? throw new NotSupportedException("config.json has no hidden_size");
        if (context is int c) md.Set($"{a}.context_length", GgufValue.UInt32((uint)c));
        md.Set($"{a}.embedding_length", GgufValue.UInt32((uint)embedding));
        md.Set($"{a}.block_count", GgufValue.UInt32((uint)(Int(config, "num_hidden_layers") ?? throw new NotSupportedException("config.json has no num_hidden_layers"))));
        if ((Int(config, "intermediate_size") ?? Int(config, "n_inner")) is int ff) md.Set($"{a}.feed_forward_length", GgufValue.UInt32((uint)ff));
        md.Set($"{a}.attention.head_count", GgufValue.UInt32((uint)HeadCount));
        md.Set($"{a}.attention.head_count_kv", GgufValue.UInt32((uint)HeadCountKv));
        int headDim = Int(config, "head_dim") ?? embedding / HeadCount;
        if (a == "llama") md.Set($"{a}.rope.dimension_count", GgufValue.UInt32((uint)headDim));
        if (Number(config, "rope_theta") is double theta) md.Set($"{a}.rope.freq_base", GgufValue.Float32((float)theta));
        if (Number(config, "rms_norm_eps") is double eps) md.Set($"{a}.attention.layer_norm_rms_epsilon", GgufValue.Float32((float)eps));
        if (a == "bitnet")
        {
            md.Set($"{a}.rope.scaling.type", GgufValue.String("linear"));
            md.Set($"{a}.rope.scaling.factor", GgufValue.Float32(1.0f));
        }
        if (Int(config, "head_dim") is int hd)
        {
            md.Set($"{a}.attention.key_length", GgufValue.UInt32((uint)hd));
            md.Set($"{a}.attention.value_length", GgufValue.UInt32((uint)hd));
        }
        int? vocab = Int(config, "vocab_size");
        if (a == "llama" && vocab is int v) md.Set($"{a}.vocab_size", GgufValue.UInt32((uint)v));
        md.Set(GgufMetadata.FileTypeKey, GgufValue.UInt32(fileType.Value));
        HfTokenizerMetadata.Add(md, _folder.Path, config, a, vocab);
        return md;
    }

    private List<GgufOutputTensor> PlanFloatTensors(GgmlType outType)
    {
        var planned = new List<GgufOutputTensor>();
        var layers = _layers.Layers.ToDictionary(l => l.Prefix + ".weight", l => l.Tensor);
        foreach (var entry in _folder.Tensors)
        {
            if (LlamaTensorNames.IsDropped(entry.Name)) continue;
            bool isLayer = entry.Name.EndsWith(".qweight", StringComparison.Ordinal) || entry.Name.EndsWith(".weight_scale", StringComparison.Ordinal);
            string hfName = isLayer ? entry.Name[..entry.Name.LastIndexOf('.')] + ".weight" : entry.Name;
            if (!isLayer && _layers.Owned.Contains(entry.Name)) continue;
            string name = Architecture is null ? hfName : LlamaTensorNames.ToGguf(hfName)
                ?? throw new NotSupportedException($"tensor '{hfName}' has no GGUF name mapping for architecture {Architecture}");
            FloatTensor tensor = isLayer ? layers[hfName] : ModelTensors.Open(_folder, entry.Name);
            bool permute = Architecture == "llama" && (name.Contains(".attn_q.", StringComparison.Ordinal) || name.Contains(".attn_k.", StringComparison.Ordinal));
            int heads = name.Contains(".attn_q.", StringComparison.Ordinal) ? HeadCount : HeadCountKv;
            if (permute) tensor = new PermutedRowsTensor(tensor, heads, toGguf: true);
            // A float BitNet checkpoint's linear weights are made ternary first, as the reference converter does.
            if (Architecture == "bitnet" && !isLayer && LinearLayerQuantization.IsLinearWeight(entry.Name, tensor)) tensor = new BitNetFakeQuantTensor(tensor);
            if (isLayer && KeepQuantization)
            {
                planned.Add(KeptLayer(name, (QuantizedLayerTensor)layers[hfName], tensor, permute ? heads : 0));
                continue;
            }
            long[] ne = tensor.Shape.Reverse().ToArray();
            // Carrying a quantized checkpoint over keeps its float tensors in their stored precision (nothing lost).
            var type = KeepQuantization && entry.Type is "F32" or "F16" or "BF16" ? TypeFor(name, ne, Enum.Parse<GgmlType>(entry.Type)) : TypeFor(name, ne, outType);
            // Unchanged F32 data can be copied straight from the mapped file (the permuted rows cannot).
            Func<Stream>? copy = type == GgmlType.F32 && entry.Type == "F32" && tensor is SafetensorsFloatTensor
                ? () => _folder.Find(entry.Name)!.Value.File.OpenData(_folder.Find(entry.Name)!.Value.Tensor)
                : null;
            planned.Add(new GgufOutputTensor(name, ne, type, entry.Type, tensor, copy));
        }
        return planned;
    }

    /// <summary>
    /// A quantized layer carried over: bit for bit into Q4_0/Q8_0/Q4_1 when one holds it (<see cref="ExactGgufEncoding"/>);
    /// a BitNet layer into TQ2_0 (its ternary codes exactly, the scale as fp16); otherwise the lowest-error type of the
    /// layer's bit width, measured on its rows.
    /// </summary>
    private static GgufOutputTensor KeptLayer(string name, QuantizedLayerTensor layer, FloatTensor rows, int permutedHeads)
    {
        long[] ne = [layer.Shape[1], layer.Shape[0]];
        if (layer.ReadFields() is { } fields && ExactGgufEncoding.ExactType(fields) is GgmlType exact)
        {
            long rowBytes = GgmlTypeInfo.Of(exact).RowBytes(fields.InFeatures);
            var permuted = permutedHeads > 0 ? (PermutedRowsTensor)rows : null;
            return new GgufOutputTensor(name, ne, exact, layer.StorageType, rows, () =>
            {
                var bytes = new byte[rowBytes * fields.OutFeatures];
                for (int r = 0; r < fields.OutFeatures; r++)
                    ExactGgufEncoding.EncodeRow(fields, exact, (int)(permuted?.SourceRow(r) ?? r), bytes.AsSpan((int)(r * rowBytes), (int)rowBytes));
                return new MemoryStream(bytes, writable: false);
            });
        }
        GgmlType[] candidates = layer.ReadFields() is { } f ? f.Bits switch
        {
            <= 2 => [GgmlType.Q2_K, GgmlType.Q3_K],
            3 => [GgmlType.Q3_K, GgmlType.Q4_K],
            4 => [GgmlType.Q4_K, GgmlType.Q4_1, GgmlType.IQ4_NL, GgmlType.Q4_0],
            _ => [GgmlType.Q8_0],
        } : [GgmlType.TQ2_0];
        var usable = candidates.Where(t => ne[0] % GgmlTypeInfo.Of(t).BlockElements == 0).DefaultIfEmpty(GgmlType.F16).ToArray();
        return new GgufOutputTensor(name, ne, LowestError(rows, usable), layer.StorageType, rows, null);
    }

    private static GgmlType LowestError(FloatTensor rows, GgmlType[] candidates)
    {
        if (candidates.Length == 1) return candidates[0];
        int sample = (int)Math.Min(rows.RowCount, 256);
        var x = new float[sample * rows.RowLength];
        rows.ReadRows(0, sample, x);
        var y = new float[x.Length];
        GgmlType best = candidates[0];
        double bestError = double.PositiveInfinity;
        foreach (var type in candidates)
        {
            var q = new byte[KernelGen.Kernels.Quantizer.QuantizedBytes(type.ToString(), x.Length)];
            KernelGen.Kernels.Quantizer.Quantize(type.ToString(), x, q);
            KernelGen.Kernels.Dequantizer.Dequantize(type.ToString(), q, y);
            double error = 0;
            for (int i = 0; i < x.Length; i++) error += (x[i] - (double)y[i]) * (x[i] - (double)y[i]);
            if (error < bestError) (best, bestError) = (type, error);
        }
        return best;
    }

    /// <summary>convert_hf_to_gguf's per-tensor type (FORMATS.md §7.4).</summary>
    private static GgmlType TypeFor(string name, long[] ne, GgmlType outType)
    {
        int dims = ne.Reverse().SkipWhile(d => d == 1).Count();
        if (dims <= 1 || name.EndsWith("_norm.weight", StringComparison.Ordinal) || !name.EndsWith(".weight", StringComparison.Ordinal)) return GgmlType.F32;
        if (outType is GgmlType.TQ1_0 or GgmlType.TQ2_0 && name is "token_embd.weight" or "output.weight") return GgmlType.F16;
        // A row the block does not divide falls back to F16, as the converter's QuantError path does.
        return ne[0] % GgmlTypeInfo.Of(outType).BlockElements == 0 ? outType : GgmlType.F16;
    }

    /// <summary>Writes the GGUF atomically.</summary>
    public GgufOutputPipeline Write(string path, bool overwrite, int threads, IProgress<TensorWritten>? progress = null, CancellationToken cancellation = default)
    {
        var pipeline = new GgufOutputPipeline { Threads = threads };
        pipeline.Write(path, overwrite, Metadata, _tensors, progress, cancellation);
        return pipeline;
    }
}
