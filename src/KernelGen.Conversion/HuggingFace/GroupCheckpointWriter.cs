using System.Text.Json;
using System.Text.Json.Nodes;
using KernelGen.Containers;
using KernelGen.Containers.HuggingFace;
using KernelGen.Containers.Safetensors;
using KernelGen.Conversion.Tensors;
using KernelGen.IO;
using KernelGen.Kernels;
using KernelGen.Kernels.Generated;

namespace KernelGen.Conversion.HuggingFace;

/// <summary>
/// Lossless repacks of 4-bit group-quantized checkpoints between GPTQ and AWQ (GEMM): the codes, zero points and fp16
/// scales move unchanged (<see cref="GroupQuantizedFields"/>), plain tensors (biases, norms, embeddings) are copied,
/// and the folder gets the config files its ecosystem reads (GPTQ: quantize_config.json and
/// config.json <c>quantization_config</c>; AWQ: config.json <c>quantization_config</c>). The folder is assembled beside
/// the destination and moved into place at the end.
/// </summary>
public sealed class GroupCheckpointWriter
{
    private readonly IModelContainer _source;
    private readonly List<Action<SafetensorsWriter>> _plain = new();
    private readonly List<(string Prefix, GroupQuantizedFields Fields)> _fields = new();

    /// <summary>A lossless repack of a GPTQ or AWQ checkpoint folder to <paramref name="target"/> (<c>gptq</c> or <c>awq</c>).</summary>
    public GroupCheckpointWriter(HfModelFolder source, string target)
    {
        if (source.Checkpoint is not (CheckpointKind.Gptq or CheckpointKind.Awq))
            throw new NotSupportedException($"{source.Path} is a {source.Checkpoint} checkpoint; only GPTQ and AWQ checkpoints can be repacked to {target}");
        _source = source;
        Target = CheckTarget(target);
        var index = new QuantizedLayerIndex(source);
        _fields.AddRange(index.Layers.Select(l => (l.Prefix, l.Tensor.ReadFields() ?? throw new NotSupportedException($"layer '{l.Prefix}' is not group-quantized"))));
        foreach (var t in source.Tensors.Where(t => !index.Owned.Contains(t.Name)))
        {
            var found = source.Find(t.Name)!.Value;
            _plain.Add(w => w.AddTensor(t.Name, found.Tensor.DType, found.Tensor.Shape, TensorDataSource.FromStream(found.Tensor.ByteSize, () => found.File.OpenData(found.Tensor))));
        }
        Validate();
    }

    /// <summary>
    /// Quantizes the linear layers of a float or GGUF model (HF names, see <see cref="CanonicalTensors"/>) into a
    /// <paramref name="target"/> checkpoint: round-to-nearest with <paramref name="bits"/> and <paramref name="groupSize"/>
    /// (-1: per channel), exact where a Q4_0/Q8_0 tensor already is that group. Other tensors are stored F16 (matrices)
    /// or F32 (vectors).
    /// </summary>
    public GroupCheckpointWriter(IModelContainer source, string target, int bits, int groupSize, bool symmetric)
    {
        _source = source;
        Target = CheckTarget(target);
        if (target == "awq" && bits != 4) throw new NotSupportedException("AWQ checkpoints are 4-bit");
        foreach (var (name, tensor) in CanonicalTensors.Enumerate(source))
        {
            if (LinearLayerQuantization.IsLinearWeight(name, tensor))
            {
                // GPTQ v1 cannot store a zero point of 0; AWQ and v2 can.
                var f = LinearLayerQuantization.Quantize(tensor, bits, groupSize, symmetric, zeroPointAtLeastOne: target == "gptq", out bool exact);
                _fields.Add((name[..^".weight".Length], f));
                if (exact) ExactLayers++;
                continue;
            }
            var plain = tensor;
            _plain.Add(w => PlainTensorWriter.Add(w, name, plain));
        }
        if (_fields.Count == 0) throw new NotSupportedException($"{source.Path} has no linear layers (model.layers.N.*_proj.weight) to quantize");
        Validate();
    }

    /// <summary>Layers written bit for bit from Q4_0/Q8_0 blocks rather than re-quantized.</summary>
    public int ExactLayers { get; }

    private static string CheckTarget(string target) =>
        target is "gptq" or "awq" ? target : throw new NotSupportedException($"unknown checkpoint kind '{target}'");

    private void Validate()
    {
        foreach (var (prefix, f) in _fields)
        {
            if (Target != "awq") continue;
            if (f.Bits != 4) throw new NotSupportedException($"layer '{prefix}' is {f.Bits}-bit; AWQ stores 4-bit codes only");
            if (!f.HasTrivialGroups) throw new NotSupportedException($"layer '{prefix}' uses act-order (g_idx), which AWQ cannot store");
            if (f.OutFeatures % 8 != 0 || f.InFeatures % f.GroupSize != 0)
                throw new NotSupportedException($"layer '{prefix}' ({f.OutFeatures} x {f.InFeatures}, group {f.GroupSize}) does not fit AWQ's packing");
        }
        // GPTQ v1 stores zero - 1 and so cannot hold a zero point of 0 without damaging its word (FORMATS.md §9.1);
        // such checkpoints are written in the gptq_v2 convention, which stores zeros as they are.
        UsesV2 = Target == "gptq" && _fields.Any(f => Array.IndexOf(f.Fields.Zeros, 0) >= 0);
    }

    public string Target { get; }

    /// <summary>The layers' fields, read once.</summary>
    public IReadOnlyList<(string Prefix, GroupQuantizedFields Fields)> Fields => _fields;

    /// <summary>True when a GPTQ output needs checkpoint_format gptq_v2 (some zero point is 0).</summary>
    public bool UsesV2 { get; private set; }

