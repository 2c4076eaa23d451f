using System.Security.Cryptography;
using KernelGen.Containers.Gguf;
using KernelGen.Formats;
using KernelGen.Tests.Infrastructure;

namespace KernelGen.Tests.Gguf;

/// <summary>Reading real GGUF files written by llama.cpp's tools, checked against their manifests and FORMATS.md.</summary>
public class GgufReaderTests
{
    [Fact]
    public void TinyLlamaQ4KM_HeaderMatchesFormatsDoc()
    {
        using var f = GgufFile.Open(RepoPaths.Model("tiny-llama-Q4_K_M.gguf"));
        Assert.Equal(3, f.Version);
        Assert.Equal(21, f.Tensors.Count);
        Assert.Equal(32u, f.Alignment);
        // FORMATS.md §1.6 worked example: tensor infos end at 7891, data starts at 7904.
        Assert.Equal(7891, f.HeaderEnd);
        Assert.Equal(7904, f.DataOffset);
        Assert.Equal("llama", f.Metadata.GetString("general.architecture"));
        Assert.Equal(2u, (uint)f.Metadata["llama.block_count"].Raw);
        Assert.Equal(256u, (uint)f.Metadata["llama.embedding_length"].Raw);
        Assert.Equal(512u, (uint)f.Metadata["llama.feed_forward_length"].Raw);
        Assert.Equal(4u, (uint)f.Metadata["llama.attention.head_count"].Raw);
        Assert.Equal(2u, (uint)f.Metadata["llama.attention.head_count_kv"].Raw);
        Assert.Equal(1e-5f, (float)f.Metadata["llama.attention.layer_norm_rms_epsilon"].Raw);
        Assert.Equal("llama", f.Metadata.GetString("tokenizer.ggml.model"));
        var tokens = f.Metadata["tokenizer.ggml.tokens"].AsArray();
        Assert.Equal(GgufValueType.String, tokens.ElementType);
        Assert.Equal(256, tokens.Count);
        Assert.Equal("<unk>", tokens[0].AsString());
        Assert.Equal("<s>", tokens[1].AsString());
        Assert.Equal("<0x00>", tokens[3].AsString());
        var types = (int[])f.Metadata["tokenizer.ggml.token_type"].AsArray().Items;
        Assert.Equal([2, 3, 3, 6], types[..4]);
        Assert.True(f.Metadata["tokenizer.ggml.add_bos_token"].AsBool());
        // llama-quantize moves these two keys to the end (FORMATS.md §2.2).
        Assert.Equal("general.quantization_version", f.Metadata[f.Metadata.Count - 2].Key);
        Assert.Equal("general.file_type", f.Metadata[f.Metadata.Count - 1].Key);
        Assert.Equal(15u, (uint)f.Metadata["general.file_type"].Raw);

        var output = f.Tensors[0];
        Assert.Equal("output.weight", output.Name);
        Assert.Equal(GgmlType.Q6_K, (GgmlType)output.TypeId);
        Assert.Equal([256L, 256L], output.Ne);
        Assert.Equal([256L, 256L], output.Shape);
        Assert.Equal(7904, output.AbsoluteOffset);
        Assert.Equal(256 / 256 * 210 * 256, output.ByteSize);
        var ffnDown = f.Find("blk.1.ffn_down.weight")!;
        Assert.Equal("Q6_K", ffnDown.TypeName);
        Assert.Equal([512L, 256L], ffnDown.Ne);
        Assert.Equal([256L, 512L], ffnDown.Shape);
        Assert.Equal("F32", f.Find("output_norm.weight")!.TypeName);
        Assert.Equal(13, f.Tensors.Count(t => t.TypeName == "Q4_K"));
        Assert.Equal(3, f.Tensors.Count(t => t.TypeName == "Q6_K"));
    }

    public static TheoryData<string> RepoModels => new() { "tiny-llama-f32", "tiny-llama-Q8_0", "tiny-llama-Q4_K_M" };

    [Theory]
    [MemberData(nameof(RepoModels))]
    public void EveryTensorMatchesItsManifest(string stem)
    {
        using var f = GgufFile.Open(RepoPaths.Model(stem + ".gguf"));
        AssertMatchesManifest(f, Manifest.ReadModel(RepoPaths.Model(stem + ".manifest.json")));
    }

    [Fact]
    public void QuantizeOutputsInShared_MatchTheirManifest()
    {
        if (RepoPaths.Shared is not string shared) return; // fresh clone: the 17 files live only in ../shared
        var manifest = Manifest.ReadQuantize(Path.Combine(shared, "models", "quantize", "manifest.json"));
        Assert.Equal(17, manifest.Count);
        foreach (var (file, tensors) in manifest)
        {
            using var f = GgufFile.Open(Path.Combine(shared, "models", "quantize", file));
            AssertMatchesManifest(f, tensors);
        }
    }

    [Fact]
    public void VocabOnlyFilesInShared_Open()
    {
        if (RepoPaths.Shared is not string shared) return; // upstream's files are used in place, never copied
        var files = Directory.GetFiles(Path.Combine(shared, "models", "vocab"), "*.gguf");
        Assert.Equal(5, files.Length);
        foreach (string path in files)
        {
            using var f = GgufFile.Open(path);
            Assert.Empty(f.Tensors);
            Assert.True(f.Metadata["tokenizer.ggml.tokens"].AsArray().Count > 1000, path);
            Assert.NotNull(f.Metadata.GetString("tokenizer.ggml.model"));
        }
        using var spm = GgufFile.Open(Path.Combine(shared, "models", "vocab", "ggml-vocab-llama-spm.gguf"));
        Assert.Equal("llama", spm.Metadata.GetString("tokenizer.ggml.model"));
        Assert.Equal(32000, spm.Metadata["tokenizer.ggml.tokens"].AsArray().Count);
        Assert.Equal(32000, spm.Metadata["tokenizer.ggml.scores"].AsArray().Count);
    }

    private static void AssertMatchesManifest(GgufFile f, IReadOnlyList<ManifestTensor> manifest)
    {
        Assert.Equal(manifest.Count, f.Tensors.Count);
        for (int i = 0; i < manifest.Count; i++)
        {
            var want = manifest[i];
            var got = f.Tensors[i];
            Assert.Equal(want.Name, got.Name);
            Assert.Equal(want.Type, got.TypeName);
            Assert.Equal(want.Ne, got.Ne);
            Assert.Equal(want.DataOffset, got.AbsoluteOffset);
            Assert.Equal(want.Bytes, got.ByteSize);
            Assert.Equal(want.Sha256Raw, Convert.ToHexStringLower(SHA256.HashData(f.GetData(got))));
        }
    }
}
