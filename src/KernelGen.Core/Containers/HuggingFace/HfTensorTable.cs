using KernelGen.Containers.Safetensors;
using KernelGen.Errors;

namespace KernelGen.Containers.HuggingFace;

/// <summary>
/// Every tensor of a folder's shards, in shard order then file order, with a by-name lookup, checked for
/// consistency: a name may live in one shard only, and when there is an index each <c>weight_map</c> entry must name
/// the shard that really holds the tensor. Softer disagreements (tensors the index does not list, a
/// <c>total_size</c> that does not add up) are recorded as warnings: loaders tolerate them.
/// </summary>
internal sealed class HfTensorTable
{
    private readonly Dictionary<string, (SafetensorsFile File, SafetensorsTensorInfo Tensor)> _byName;

    private HfTensorTable(List<(SafetensorsFile, SafetensorsTensorInfo)> entries, Dictionary<string, (SafetensorsFile, SafetensorsTensorInfo)> byName)
    {
        Entries = entries;
        _byName = byName;
    }

    /// <summary>All tensors in load order.</summary>
    public IReadOnlyList<(SafetensorsFile File, SafetensorsTensorInfo Tensor)> Entries { get; }

    /// <summary>The shard and entry of the tensor named <paramref name="name"/>.</summary>
    public (SafetensorsFile File, SafetensorsTensorInfo Tensor)? Find(string name) =>
        _byName.TryGetValue(name, out var entry) ? entry : null;

    /// <summary>Builds the table; <paramref name="warnings"/> receives the soft problems.</summary>
    public static HfTensorTable Build(IReadOnlyList<SafetensorsFile> shards, SafetensorsShardIndex? index, List<string> warnings)
    {
        var entries = new List<(SafetensorsFile, SafetensorsTensorInfo)>();
        var byName = new Dictionary<string, (SafetensorsFile File, SafetensorsTensorInfo Tensor)>(StringComparer.Ordinal);
        foreach (var shard in shards)
        {
            foreach (var tensor in shard.Tensors)
            {
                if (byName.TryGetValue(tensor.Name, out var first))
                    throw new ModelFormatException(index?.Path ?? shard.Path, null,
                        $"tensor '{tensor.Name}' is in two shards, '{FileName(first.File)}' and '{FileName(shard)}'");
                byName.Add(tensor.Name, (shard, tensor));
                entries.Add((shard, tensor));
            }
        }
        if (index is not null) CheckIndex(index, byName, entries, warnings);
        return new HfTensorTable(entries, byName);
    }

    private static void CheckIndex(SafetensorsShardIndex index, Dictionary<string, (SafetensorsFile File, SafetensorsTensorInfo Tensor)> byName,
        List<(SafetensorsFile File, SafetensorsTensorInfo Tensor)> entries, List<string> warnings)
    {
        var listed = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, shard) in index.WeightMap)
        {
            listed.Add(name);
            if (!byName.TryGetValue(name, out var entry))
                throw new ModelFormatException(index.Path, null, $"weight_map puts tensor '{name}' in '{shard}', which has no such tensor");
            if (FileName(entry.File) != shard)
                throw new ModelFormatException(index.Path, null, $"weight_map puts tensor '{name}' in '{shard}', but it is in '{FileName(entry.File)}'");
        }
        var unlisted = entries.Where(e => !listed.Contains(e.Tensor.Name)).ToArray();
        if (unlisted.Length > 0)
            warnings.Add($"{unlisted.Length} tensor(s) in the shards are not listed in {FileName(index.Path)} (first: '{unlisted[0].Tensor.Name}' in '{FileName(unlisted[0].File)}')");
        long bytes = entries.Sum(e => e.Tensor.ByteSize);
        if (index.TotalSize is long total && total != bytes)
            warnings.Add($"{FileName(index.Path)} declares total_size {total} but the shards hold {bytes} tensor bytes");
    }

    private static string FileName(SafetensorsFile file) => FileName(file.Path);

    private static string FileName(string path) => Path.GetFileName(path);
}
