using System.Text.Json;
using KernelGen.Containers.Safetensors;
using KernelGen.Errors;

namespace KernelGen.Containers.HuggingFace;

/// <summary>
/// A Hugging Face model folder (FORMATS.md §8.4) opened as one model: <c>config.json</c> when present, and the
/// weights from <c>model.safetensors</c>, the shards of <c>model.safetensors.index.json</c>, or the folder's
/// <c>*.safetensors</c> files (see <see cref="Shards"/>). Every shard is memory-mapped and validated, the index is
/// checked against the shards, and the checkpoint's quantization (GPTQ, AWQ, BitNet) is detected from its config and
/// its tensors. Problems are <see cref="ModelFormatException"/>s naming the file at fault; softer inconsistencies are
/// collected in <see cref="Warnings"/>.
/// </summary>
public sealed class HfModelFolder : IModelContainer
{
    /// <summary>The model configuration file.</summary>
    public const string ConfigFileName = "config.json";

    /// <summary>AutoGPTQ's separate quantization settings file.</summary>
    public const string QuantizeConfigFileName = "quantize_config.json";

    private readonly SafetensorsFile[] _shards;
    private readonly HfTensorTable _table;
    private TensorEntry[]? _entries;

    private HfModelFolder(string path, JsonDocument? config, SafetensorsShardIndex? index, SafetensorsFile[] shards,
        HfTensorTable table, QuantizationInfo? quantization, IReadOnlyList<string> warnings)
    {
        Path = path;
        Config = config;
        Index = index;
        _shards = shards;
        _table = table;
        Quantization = quantization;
        Warnings = warnings;
    }

    /// <inheritdoc/>
    public ContainerKind Kind => ContainerKind.HfFolder;

    /// <summary>The folder's full path.</summary>
    public string Path { get; }

    /// <summary>A folder has no format version.</summary>
    int? IModelContainer.Version => null;

    /// <summary>The parsed <c>config.json</c>, or null when the folder has none.</summary>
    public JsonDocument? Config { get; }

    /// <summary>The shard index when the weights are sharded, else null.</summary>
    public SafetensorsShardIndex? Index { get; }

    /// <summary>The weight files in load order (index order for sharded checkpoints).</summary>
    public IReadOnlyList<SafetensorsFile> Shards => _shards;

    /// <summary>How the linear weights are stored; <see cref="CheckpointKind.Plain"/> when not quantized.</summary>
    public CheckpointKind Checkpoint => Quantization?.Kind ?? CheckpointKind.Plain;

    /// <summary>The quantization settings, or null for a plain checkpoint.</summary>
    public QuantizationInfo? Quantization { get; }

    /// <summary>Inconsistencies that do not stop the model from loading (e.g. config and tensors disagree).</summary>
    public IReadOnlyList<string> Warnings { get; }

    /// <summary>Every tensor, shard by shard in file order; <see cref="TensorEntry.File"/> is the shard's full path.</summary>
    public IReadOnlyList<TensorEntry> Tensors => _entries ??= _table.Entries
        .Select(e => new TensorEntry(e.Tensor.Name, e.Tensor.TypeName, e.Tensor.Shape, e.Tensor.AbsoluteOffset, e.Tensor.ByteSize, e.File.Path))
        .ToArray();

    /// <summary>The shard holding the tensor named <paramref name="name"/> and its entry, or null.</summary>
    public (SafetensorsFile File, SafetensorsTensorInfo Tensor)? Find(string name) => _table.Find(name);

    /// <summary>
    /// True when <paramref name="directory"/> is a folder with a <c>config.json</c> or safetensors weights (an index
    /// or <c>*.safetensors</c> files), i.e. something <see cref="Open"/> should be given rather than a single file.
    /// </summary>
    public static bool LooksLikeModelFolder(string directory)
    {
        try
        {
            return Directory.Exists(directory)
                && (File.Exists(System.IO.Path.Combine(directory, ConfigFileName)) || HfWeightFiles.HasWeights(directory));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return false;
        }
    }

    /// <summary>Opens and validates a model folder.</summary>
    public static HfModelFolder Open(string directory)
    {
        string path = System.IO.Path.GetFullPath(directory);
        if (!Directory.Exists(path)) throw new ModelFormatException(directory, null, "not a directory");
        var opened = new List<IDisposable>();
        try
        {
            var config = LoadIfPresent(path, ConfigFileName);
            if (config is not null) opened.Add(config);
            using var quantizeConfig = LoadIfPresent(path, QuantizeConfigFileName);
            var (index, files) = HfWeightFiles.Locate(path);
            var shards = new SafetensorsFile[files.Length];
            for (int i = 0; i < files.Length; i++)
            {
                shards[i] = SafetensorsFile.Open(files[i]);
                opened.Add(shards[i]);
            }
            var warnings = new List<string>();
            var table = HfTensorTable.Build(shards, index, warnings);
            var quantization = CheckpointDetection.Detect(path, config, quantizeConfig, shards, table.Entries, warnings);
            return new HfModelFolder(path, config, index, shards, table, quantization, warnings);
        }
        catch
        {
            foreach (var d in opened) d.Dispose();
            throw;
        }
    }

    private static JsonDocument? LoadIfPresent(string directory, string fileName)
    {
        string file = System.IO.Path.Combine(directory, fileName);
        return File.Exists(file) ? HfJsonFile.LoadObject(file) : null;
    }

    /// <summary>Closes every shard and the parsed config.</summary>
    public void Dispose()
    {
        foreach (var shard in _shards) shard.Dispose();
        Config?.Dispose();
    }
}
