using System.Text.Json.Nodes;
using KernelGen.Containers;
using KernelGen.Containers.Gguf;

namespace KernelGen.Cli.Inspection;

/// <summary>Builds the inspection report of a GGUF file.</summary>
public static class GgufReportBuilder
{
    public static InspectionReport Build(GgufFile file, int arrayLimit)
    {
        var metadata = file.Metadata
            .Select(kv => new MetadataItem(kv.Key, TypeName(kv.Value), JsonValues.FromGguf(kv.Value, arrayLimit)))
            .ToList();
        var details = new JsonObject
        {
            ["alignment"] = file.Alignment,
            ["data_offset"] = file.DataOffset,
            ["file_size"] = file.FileLength,
        };
        if (file.HasNestedArrays)
            details["warning"] = "metadata contains arrays of arrays: gguf-py reads them, llama.cpp cannot load this file";
        return new InspectionReport("gguf", file.Version, file.Path, metadata, ((IModelContainer)file).Tensors, false, details);
    }

    private static string TypeName(GgufValue v) => v.Raw is GgufArray a
        ? $"ARRAY[{GgufValueTypes.Name(a.ElementType)}]"
        : GgufValueTypes.Name(v.Type);
}
