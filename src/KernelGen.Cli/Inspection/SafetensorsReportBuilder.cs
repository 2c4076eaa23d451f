using System.Text.Json.Nodes;
using KernelGen.Containers;
using KernelGen.Containers.Safetensors;

namespace KernelGen.Cli.Inspection;

/// <summary>Builds the inspection report of a single safetensors file.</summary>
public static class SafetensorsReportBuilder
{
    public static InspectionReport Build(SafetensorsFile file)
    {
        var metadata = file.Metadata.Select(kv => new MetadataItem(kv.Key, "STRING", JsonValue.Create(kv.Value))).ToList();
        var details = new JsonObject
        {
            ["header_length"] = file.HeaderLength,
            ["data_offset"] = file.DataOffset,
            ["file_size"] = file.FileLength,
        };
        return new InspectionReport("safetensors", null, file.Path, metadata, ((IModelContainer)file).Tensors, false, details);
    }

    /// <summary>A file's <c>__metadata__</c> as a JSON object.</summary>
    public static JsonObject MetadataObject(SafetensorsFile file)
    {
        var o = new JsonObject();
        foreach (var (k, v) in file.Metadata) o[k] = v;
        return o;
    }
}
