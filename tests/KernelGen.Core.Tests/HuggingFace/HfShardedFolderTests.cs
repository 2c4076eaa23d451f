using KernelGen.Containers.HuggingFace;
using KernelGen.Containers.Safetensors;
using KernelGen.Core.Tests.Safetensors;
using KernelGen.Errors;

namespace KernelGen.Core.Tests.HuggingFace;

/// <summary>
/// Sharded checkpoints built in the test (three shards + model.safetensors.index.json) open as one model, and every
/// way the index can disagree with the shards is either an error naming the index file or a warning.
/// </summary>
public sealed class HfShardedFolderTests : IDisposable
{
    private const string S1 = "model-00001-of-00003.safetensors", S2 = "model-00002-of-00003.safetensors", S3 = "model-00003-of-00003.safetensors";
    private const SafetensorsDType BF16 = SafetensorsDType.BF16, F32 = SafetensorsDType.F32;
    private readonly ScratchDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private string IndexPath => _dir.File("model.safetensors.index.json");

    /// <summary>Three shards: embed + layer 0 / layer 1 / norm + head. Total tensor bytes: 64 + 32 + 32 + 32 + 32 + 16 + 64 = 272.</summary>
    private void ThreeShards()
    {
        HfFolderBuilder.Shard(_dir.Path, S1, ("model.embed_tokens.weight", BF16, [8, 4]), ("model.layers.0.q.weight", BF16, [4, 4]));
        HfFolderBuilder.Shard(_dir.Path, S2, ("model.layers.0.k.weight", BF16, [4, 4]), ("model.layers.1.q.weight", BF16, [4, 4]), ("model.layers.1.k.weight", BF16, [4, 4]));
        HfFolderBuilder.Shard(_dir.Path, S3, ("model.norm.weight", F32, [4]), ("lm_head.weight", BF16, [8, 4]));
        HfFolderBuilder.Text(_dir.Path, "config.json", """{"model_type": "llama"}""");
    }

    private static readonly (string, string)[] WeightMap =
    [
        // Deliberately not in shard order: load order comes from the sorted shard names, not from this list.
        ("lm_head.weight", S3), ("model.embed_tokens.weight", S1), ("model.layers.1.k.weight", S2), ("model.layers.0.k.weight", S2),
        ("model.layers.0.q.weight", S1), ("model.layers.1.q.weight", S2), ("model.norm.weight", S3),
    ];

    [Fact]
    public void Opens_as_one_model()
    {
        ThreeShards();
        HfFolderBuilder.Index(_dir.Path, 272, WeightMap);
        using var folder = HfModelFolder.Open(_dir.Path);

        Assert.Equal([S1, S2, S3], folder.Shards.Select(s => Path.GetFileName(s.Path)));
        Assert.Equal([S1, S2, S3], folder.Index!.ShardFiles);
        Assert.Equal(272, folder.Index.TotalSize);
        Assert.Equal(7, folder.Index.WeightMap.Count);
        // Shard order, then each shard's own (size-then-name) order.
        Assert.Equal(
        [
            "model.embed_tokens.weight", "model.layers.0.q.weight", "model.layers.0.k.weight", "model.layers.1.k.weight",
            "model.layers.1.q.weight", "model.norm.weight", "lm_head.weight",
        ], folder.Tensors.Select(t => t.Name));
        Assert.All(folder.Tensors, t => Assert.True(Path.IsPathFullyQualified(t.File)));
        Assert.Equal(Path.Combine(folder.Path, S2), folder.Tensors.Single(t => t.Name == "model.layers.1.k.weight").File);

        var (file, tensor) = folder.Find("model.norm.weight")!.Value;
        Assert.Equal(S3, Path.GetFileName(file.Path));
        Assert.Equal(F32, tensor.DType);
        Assert.Equal(16, file.GetData(tensor).Length);
        Assert.Equal(CheckpointKind.Plain, folder.Checkpoint);
        Assert.Empty(folder.Warnings);
    }

    [Fact]
    public void Dispose_closes_every_shard()
    {
        ThreeShards();
        HfFolderBuilder.Index(_dir.Path, 272, WeightMap);
        var folder = HfModelFolder.Open(_dir.Path);
        var shard = folder.Shards[1];
        var tensor = shard.Tensors[0];
        folder.Dispose();
        Assert.Throws<ObjectDisposedException>(() => shard.GetData(tensor).Length);
    }

