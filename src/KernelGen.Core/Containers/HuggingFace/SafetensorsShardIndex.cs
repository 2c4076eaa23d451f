using System.Text.Json;
using KernelGen.Errors;

namespace KernelGen.Containers.HuggingFace;

/// <summary>
/// A sharded checkpoint's <c>model.safetensors.index.json</c> (FORMATS.md §8.3): which shard file holds each tensor,
/// and the declared total of tensor bytes. Shard names must be plain file names in the index's folder, so an index
/// cannot point outside it.
/// </summary>
public sealed class SafetensorsShardIndex
{
    /// <summary>The standard index file name.</summary>
    public const string DefaultFileName = "model.safetensors.index.json";

    private SafetensorsShardIndex(string path, long? totalSize, IReadOnlyList<KeyValuePair<string, string>> weightMap)
    {
        Path = path;
        TotalSize = totalSize;
        WeightMap = weightMap;
        // The converter's order (FORMATS.md §8.3): sorted unique file names.
        ShardFiles = weightMap.Select(kv => kv.Value).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
    }

    /// <summary>The index file.</summary>
    public string Path { get; }

    /// <summary><c>metadata.total_size</c>: the sum of tensor byte sizes, when stated.</summary>
    public long? TotalSize { get; }

    /// <summary><c>weight_map</c> in file order: tensor name → shard file name.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> WeightMap { get; }

    /// <summary>The shard file names in load order: sorted, each once.</summary>
    public IReadOnlyList<string> ShardFiles { get; }

    /// <summary>Reads and checks an index file.</summary>
    public static SafetensorsShardIndex Load(string path)
    {
        using var document = HfJsonFile.LoadObject(path);
        var root = document.RootElement;
        long? totalSize = null;
        if (root.TryGetProperty("metadata", out var metadata) && metadata.ValueKind != JsonValueKind.Null)
        {
            if (metadata.ValueKind != JsonValueKind.Object)
                throw new ModelFormatException(path, null, $"\"metadata\" is {Kind(metadata)}, not an object");
            if (metadata.TryGetProperty("total_size", out var total) && total.ValueKind != JsonValueKind.Null)
                totalSize = ParseTotalSize(path, total);
        }
        if (!root.TryGetProperty("weight_map", out var map))
            throw new ModelFormatException(path, null, "no \"weight_map\" object");
        if (map.ValueKind != JsonValueKind.Object)
            throw new ModelFormatException(path, null, $"\"weight_map\" is {Kind(map)}, not an object");

        var entries = new List<KeyValuePair<string, string>>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var entry in map.EnumerateObject())
        {
            if (!seen.Add(entry.Name)) throw new ModelFormatException(path, null, $"weight_map lists tensor '{entry.Name}' twice");
            if (entry.Value.ValueKind != JsonValueKind.String)
                throw new ModelFormatException(path, null, $"weight_map entry '{entry.Name}' is {Kind(entry.Value)}, not a shard file name");
            string shard = entry.Value.GetString()!;
            if (!IsPlainFileName(shard))
                throw new ModelFormatException(path, null, $"weight_map entry '{entry.Name}' names '{shard}', which is not a file name in the index's folder");
            entries.Add(new(entry.Name, shard));
        }
        return new SafetensorsShardIndex(path, totalSize, entries);
    }

    /// <summary>Python writes total_size as an int, but some tools write a float; either must be a whole non-negative number.</summary>
    private static long ParseTotalSize(string path, JsonElement total)
    {
        if (total.ValueKind == JsonValueKind.Number)
        {
            if (total.TryGetInt64(out long n) && n >= 0) return n;
            if (total.TryGetDouble(out double d) && d >= 0 && d < 9.2e18 && Math.Floor(d) == d) return (long)d;
        }
        throw new ModelFormatException(path, null, $"metadata.total_size is {total.GetRawText()}, not a non-negative integer");
    }

    private static bool IsPlainFileName(string name) =>
        name.Length > 0 && name != "." && name != ".." && name.IndexOfAny(['/', '\\', '\0']) < 0 && !System.IO.Path.IsPathRooted(name);

    private static string Kind(JsonElement e) => e.ValueKind.ToString().ToLowerInvariant();
}
