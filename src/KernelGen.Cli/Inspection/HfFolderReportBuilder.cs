using System.Text.Json.Nodes;
using KernelGen.Containers;
using KernelGen.Containers.HuggingFace;

namespace KernelGen.Cli.Inspection;

/// <summary>Builds the inspection report of a Hugging Face model folder (one or many safetensors shards).</summary>
public static class HfFolderReportBuilder
{
    public static InspectionReport Build(HfModelFolder folder)
    {
        var metadata = new List<MetadataItem>();
        if (folder.Config is { } config)
            metadata.Add(new MetadataItem("config", "JSON", JsonNode.Parse(config.RootElement.GetRawText())));
        string quantizeConfig = Path.Combine(folder.Path, "quantize_config.json");
        if (File.Exists(quantizeConfig))
            metadata.Add(new MetadataItem("quantize_config", "JSON", JsonNode.Parse(File.ReadAllText(quantizeConfig))));
        var shards = new JsonObject();
        foreach (var shard in folder.Shards) shards[Path.GetFileName(shard.Path)] = SafetensorsReportBuilder.MetadataObject(shard);
        metadata.Add(new MetadataItem("safetensors", "JSON", shards));

        var details = new JsonObject
        {
            ["checkpoint"] = folder.Checkpoint.ToString().ToLowerInvariant(),
            ["shards"] = folder.Shards.Count,
        };
        if (folder.Quantization is { } q) details["quantization"] = Describe(q);
        return new InspectionReport("hf-folder", null, folder.Path, metadata, ((IModelContainer)folder).Tensors, true, details);
    }

    private static JsonObject Describe(QuantizationInfo q)
    {
        var o = new JsonObject { ["kind"] = q.Kind.ToString().ToLowerInvariant(), ["source"] = q.Source };
        if (q.QuantMethod is { } m) o["quant_method"] = m;
        if (q.Bits is { } b) o["bits"] = b;
        if (q.GroupSize is { } g) o["group_size"] = g;
        if (q.Sym is { } sym) o["sym"] = sym;
        if (q.DescAct is { } d) o["desc_act"] = d;
        if (q.CheckpointFormat is { } f) o["checkpoint_format"] = f;
        if (q.AwqVersion is { } v) o["version"] = v;
        if (q.ZeroPoint is { } z) o["zero_point"] = z;
        if (q.BitNetLinearClass is { } lc) o["linear_class"] = lc;
        if (q.QuantizationMode is { } qm) o["quantization_mode"] = qm;
        return o;
    }
}