    private ModelFormatException Refused(string file, string because)
    {
        var e = Assert.Throws<ModelFormatException>(() => HfModelFolder.Open(_dir.Path).Dispose());
        Assert.Equal(file, e.FilePath);
        Assert.True(e.Message.Contains(because, StringComparison.Ordinal), $"expected \"{because}\" in: {e.Message}");
        return e;
    }

    [Fact]
    public void Index_naming_a_missing_shard()
    {
        ThreeShards();
        HfFolderBuilder.Index(_dir.Path, null, [.. WeightMap, ("extra.weight", "model-00004-of-00003.safetensors")]);
        Refused(IndexPath, "weight_map names shard 'model-00004-of-00003.safetensors', which is not in the folder");
    }

    [Fact]
    public void Index_naming_a_tensor_the_shard_lacks()
    {
        ThreeShards();
        HfFolderBuilder.Index(_dir.Path, null, [.. WeightMap, ("model.layers.2.q.weight", S2)]);
        Refused(IndexPath, $"weight_map puts tensor 'model.layers.2.q.weight' in '{S2}', which has no such tensor");
    }

    [Fact]
    public void Index_naming_the_wrong_shard()
    {
        ThreeShards();
        HfFolderBuilder.Index(_dir.Path, null, WeightMap.Select(e => e.Item1 == "model.norm.weight" ? (e.Item1, S1) : e).ToArray());
        Refused(IndexPath, $"weight_map puts tensor 'model.norm.weight' in '{S1}', but it is in '{S3}'");
    }

    [Fact]
    public void Tensor_in_two_shards()
    {
        ThreeShards();
        HfFolderBuilder.Shard(_dir.Path, S3, ("model.norm.weight", F32, [4]), ("lm_head.weight", BF16, [8, 4]), ("model.layers.0.q.weight", BF16, [4, 4]));
        HfFolderBuilder.Index(_dir.Path, null, WeightMap);
        Refused(IndexPath, $"tensor 'model.layers.0.q.weight' is in two shards, '{S1}' and '{S3}'");
    }

    [Fact]
    public void Tensor_in_two_files_without_an_index()
    {
        HfFolderBuilder.Shard(_dir.Path, "a.safetensors", ("w", BF16, [2]));
        HfFolderBuilder.Shard(_dir.Path, "b.safetensors", ("w", BF16, [2]));
        Refused(_dir.File("b.safetensors"), "tensor 'w' is in two shards, 'a.safetensors' and 'b.safetensors'");
    }

    [Theory]
    [InlineData("../outside.safetensors")]
    [InlineData("/etc/passwd")]
    [InlineData("..")]
    [InlineData("")]
    public void Index_pointing_outside_the_folder(string shard)
    {
        ThreeShards();
        HfFolderBuilder.Index(_dir.Path, null, [.. WeightMap, ("x", shard)]);
        Refused(IndexPath, "which is not a file name in the index's folder");
    }

    [Theory]
    [InlineData("""{"metadata": {"total_size": 1}}""", "no \"weight_map\" object")]
    [InlineData("""{"weight_map": []}""", "\"weight_map\" is array, not an object")]
    [InlineData("""{"weight_map": {"a": 1}}""", "weight_map entry 'a' is number, not a shard file name")]
    [InlineData("""{"weight_map": {"a": "x", "a": "y"}}""", "weight_map lists tensor 'a' twice")]
    [InlineData("""{"metadata": {"total_size": -5}, "weight_map": {}}""", "metadata.total_size is -5, not a non-negative integer")]
    [InlineData("""{"metadata": [], "weight_map": {}}""", "\"metadata\" is array, not an object")]
    [InlineData("""{"weight_map": {""", "not valid JSON")]
    public void Malformed_index(string content, string because)
    {
        ThreeShards();
        HfFolderBuilder.Text(_dir.Path, "model.safetensors.index.json", content);
        Refused(IndexPath, because);
    }

