using System.Text.Json;
using KernelGen.Tests.Infrastructure;

namespace KernelGen.Tests.Cli;

/// <summary><c>kernelgen verify</c> and the safetensors/HF exports it checks.</summary>
public class VerifyCommandTests
{
    [Fact]
    public void ExportedHuggingFaceFolderIsBitExactToItsGguf()
    {
        using var dir = new TempDir();
        string model = RepoPaths.Model("tiny-llama-Q4_K_M.gguf");
        Assert.Equal(0, CliHarness.Run("convert", model, dir.File("hf"), "--to", "hf", "--quiet").ExitCode);
        Assert.True(File.Exists(dir.File("hf/config.json")));
        var r = CliHarness.Run("verify", model, dir.File("hf"));
        Assert.True(r.ExitCode == 0, r.Stdout + r.Stderr);
        Assert.Contains("21 tensors compared: 21 bit-exact", r.Stdout);
        // And back to GGUF: the HF names and the un-permuted Q/K rows map back onto the original tensors.
        Assert.Equal(0, CliHarness.Run("convert", dir.File("hf"), dir.File("back.gguf"), "--type", "F32", "--quiet").ExitCode);
        Assert.Equal(0, CliHarness.Run("verify", model, dir.File("back.gguf")).ExitCode);
    }

    [Fact]
    public void ToleranceDecidesTheExitCode()
    {
        string f32 = RepoPaths.Model("tiny-llama-f32.gguf"), q8 = RepoPaths.Model("tiny-llama-Q8_0.gguf");
        Assert.Equal(1, CliHarness.Run("verify", f32, q8).ExitCode);
        var r = CliHarness.Run("verify", f32, q8, "--tolerance", "0.01", "--json");
        Assert.Equal(0, r.ExitCode);
        using var doc = JsonDocument.Parse(r.Stdout);
        Assert.True(doc.RootElement.GetProperty("passed").GetBoolean());
        var tensors = doc.RootElement.GetProperty("tensors").EnumerateArray().ToList();
        Assert.Equal(21, tensors.Count);
        Assert.Equal(5, tensors.Count(t => t.GetProperty("bit_exact").GetBoolean())); // the F32 norms
        Assert.All(tensors, t => Assert.True(t.GetProperty("relative").GetDouble() < 0.01));
    }

    [Fact]
    public void SafetensorsExportHonoursTheDtype()
    {
        using var dir = new TempDir();
        string layer = Path.Combine(RepoPaths.TestData, "vectors", "quant", "gptq", "gptq_b4_g128_asym_act1_512x128");
        Assert.Equal(0, CliHarness.Run("convert", layer, dir.File("w.safetensors"), "--type", "BF16", "--quiet").ExitCode);
        using var st = KernelGen.Containers.Safetensors.SafetensorsFile.Open(dir.File("w.safetensors"));
        var w = st.Find("model.layers.0.self_attn.q_proj.weight")!;
        Assert.Equal("BF16", w.TypeName);
        Assert.Equal([128L, 512L], w.Shape);
        var r = CliHarness.Run("verify", layer, dir.File("w.safetensors"), "--tolerance", "0.01");
        Assert.True(r.ExitCode == 0, r.Stdout);
        Assert.Equal(2, CliHarness.Run("convert", layer, dir.File("x.safetensors"), "--type", "Q4_0").ExitCode);
    }

    [Fact]
    public void Bf16HuggingFaceFoldersConvertToBf16GgufByDefault()
    {
        using var dir = new TempDir();
        Assert.Equal(0, CliHarness.Run("convert", RepoPaths.Model("tiny-llama-f32.gguf"), dir.File("hf"), "--to", "hf", "--type", "BF16", "--quiet").ExitCode);
        Assert.Equal(0, CliHarness.Run("convert", dir.File("hf"), dir.File("b.gguf"), "--quiet").ExitCode);
        using (var g = KernelGen.Containers.Gguf.GgufFile.Open(dir.File("b.gguf")))
        {
            Assert.Equal(16, g.Tensors.Count(t => t.TypeName == "BF16"));
            Assert.Equal(5, g.Tensors.Count(t => t.TypeName == "F32"));
        }
        var r = CliHarness.Run("verify", dir.File("hf"), dir.File("b.gguf"));
        Assert.True(r.ExitCode == 0, r.Stdout);
    }
}