    public void Write(string folder, bool overwrite, CancellationToken cancellation = default)
    {
        var writer = new SafetensorsWriter();
        writer.AddMetadata("format", "pt");
        foreach (var add in _plain) add(writer);
        foreach (var (prefix, f) in Fields)
        {
            if (Target == "gptq") AddGptq(writer, prefix, f);
            else AddAwq(writer, prefix, f);
        }
        FolderWriter.Write(folder, overwrite, temp =>
        {
            writer.WriteFile(Path.Combine(temp, "model.safetensors"), overwrite: false, cancellation);
            WriteConfigs(temp);
            if (_source is HfModelFolder hf) FolderWriter.CopyCompanionFiles(hf.Path, temp);
        });
    }

    private void AddGptq(SafetensorsWriter writer, string prefix, GroupQuantizedFields f)
    {
        var layout = new GPTQLayout(f.OutFeatures, f.InFeatures, f.Bits, f.GroupSize, UsesV2 ? GPTQCheckpoint.GptqV2 : GPTQCheckpoint.Gptq);
        int mask = (1 << f.Bits) - 1;
        var stored = UsesV2 ? f.Zeros : Array.ConvertAll(f.Zeros, z => (z - 1) & mask);
        var qweight = new byte[layout.QweightBytes];
        var qzeros = new byte[layout.QzerosBytes];
        var scales = new byte[layout.ScalesBytes];
        var gIdx = new byte[layout.GIdxBytes];
        GPTQCodec.Encode(layout, f.Codes, stored, f.Scales, f.GroupOf, qweight, qzeros, scales, gIdx);
        writer.AddTensor(prefix + ".qweight", SafetensorsDType.I32, [layout.QweightRows, layout.QweightColumns], TensorDataSource.FromMemory(qweight));
        writer.AddTensor(prefix + ".qzeros", SafetensorsDType.I32, [layout.QzerosRows, layout.QzerosColumns], TensorDataSource.FromMemory(qzeros));
        writer.AddTensor(prefix + ".scales", SafetensorsDType.F16, [layout.ScalesRows, layout.ScalesColumns], TensorDataSource.FromMemory(scales));
        writer.AddTensor(prefix + ".g_idx", SafetensorsDType.I32, [layout.GIdxLength], TensorDataSource.FromMemory(gIdx));
    }

    private static void AddAwq(SafetensorsWriter writer, string prefix, GroupQuantizedFields f)
    {
        var layout = new AWQ_GEMMLayout(f.OutFeatures, f.InFeatures, f.GroupSize);
        var qweight = new byte[layout.QweightBytes];
        var qzeros = new byte[layout.QzerosBytes];
        var scales = new byte[layout.ScalesBytes];
        AWQ_GEMMCodec.Encode(layout, f.Codes, f.Zeros, f.Scales, qweight, qzeros, scales);
        writer.AddTensor(prefix + ".qweight", SafetensorsDType.I32, [layout.QweightRows, layout.QweightColumns], TensorDataSource.FromMemory(qweight));
        writer.AddTensor(prefix + ".qzeros", SafetensorsDType.I32, [layout.QzerosRows, layout.QzerosColumns], TensorDataSource.FromMemory(qzeros));
        writer.AddTensor(prefix + ".scales", SafetensorsDType.F16, [layout.ScalesRows, layout.ScalesColumns], TensorDataSource.FromMemory(scales));
    }

    private void WriteConfigs(string folder)
    {
        var first = Fields.Count > 0 ? Fields[0].Fields : throw new NotSupportedException($"{_source.Path} has no quantized layers");
        JsonObject quantization = Target == "gptq"
            ? new JsonObject
            {
                ["bits"] = first.Bits, ["group_size"] = first.GroupSize == first.InFeatures && Fields.All(f => f.Fields.GroupCount == 1) ? -1 : first.GroupSize,
                ["damp_percent"] = 0.01, ["desc_act"] = Fields.Any(f => !f.Fields.HasTrivialGroups), ["static_groups"] = false,
                ["sym"] = Fields.All(f => f.Fields.AllZerosAre(1 << (f.Fields.Bits - 1))), ["true_sequential"] = true,
                ["model_name_or_path"] = null, ["model_file_base_name"] = null, ["quant_method"] = "gptq",
                ["checkpoint_format"] = UsesV2 ? "gptq_v2" : "gptq",
            }
            : new JsonObject
            {
                ["quant_method"] = "awq", ["zero_point"] = true, ["group_size"] = first.GroupSize, ["bits"] = 4, ["version"] = "gemm",
                ["modules_to_not_convert"] = null,
            };
        var config = _source switch
        {
            HfModelFolder { Config: { } c } => JsonNode.Parse(c.RootElement.GetRawText())!.AsObject(),
            KernelGen.Containers.Gguf.GgufFile g => HfConfigBuilder.FromGguf(g, "float16") ?? new JsonObject(),
            _ => new JsonObject(),
        };
        config["quantization_config"] = quantization.DeepClone();
        var options = new JsonSerializerOptions { WriteIndented = true };
        File.WriteAllText(Path.Combine(folder, "config.json"), config.ToJsonString(options));
        if (Target == "gptq") File.WriteAllText(Path.Combine(folder, "quantize_config.json"), quantization.ToJsonString(options));
        // Older AutoAWQ releases read their own quant_config.json rather than config.json's quantization_config.
        if (Target == "awq")
            File.WriteAllText(Path.Combine(folder, "quant_config.json"), new JsonObject
            {
                ["zero_point"] = true, ["q_group_size"] = first.GroupSize, ["w_bit"] = 4, ["version"] = "GEMM",
            }.ToJsonString(options));
    }
}
