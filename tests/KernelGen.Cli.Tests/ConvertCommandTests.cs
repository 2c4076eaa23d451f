using KernelGen.Tests.Infrastructure;

namespace KernelGen.Tests.Cli;

/// <summary><c>kernelgen convert</c> from the command line: output, progress lines, refusals before anything is written.</summary>
public class ConvertCommandTests
{
    [Fact]
    public void RequantizesAndReportsProgressAndErrors()
    {
        using var dir = new TempDir();
        var r = CliHarness.Run("convert", RepoPaths.Model("tiny-llama-f32.gguf"), dir.File("q.gguf"), "--type", "Q4_K_M", "--threads", "2");
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Equal(File.ReadAllBytes(RepoPaths.Model("tiny-llama-Q4_K_M.gguf")), File.ReadAllBytes(dir.File("q.gguf")));
        Assert.Contains("[1/21] output.weight F32 -> Q6_K", r.Stderr); // not a terminal: one line per tensor
        Assert.Contains("21 tensors (16 converted, 5 copied)", r.Stdout);
        Assert.Contains("blk.1.ffn_down.weight", r.Stdout);
        Assert.Single(Directory.GetFileSystemEntries(dir.Path));
    }

    [Fact]
    public void QuietPrintsNothing()
    {
        using var dir = new TempDir();
        var r = CliHarness.Run("convert", RepoPaths.Model("tiny-llama-f32.gguf"), dir.File("q.gguf"), "--type", "TQ2_0", "--pure", "--quiet");
        Assert.Equal(0, r.ExitCode);
        Assert.Equal("", r.Stdout + r.Stderr);
    }

    [Fact]
    public void RefusesBeforeWriting()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("exists.gguf"), "keep");
        var cases = new[]
        {
            (new[] { "convert", RepoPaths.Model("tiny-llama-f32.gguf"), dir.File("exists.gguf"), "--type", "Q4_0" }, "already exists"),
            (new[] { "convert", RepoPaths.Model("tiny-llama-f32.gguf"), dir.File("a.gguf"), "--type", "Q9_X" }, "unknown --type 'Q9_X'"),
            (new[] { "convert", RepoPaths.Model("tiny-llama-f32.gguf"), dir.File("a.gguf") }, "--type is required"),
            (new[] { "convert", "/nonexistent.gguf", dir.File("a.gguf"), "--type", "Q4_0" }, "no such file"),
        };
        foreach (var (args, message) in cases)
        {
            var r = CliHarness.Run(args);
            Assert.Equal(2, r.ExitCode);
            Assert.Contains(message, r.Stderr);
            Assert.Single(r.StderrLines);
        }
        Assert.Equal("keep", File.ReadAllText(dir.File("exists.gguf")));
        Assert.Single(Directory.GetFileSystemEntries(dir.Path));
    }
}

/// <summary>A lone safetensors file converts as the model folder it belongs to.</summary>
public class SafetensorsFileInputTests
{
    [Fact]
    public void SafetensorsFileConvertsWithItsFolder()
    {
        using var dir = new TempDir();
        string layer = Path.Combine(RepoPaths.TestData, "vectors", "quant", "gptq", "gptq_b4_g128_asym_act0_512x128");
        var r = CliHarness.Run("convert", Path.Combine(layer, "model.safetensors"), dir.File("g.gguf"), "--quiet");
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Equal(0, CliHarness.Run("verify", layer, dir.File("g.gguf"), "--tolerance", "0.1").ExitCode); // asymmetric GPTQ: lossy, lowest-error 4-bit type
        var refusal = CliHarness.Run("convert", Path.Combine(layer, "reference.safetensors"), dir.File("r.gguf"), "--quiet");
        Assert.Equal(2, refusal.ExitCode);
        Assert.Contains("convert the folder", refusal.Stderr);
    }
}

/// <summary>A broken companion file (tokenizer) is bad input, reported in one line with exit code 2.</summary>
public class BrokenCompanionFileTests
{
    [Fact]
    public void CorruptTokenizerModelIsBadInput()
    {
        using var dir = new TempDir();
        Assert.Equal(0, CliHarness.Run("convert", RepoPaths.Model("tiny-llama-f32.gguf"), dir.File("hf"), "--to", "hf", "--quiet").ExitCode);
        File.WriteAllBytes(dir.File("hf/tokenizer.model"), [0x0A, 0xFF, 0xFF, 0xFF]); // a field that runs past the end
        var r = CliHarness.Run("convert", dir.File("hf"), dir.File("o.gguf"), "--quiet");
        Assert.Equal(2, r.ExitCode);
        Assert.Single(r.StderrLines);
        Assert.Contains("tokenizer.model", r.Stderr);
        Assert.False(File.Exists(dir.File("o.gguf")));
    }
}
