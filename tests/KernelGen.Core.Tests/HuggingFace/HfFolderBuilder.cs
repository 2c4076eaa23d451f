using System.Text.Json;
using KernelGen.Containers.Safetensors;
using KernelGen.Core.Tests.Safetensors;
using KernelGen.IO;

namespace KernelGen.Core.Tests.HuggingFace;

/// <summary>Writes model folders for the tests: shards, an index, config files, copies of the vector files.</summary>
internal static class HfFolderBuilder
{
    /// <summary>A shard holding zero-filled tensors of the given dtypes and shapes.</summary>
    public static void Shard(string directory, string fileName, params (string Name, SafetensorsDType DType, long[] Shape)[] tensors)
    {
        var writer = new SafetensorsWriter();
        writer.AddMetadata("format", "pt");
        foreach (var (name, dtype, shape) in tensors)
            writer.AddTensor(name, dtype, shape, TensorDataSource.FromMemory(new byte[SafetensorsDTypes.ByteSize(dtype, shape)]));
        writer.WriteFile(Path.Combine(directory, fileName), overwrite: true);
    }

    /// <summary>model.safetensors.index.json with <paramref name="weightMap"/> in the given order.</summary>
    public static void Index(string directory, long? totalSize, params (string Tensor, string Shard)[] weightMap)
    {
        var map = weightMap.ToDictionary(e => e.Tensor, e => (object)e.Shard);
        var root = new Dictionary<string, object?> { ["weight_map"] = map };
        if (totalSize is long total) root["metadata"] = new Dictionary<string, object> { ["total_size"] = total };
        File.WriteAllText(Path.Combine(directory, "model.safetensors.index.json"), JsonSerializer.Serialize(root));
    }

    /// <summary>Writes a text file (config.json and the like).</summary>
    public static void Text(string directory, string fileName, string content) =>
        File.WriteAllText(Path.Combine(directory, fileName), content);

    /// <summary>Copies a vector file's tensors (and optionally its metadata) into <paramref name="destination"/>.</summary>
    public static void CopyTensors(string source, string destination, bool withMetadata)
    {
        using var file = SafetensorsFile.Open(source);
        var writer = new SafetensorsWriter();
        if (withMetadata)
            foreach (var (key, value) in file.Metadata) writer.AddMetadata(key, value);
        foreach (var t in file.Tensors)
            writer.AddTensor(t.Name, t.DType, t.Shape, TensorDataSource.FromStream(t.ByteSize, () => file.OpenData(t)));
        writer.WriteFile(destination, overwrite: true);
    }

    /// <summary>A vector folder's model.safetensors copied alone (no config files) into <paramref name="directory"/>.</summary>
    public static void CopyModelOnly(string vectorFolder, string directory, bool withMetadata) =>
        CopyTensors(Path.Combine(vectorFolder, "model.safetensors"), Path.Combine(directory, "model.safetensors"), withMetadata);

    /// <summary>Path of a vector folder under tests/data/vectors/quant.</summary>
    public static string Vector(string kind, string name) => SafetensorsTestData.Quant(kind, name);
}
