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
        Assert.Contains("decoded from", r.Stdout); // the caption that says why Q4_K re-quantizes so well
        // Conversions: the lossless steps are bit-exact on every tensor.
        Assert.Contains("Q8_0 -> GPTQ 8-bit g32 (exact repack)", r.Stdout);
        Assert.Equal(4, r.Stdout.Split('\n').Count(l => l.Contains("21/21", StringComparison.Ordinal)));
        // Kernels: matvec and batch-8 matmul on real tensors of the Q4_K_M sample and the Q8_0 model, per backend.
        Assert.Contains("kernels: QuantizedMatrix.MatVec and MatMul on 6 weight tensors", r.Stdout);
        var kernelRows = r.Stdout.Split('\n').Where(l => l.Contains("cpu ", StringComparison.Ordinal) && l.Contains(".weight", StringComparison.Ordinal)).ToList();
        Assert.Equal(6, kernelRows.Count);
        // On AVX2 every one of the six (Q4_K, Q6_K, Q8_0) also runs on the 8-row interleaved layout.
        var interleavedRows = r.Stdout.Split('\n').Where(l => l.Contains("cpu, 8-row interleaved", StringComparison.Ordinal) && l.Contains(".weight", StringComparison.Ordinal)).ToList();
        Assert.Equal(System.Runtime.Intrinsics.X86.Avx2.IsSupported && System.Runtime.Intrinsics.X86.Fma.IsSupported ? 6 : 0, interleavedRows.Count);
        Assert.All(interleavedRows, l => Assert.Matches("Q4_K|Q6_K|Q8_0", l));
        Assert.Contains(kernelRows, l => l.Contains("tiny-llama-Q8_0.gguf", StringComparison.Ordinal) && l.Contains("Q8_0", StringComparison.Ordinal));
        Assert.Contains(kernelRows, l => l.Contains("blk.0.ffn_down.weight", StringComparison.Ordinal) && l.Contains("Q4_K", StringComparison.Ordinal));
        // The GPU backend (ILGPU; its CPU accelerator on a machine without a GPU) runs the same six tensors, labelled with its device.
        Assert.Matches(@"(?m)^  cpu: CPU, ", r.Stdout);
        Assert.Matches(@"(?m)^  gpu: ILGPU (CUDA|OpenCL|CPU accelerator): ", r.Stdout);
        var gpuRows = r.Stdout.Split('\n').Where(l => l.Contains("gpu", StringComparison.Ordinal) && l.Contains(".weight", StringComparison.Ordinal)).ToList();
        Assert.Equal(6, gpuRows.Count);
        Assert.Contains(gpuRows, l => l.Contains("output.weight", StringComparison.Ordinal) && l.Contains("Q6_K", StringComparison.Ordinal));
        var worst = System.Text.RegularExpressions.Regex.Match(r.Stdout, @"worst error ([0-9.e+-]+)");
        Assert.True(worst.Success);
        Assert.True(double.Parse(worst.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) < 1e-5, worst.Value);
        var bound = System.Text.RegularExpressions.Regex.Match(r.Stdout, @"integer kernels at most ([0-9.]+) of their int8-activation bound");
        Assert.True(bound.Success);
        Assert.True(double.Parse(bound.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) <= 1.0, bound.Value);
    }
}
