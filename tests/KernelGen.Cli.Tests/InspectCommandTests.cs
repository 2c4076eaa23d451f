using System.Text.Json;
using KernelGen.Tests.Infrastructure;

namespace KernelGen.Tests.Cli;

/// <summary><c>kernelgen inspect</c>: the JSON schema against independent facts, and the table view.</summary>
public class InspectCommandTests
{
    public static TheoryData<string> Models => new() { "tiny-llama-f32", "tiny-llama-Q8_0", "tiny-llama-Q4_K_M" };

    [Theory]
    [MemberData(nameof(Models))]
    public void JsonMatchesTheManifest(string stem)
    {
        var r = CliHarness.Run("inspect", RepoPaths.Model(stem + ".gguf"), "--json");
        Assert.Equal(0, r.ExitCode);
        using var doc = JsonDocument.Parse(r.Stdout);
        var root = doc.RootElement;
        Assert.Equal("gguf", root.GetProperty("format").GetString());
        Assert.Equal(3, root.GetProperty("version").GetInt32());
        var tensors = root.GetProperty("tensors").EnumerateArray().ToList();
        var manifest = Manifest.ReadModel(RepoPaths.Model(stem + ".manifest.json"));
        Assert.Equal(manifest.Count, tensors.Count);
        for (int i = 0; i < manifest.Count; i++)
        {
            var t = tensors[i];
            Assert.Equal(manifest[i].Name, t.GetProperty("name").GetString());
            Assert.Equal(manifest[i].Type, t.GetProperty("type").GetString());
            Assert.Equal(manifest[i].Ne.Reverse(), t.GetProperty("shape").EnumerateArray().Select(x => x.GetInt64()));
            Assert.Equal(manifest[i].DataOffset, t.GetProperty("offset").GetInt64());
            Assert.Equal(manifest[i].Bytes, t.GetProperty("bytes").GetInt64());
            Assert.False(t.TryGetProperty("file", out _));
        }
        var md = root.GetProperty("metadata");
        Assert.Equal("llama", md.GetProperty("general.architecture").GetString());
        Assert.Equal(2, md.GetProperty("llama.block_count").GetInt32());
        Assert.Equal((double)1e-5f, md.GetProperty("llama.attention.layer_norm_rms_epsilon").GetDouble());
        Assert.True(md.GetProperty("tokenizer.ggml.add_bos_token").GetBoolean());
        var tokens = md.GetProperty("tokenizer.ggml.tokens");
        Assert.Equal("STRING", tokens.GetProperty("array_type").GetString());
        Assert.Equal(256, tokens.GetProperty("count").GetInt32());
        Assert.Equal("<unk>", tokens.GetProperty("head")[0].GetString());
        Assert.Equal("ARRAY[STRING]", root.GetProperty("metadata_types").GetProperty("tokenizer.ggml.tokens").GetString());
        var totals = root.GetProperty("totals");
        Assert.Equal(manifest.Count, totals.GetProperty("tensors").GetInt32());
        Assert.Equal(manifest.Sum(t => t.Bytes), totals.GetProperty("bytes").GetInt64());
        Assert.Equal(manifest.Sum(t => t.Ne.Aggregate(1L, (a, b) => a * b)), totals.GetProperty("parameters").GetInt64());
    }

    [Fact]
    public void FullArraysPrintsEveryElement()
    {
        var r = CliHarness.Run("inspect", RepoPaths.Model("tiny-llama-Q8_0.gguf"), "--json", "--full-arrays");
        using var doc = JsonDocument.Parse(r.Stdout);
        var tokens = doc.RootElement.GetProperty("metadata").GetProperty("tokenizer.ggml.tokens");
        Assert.Equal(JsonValueKind.Array, tokens.ValueKind);
        Assert.Equal(256, tokens.GetArrayLength());
        Assert.Equal("<0xFC>", tokens[255].GetString());
    }

    [Fact]
    public void TableViewShowsSummaryMetadataAndTensors()
    {
        var r = CliHarness.Run("inspect", RepoPaths.Model("tiny-llama-Q4_K_M.gguf"));
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("gguf v3", r.Stdout);
        Assert.Contains("general.architecture", r.Stdout);
        Assert.Contains("[STRING x 256] <unk>, <s>, </s>", r.Stdout);
        Assert.Contains("blk.1.ffn_down.weight", r.Stdout);
        Assert.Contains("Q6_K", r.Stdout);
        Assert.Contains("1,312,000", r.Stdout); // parameters: the sum of the manifest's element counts
    }

    [Fact]
    public void SafetensorsFileReportsDtypesAndMetadata()
    {
        string file = Path.Combine(RepoPaths.TestData, "vectors", "quant", "gptq", "gptq_b3_g128_asym_act0_512x128", "model.safetensors");
        var r = CliHarness.Run("inspect", file, "--json");
        Assert.Equal(0, r.ExitCode);
        using var doc = JsonDocument.Parse(r.Stdout);
        var root = doc.RootElement;
        Assert.Equal("safetensors", root.GetProperty("format").GetString());
        Assert.Equal(JsonValueKind.Null, root.GetProperty("version").ValueKind);
        Assert.Equal("3", root.GetProperty("metadata").GetProperty("gptq_bits").GetString());
        var qweight = root.GetProperty("tensors").EnumerateArray().Single(t => t.GetProperty("name").GetString() == "model.layers.0.self_attn.q_proj.qweight");
        Assert.Equal("I32", qweight.GetProperty("type").GetString());
        Assert.Equal([48L, 128L], qweight.GetProperty("shape").EnumerateArray().Select(x => x.GetInt64()));
        Assert.Equal(48 * 128 * 4, qweight.GetProperty("bytes").GetInt64());
    }

    [Fact]
    public void FolderReportsCheckpointKindAndTensorFiles()
    {
        string dir = Path.Combine(RepoPaths.TestData, "vectors", "quant", "awq", "awq_gemm_b4_g128_512x256");
        var r = CliHarness.Run("inspect", dir, "--json");
        Assert.Equal(0, r.ExitCode);
        using var doc = JsonDocument.Parse(r.Stdout);
        var root = doc.RootElement;
        Assert.Equal("hf-folder", root.GetProperty("format").GetString());
        Assert.Equal("awq", root.GetProperty("details").GetProperty("checkpoint").GetString());
        Assert.Equal(128, root.GetProperty("details").GetProperty("quantization").GetProperty("group_size").GetInt32());
        Assert.All(root.GetProperty("tensors").EnumerateArray(), t => Assert.Equal("model.safetensors", t.GetProperty("file").GetString()));
        Assert.Equal("awq", root.GetProperty("metadata").GetProperty("config").GetProperty("quantization_config").GetProperty("quant_method").GetString());
    }

    [Fact]
    public void MissingPathIsBadInput()
    {
        var r = CliHarness.Run("inspect", "/nonexistent/model.gguf");
        Assert.Equal(2, r.ExitCode);
        Assert.Single(r.StderrLines);
        Assert.Contains("/nonexistent/model.gguf", r.Stderr);
    }

    [Fact]
    public void UnknownOptionIsAUsageError()
    {
        var r = CliHarness.Run("inspect", "--bogus");
        Assert.Equal(2, r.ExitCode);
    }
}