    [Fact]
    public void Float_total_size_is_accepted()
    {
        ThreeShards();
        HfFolderBuilder.Text(_dir.Path, "model.safetensors.index.json",
            "{\"metadata\": {\"total_size\": 272.0}, \"weight_map\": {" + string.Join(", ", WeightMap.Select(e => $"\"{e.Item1}\": \"{e.Item2}\"")) + "}}");
        using var folder = HfModelFolder.Open(_dir.Path);
        Assert.Equal(272, folder.Index!.TotalSize);
        Assert.Empty(folder.Warnings);
    }

    [Fact]
    public void Soft_disagreements_are_warnings()
    {
        ThreeShards();
        HfFolderBuilder.Index(_dir.Path, 999, WeightMap.Where(e => e.Item1 != "lm_head.weight").ToArray());
        using var folder = HfModelFolder.Open(_dir.Path);
        Assert.Equal(7, folder.Tensors.Count);
        Assert.Contains(folder.Warnings, w => w.Contains($"1 tensor(s) in the shards are not listed in model.safetensors.index.json (first: 'lm_head.weight' in '{S3}')"));
        Assert.Contains(folder.Warnings, w => w.Contains("declares total_size 999 but the shards hold 272 tensor bytes"));
    }

    [Fact]
    public void Corrupt_shard_is_reported_against_the_shard()
    {
        ThreeShards();
        HfFolderBuilder.Index(_dir.Path, 272, WeightMap);
        byte[] bytes = File.ReadAllBytes(_dir.File(S2));
        File.WriteAllBytes(_dir.File(S2), bytes[..^1]);
        Refused(_dir.File(S2), "file is truncated");
    }

    [Fact]
    public void Without_an_index_every_safetensors_file_is_a_shard_in_name_order()
    {
        HfFolderBuilder.Shard(_dir.Path, "b.safetensors", ("b.w", BF16, [2]));
        HfFolderBuilder.Shard(_dir.Path, "a.safetensors", ("a.w", BF16, [2]));
        HfFolderBuilder.Text(_dir.Path, "notes.safetensors.txt", "not weights");
        using var folder = HfModelFolder.Open(_dir.Path);
        Assert.Null(folder.Index);
        Assert.Equal(["a.safetensors", "b.safetensors"], folder.Shards.Select(s => Path.GetFileName(s.Path)));
        Assert.Equal(["a.w", "b.w"], folder.Tensors.Select(t => t.Name));
    }

    [Fact]
    public void Model_safetensors_alone_is_the_weights()
    {
        HfFolderBuilder.Shard(_dir.Path, "model.safetensors", ("w", BF16, [2]));
        HfFolderBuilder.Shard(_dir.Path, "extra.safetensors", ("other", BF16, [2]));
        using var folder = HfModelFolder.Open(_dir.Path);
        Assert.Equal(["w"], folder.Tensors.Select(t => t.Name));
    }

    [Fact]
    public void Another_index_name_is_used_when_it_is_the_only_one()
    {
        HfFolderBuilder.Shard(_dir.Path, "part-1.safetensors", ("w", BF16, [2]));
        HfFolderBuilder.Text(_dir.Path, "diffusion_pytorch_model.safetensors.index.json", """{"weight_map": {"w": "part-1.safetensors"}}""");
        using var folder = HfModelFolder.Open(_dir.Path);
        Assert.Equal("diffusion_pytorch_model.safetensors.index.json", Path.GetFileName(folder.Index!.Path));
    }

    [Fact]
    public void Folders_without_weights_are_refused()
    {
        HfFolderBuilder.Text(_dir.Path, "config.json", "{}");
        Assert.True(HfModelFolder.LooksLikeModelFolder(_dir.Path));
        Refused(_dir.Path, "no safetensors weights");
        var missing = Assert.Throws<ModelFormatException>(() => HfModelFolder.Open(_dir.File("absent")));
        Assert.Contains("not a directory", missing.Message);
    }

    [Fact]
    public void LooksLikeModelFolder_is_false_for_other_paths()
    {
        Assert.False(HfModelFolder.LooksLikeModelFolder(_dir.Path)); // empty
        Assert.False(HfModelFolder.LooksLikeModelFolder(_dir.File("absent")));
        string file = _dir.Write("model.safetensors", SafetensorsBytes.Sample());
        Assert.False(HfModelFolder.LooksLikeModelFolder(file));
        Assert.True(HfModelFolder.LooksLikeModelFolder(_dir.Path));
    }
}
