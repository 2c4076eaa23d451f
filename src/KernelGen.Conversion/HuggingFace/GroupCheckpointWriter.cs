using System.Text.Json;
using System.Text.Json.Nodes;
using KernelGen.Containers.HuggingFace;
using KernelGen.Containers.Safetensors;
using KernelGen.Conversion.Tensors;
using KernelGen.IO;
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
    private readonly HfModelFolder _source;
    private readonly QuantizedLayerIndex _index;

    /// <param name="source">A GPTQ or AWQ checkpoint folder.</param>
    /// <param name="target"><c>gptq</c> or <c>awq</c>.</param>
    public GroupCheckpointWriter(HfModelFolder source, string target)
    {
        if (source.Checkpoint is not (CheckpointKind.Gptq or CheckpointKind.Awq))
            throw new NotSupportedException($"{source.Path} is a {source.Checkpoint} checkpoint; only GPTQ and AWQ checkpoints can be repacked to {target}");
        if (target is not ("gptq" or "awq")) throw new NotSupportedException($"unknown checkpoint kind '{target}'");
        _source = source;
        Target = target;
        _index = new QuantizedLayerIndex(source);
        Fields = _index.Layers.Select(l => (l.Prefix, l.Tensor.ReadFields() ?? throw new NotSupportedException($"layer '{l.Prefix}' is not group-quantized"))).ToList();
        foreach (var (prefix, f) in Fields)
        {
            if (target == "awq")
            {
                if (f.Bits != 4) throw new NotSupportedException($"layer '{prefix}' is {f.Bits}-bit; AWQ stores 4-bit codes only");
                if (!f.HasTrivialGroups) throw new NotSupportedException($"layer '{prefix}' uses act-order (g_idx), which AWQ cannot store");
                if (f.OutFeatures % 8 != 0 || f.InFeatures % f.GroupSize != 0)
                    throw new NotSupportedException($"layer '{prefix}' ({f.OutFeatures} x {f.InFeatures}, group {f.GroupSize}) does not fit AWQ's packing");
            }
        }
        // GPTQ v1 stores zero - 1 and so cannot hold a zero point of 0 without damaging its word (FORMATS.md §9.1);
        // such checkpoints are written in the gptq_v2 convention, which stores zeros as they are.
        UsesV2 = target == "gptq" && Fields.Any(f => Array.IndexOf(f.Fields.Zeros, 0) >= 0);
    }

    public string Target { get; }

    /// <summary>The layers' fields, read once.</summary>
    public IReadOnlyList<(string Prefix, GroupQuantizedFields Fields)> Fields { get; }

    /// <summary>True when a GPTQ output needs checkpoint_format gptq_v2 (some zero point is 0).</summary>
    public bool UsesV2 { get; }

    public void Write(string folder, bool overwrite, CancellationToken cancellation = default)
    {
        var writer = new SafetensorsWriter();
        writer.AddMetadata("format", "pt");
        foreach (var t in _source.Tensors.Where(t => !_index.Owned.Contains(t.Name)))
        {
            var found = _source.Find(t.Name)!.Value;
            writer.AddTensor(t.Name, found.Tensor.DType, found.Tensor.Shape, TensorDataSource.FromStream(found.Tensor.ByteSize, () => found.File.OpenData(found.Tensor)));
        }
        foreach (var (prefix, f) in Fields)
        {
            if (Target == "gptq") AddGptq(writer, prefix, f);
            else AddAwq(writer, prefix, f);
        }
        FolderWriter.Write(folder, overwrite, temp =>
        {
            writer.WriteFile(Path.Combine(temp, "model.safetensors"), overwrite: false, cancellation);
            WriteConfigs(temp);
            FolderWriter.CopyCompanionFiles(_source.Path, temp);
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
        var config = _source.Config is { } c ? JsonNode.Parse(c.RootElement.GetRawText())!.AsObject() : new JsonObject();
        config["quantization_config"] = quantization.DeepClone();
        var options = new JsonSerializerOptions { WriteIndented = true };
        File.WriteAllText(Path.Combine(folder, "config.json"), config.ToJsonString(options));
        if (Target == "gptq") File.WriteAllText(Path.Combine(folder, "quantize_config.json"), quantization.ToJsonString(options));
    }
}
