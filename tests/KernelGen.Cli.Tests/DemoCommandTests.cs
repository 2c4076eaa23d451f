namespace KernelGen.Tests.Cli;

/// <summary><c>kernelgen demo</c> runs on its embedded sample with no arguments and no files.</summary>
public class DemoCommandTests
{
    [Fact]
    public void DemoSummarisesTheEmbeddedSample()
    {
        var r = CliHarness.Run("demo");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("tiny-llama-Q4_K_M.gguf", r.Stdout);
        Assert.Contains("21 tensors", r.Stdout);
        Assert.Contains("architecture: llama", r.Stdout);
        Assert.Contains("Q4_K", r.Stdout);
        Assert.True(r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length >= 3);
        // Quantization round trips of the sample's matrices, one row per format.
        Assert.Contains("IQ4_XS", r.Stdout);
        Assert.Contains("TQ2_0", r.Stdout);
        // Conversions: the lossless steps are bit-exact on every tensor.
        Assert.Contains("Q8_0 -> GPTQ 8-bit g32 (exact repack)", r.Stdout);
        Assert.Equal(4, r.Stdout.Split('\n').Count(l => l.Contains("21/21", StringComparison.Ordinal)));
    }
}
