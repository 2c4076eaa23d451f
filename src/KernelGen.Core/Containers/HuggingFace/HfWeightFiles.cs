using KernelGen.Errors;

namespace KernelGen.Containers.HuggingFace;

/// <summary>
/// Decides which safetensors files hold a folder's weights, in load order: the shards of
/// <c>model.safetensors.index.json</c> (sorted unique names, FORMATS.md §8.3); else <c>model.safetensors</c> alone
/// (other files beside it, such as reference data, are not weights); else the shards of the folder's only
/// <c>*.safetensors.index.json</c>; else every <c>*.safetensors</c> file in ordinal name order.
/// </summary>
internal static class HfWeightFiles
{
    /// <summary>The file name of an unsharded checkpoint.</summary>
    public const string SingleFileName = "model.safetensors";

    private const string WeightsPattern = "*.safetensors", IndexPattern = "*.safetensors.index.json";

    /// <summary>The index (when the weights are sharded) and the full paths of the weight files.</summary>
    public static (SafetensorsShardIndex? Index, string[] Files) Locate(string directory)
    {
        try
        {
            string index = Path.Combine(directory, SafetensorsShardIndex.DefaultFileName);
            if (File.Exists(index)) return FromIndex(directory, index);
            string single = Path.Combine(directory, SingleFileName);
            if (File.Exists(single)) return (null, [single]);
            string[] indexes = Files(directory, IndexPattern);
            if (indexes.Length > 1)
                throw new ModelFormatException(directory, null,
                    $"{indexes.Length} *.safetensors.index.json files and no {SafetensorsShardIndex.DefaultFileName}: cannot tell which describes the model");
            if (indexes.Length == 1) return FromIndex(directory, indexes[0]);
            string[] weights = Files(directory, WeightsPattern);
            return weights.Length > 0
                ? (null, weights)
                : throw new ModelFormatException(directory, null,
                    $"no safetensors weights: expected {SingleFileName}, {SafetensorsShardIndex.DefaultFileName} or *.safetensors files");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ModelFormatException(directory, null, $"cannot list the folder: {e.Message}", e);
        }
    }

    /// <summary>True when the folder holds anything <see cref="Locate"/> would accept.</summary>
    public static bool HasWeights(string directory) =>
        Files(directory, WeightsPattern).Length > 0 || Files(directory, IndexPattern).Length > 0;

    private static (SafetensorsShardIndex, string[]) FromIndex(string directory, string indexPath)
    {
        var index = SafetensorsShardIndex.Load(indexPath);
        var files = new string[index.ShardFiles.Count];
        for (int i = 0; i < files.Length; i++)
        {
            files[i] = Path.Combine(directory, index.ShardFiles[i]);
            if (!File.Exists(files[i]))
                throw new ModelFormatException(indexPath, null, $"weight_map names shard '{index.ShardFiles[i]}', which is not in the folder");
        }
        return (index, files);
    }

    /// <summary>Files whose names end exactly with the pattern's suffix (Windows patterns also match longer extensions).</summary>
    private static string[] Files(string directory, string pattern) =>
        Directory.GetFiles(directory, pattern)
            .Where(f => f.EndsWith(pattern[1..], StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .ToArray();
}
