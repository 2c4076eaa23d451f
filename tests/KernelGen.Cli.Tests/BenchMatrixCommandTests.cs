using System.Text.Json;
using KernelGen.Cli.Benchmarks;

namespace KernelGen.Tests.Cli;

/// <summary>
/// <c>kernelgen bench matvec|matmul</c> as a real process: the JSON object the acceptance check parses, sane figures on
/// small shapes, and one-line usage errors with exit code 2.
/// </summary>
public class BenchMatrixCommandTests
{
    private static JsonElement RunJson(params string[] args) => RunJson(null, args);

    private static JsonElement RunJson(IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        var r = CliHarness.RunProcess(environment, args);
        Assert.True(r.ExitCode == 0, $"exit {r.ExitCode}: {r.Stderr}");
        // Exactly one JSON object on stdout; progress goes to stderr.
        string stdout = r.Stdout.Trim();
        Assert.StartsWith("{", stdout, StringComparison.Ordinal);
        Assert.Single(stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        return JsonDocument.Parse(stdout).RootElement.Clone();
    }

    private static void AssertSane(JsonElement o, string format, int k, int n, int batch, int threads, string backend = "cpu", double maxError = 1e-5)
    {
        Assert.Equal(format, o.GetProperty("format").GetString());
        Assert.Equal(k, o.GetProperty("k").GetInt32());
        Assert.Equal(n, o.GetProperty("n").GetInt32());
        Assert.Equal(batch, o.GetProperty("batch").GetInt32());
        Assert.Equal(threads, o.GetProperty("threads").GetInt32());
        Assert.Equal(backend, o.GetProperty("backend").GetString());
        double seconds = o.GetProperty("seconds_per_call").GetDouble();
        Assert.True(seconds > 0 && seconds < 10, $"seconds_per_call {seconds}");
        Assert.True(o.GetProperty("seconds_min").GetDouble() <= seconds);
        Assert.True(o.GetProperty("seconds_p90").GetDouble() >= seconds);
        Assert.True(o.GetProperty("calls").GetInt32() >= 3);
        long bytes = o.GetProperty("weight_bytes").GetInt64();
        Assert.True(bytes > 0);
        double gbps = o.GetProperty("weight_gb_per_s").GetDouble();
        Assert.Equal(bytes / seconds / 1e9, gbps, 0.01 * gbps + 1e-4);
        double gflops = o.GetProperty("gflop_per_s").GetDouble();
        Assert.Equal(2.0 * n * k * batch / seconds / 1e9, gflops, 0.01 * gflops + 1e-4);
        double read = o.GetProperty("memory_read_gb_per_s").GetDouble();
        Assert.True(read > 0.1 && read < 10_000, $"memory_read_gb_per_s {read}");
        Assert.Equal(6, o.GetProperty("memory_read_samples_gb_per_s").GetArrayLength());
        double ratio = o.GetProperty("bandwidth_ratio").GetDouble();
        Assert.Equal(gbps / read, ratio, 0.01 * ratio + 1e-4);
        double error = o.GetProperty("max_rel_error").GetDouble();
        var toBound = o.GetProperty("max_error_to_activation_bound");
        if (toBound.ValueKind == JsonValueKind.Number)
        {
            // Integer kernel: the error is what int8 activations can cause, never more.
            Assert.True(toBound.GetDouble() <= 1.0, $"max_error_to_activation_bound {toBound.GetDouble()}");
            Assert.True(error >= 0 && error < 0.5, $"max_rel_error {error}");
        }
        else
        {
            Assert.True(error >= 0 && error < maxError, $"max_rel_error {error}");
        }
        AssertComputePeak(o, backend, gflops);
        int checkedRows = o.GetProperty("checked_rows").GetInt32();
        Assert.InRange(checkedRows, 1, n);
        Assert.False(string.IsNullOrEmpty(o.GetProperty("checked_rows_rule").GetString()));
    }

    /// <summary>
    /// The compute ceiling (Int8ComputePeak) rides along every CPU run: the fastest candidate is the peak, every
    /// candidate has a plausible rate, and compute_ratio is gflop_per_s over the peak. A GPU run has none of them.
    /// </summary>
    private static void AssertComputePeak(JsonElement o, string backend, double gflops)
    {
        var peak = o.GetProperty("int8_peak_gop_per_s");
        if (backend != "cpu" || !System.Runtime.Intrinsics.X86.Avx2.IsSupported)
        {
            Assert.Equal(JsonValueKind.Null, peak.ValueKind);
            Assert.Equal(JsonValueKind.Null, o.GetProperty("compute_ratio").ValueKind);
            return;
        }
        double gops = peak.GetDouble();
        var candidates = o.GetProperty("int8_peak_candidates_gop_per_s").EnumerateObject().ToList();
        Assert.Contains(candidates, c => c.Name == "vpmaddubsw ymm + vpaddw");
        Assert.All(candidates, c => Assert.InRange(c.Value.GetDouble(), 1.0, gops));
        // 2 operations per product; even one slow core forms billions of byte products per second.
        Assert.InRange(gops, 5.0, 1e5);
        Assert.Equal(candidates.MaxBy(c => c.Value.GetDouble()).Name, o.GetProperty("int8_peak_instruction").GetString());
        Assert.Equal(gflops / gops, o.GetProperty("compute_ratio").GetDouble(), 0.01 * gflops / gops + 1e-4);
    }

    [Fact]
    public void MatvecPrintsOneJsonObjectWithColdWeights()
    {
        var o = RunJson("bench", "matvec", "--format", "Q4_0", "--k", "256", "--n", "64", "--threads", "2", "--seconds", "0.1", "--json");
        AssertSane(o, "Q4_0", 256, 64, 1, 2);
        Assert.Equal("matvec", o.GetProperty("op").GetString());
        Assert.Equal(64 * (256 / 32) * 18, o.GetProperty("weight_bytes").GetInt64());
        // Cold: copies rotated until they total at least 256 MiB.
        Assert.True(o.GetProperty("weights_cold").GetBoolean());
        Assert.True(o.GetProperty("weight_copies").GetInt64() * o.GetProperty("weight_bytes").GetInt64() >= 256L << 20);
        Assert.Equal(64, o.GetProperty("checked_rows").GetInt32());
    }

    [Fact]
    public void MatmulUsesOneHotCopyAndChecksTheBatch()
    {
        var o = RunJson("bench", "matmul", "--format", "q6_k", "--k", "512", "--n", "40", "--batch", "5", "--seconds", "0.1", "--json");
        AssertSane(o, "Q6_K", 512, 40, 5, 1);
        Assert.Equal("matmul", o.GetProperty("op").GetString());
        Assert.False(o.GetProperty("weights_cold").GetBoolean());
        Assert.Equal(1, o.GetProperty("weight_copies").GetInt32());
        Assert.Equal("Q6_K", o.GetProperty("kernel_format").GetString());
    }

    /// <summary>
    /// The interleaved kernels' four-row tile comes in three instruction sets: AVX-512BW (512-bit vpmaddubsw over two
    /// quads of an 8-row group), AVX-VNNI (vpdpbusd) and AVX2 (vpmaddubsw + vpmaddwd). The VNNI and AVX2 tiles form the
    /// same integer sums in the same float order, so their outputs are bit-identical. The AVX-512 tile forms the same
    /// integer sums too; where the format's scale is per block (Q4_K, Q6_K, TQ2_0) the float work is also the same,
    /// so it is bit-identical as well; per-32 scales (Q4_0, Q4_1, GPTQ/AWQ) sum their float products in a different
    /// order (512-bit lanes reduced once at the end), so only float rounding may differ. KERNELGEN_AVX512_TILE=0 and
    /// the runtime's DOTNET_EnableAVXVNNI=0 select the tiles; a machine without those instructions runs one tile thrice.
    /// Batch 5 runs one four-row tile plus one single row; N = 37 leaves a partial 8-row group.
    /// </summary>
    [Theory]
    [InlineData("Q4_0", false)]
    [InlineData("Q4_1", false)]
    [InlineData("Q4_K", true)]
    [InlineData("Q6_K", true)]
    [InlineData("Q8_0", true)]
    [InlineData("TQ2_0", true)]
    [InlineData("GPTQ4-g128", false)]
    [InlineData("AWQ4-g128", false)]
    public void InterleavedTilesAgree(string format, bool avx512BitIdentical)
    {
        // AWQ packs 8 outputs per word, so its N must be a multiple of 8.
        int n = format.StartsWith("AWQ", StringComparison.Ordinal) ? 40 : 37;
        string[] args = ["bench", "matmul", "--format", format, "--k", "512", "--n", $"{n}", "--batch", "5", "--seconds", "0.05", "--layout", "interleaved", "--json"];
        var native = RunJson(args);
        var vnni = RunJson(new Dictionary<string, string> { ["KERNELGEN_AVX512_TILE"] = "0" }, args);
        var avx2 = RunJson(new Dictionary<string, string> { ["KERNELGEN_AVX512_TILE"] = "0", ["DOTNET_EnableAVXVNNI"] = "0" }, args);
        foreach (var o in new[] { native, vnni, avx2 })
        {
            AssertSane(o, format, 512, n, 5, 1);
        }
        Assert.DoesNotContain("AVX-512BW", vnni.GetProperty("device").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain("VNNI", avx2.GetProperty("device").GetString(), StringComparison.Ordinal);
        if (System.Runtime.Intrinsics.X86.Avx2.IsSupported && System.Runtime.Intrinsics.X86.Fma.IsSupported)
        {
            foreach (var o in new[] { native, vnni, avx2 })
            {
                Assert.Equal("interleaved8", o.GetProperty("layout").GetString());
            }
        }
        foreach (string field in new[] { "max_rel_error", "max_error_to_activation_bound" })
        {
            Assert.Equal(vnni.GetProperty(field).GetDouble(), avx2.GetProperty(field).GetDouble());
            double a = native.GetProperty(field).GetDouble(), b = vnni.GetProperty(field).GetDouble();
            if (avx512BitIdentical)
            {
                Assert.Equal(b, a);
            }
            else
            {
                // Float reordering over K = 512 moves an output by a few ulps of the largest partial sums.
                Assert.True(Math.Abs(a - b) <= 1e-5 * Math.Max(1.0, Math.Abs(b)), $"{field}: AVX-512 tile {a}, AVX-VNNI tile {b}");
            }
        }
    }

    [Fact]
    public void TernaryFormatRuns()
    {
        var o = RunJson("bench", "matvec", "--format", "TQ2_0", "--k", "256", "--n", "16", "--seconds", "0.05", "--weights", "hot", "--json");
        AssertSane(o, "TQ2_0", 256, 16, 1, 1);
        Assert.False(o.GetProperty("weights_cold").GetBoolean());
    }

    [Fact]
    public void TableShowsTheFigures()
    {
        var r = CliHarness.RunProcess(null, "bench", "matvec", "--format", "Q8_0", "--k", "64", "--n", "8", "--seconds", "0.05", "--weights", "hot");
        Assert.True(r.ExitCode == 0, r.Stderr);
        foreach (string column in new[] { "time/call", "weight GB/s", "GFLOP/s", "read GB/s", "weight / read", "max rel error", "Q8_0" })
            Assert.Contains(column, r.Stdout);
        if (System.Runtime.Intrinsics.X86.Avx2.IsSupported) Assert.Contains("the integer kernels' ceiling", r.Stdout);
    }

    [Theory]
    [InlineData("unknown format 'Q9_9'", "--format", "Q9_9")]
    [InlineData("block size (32 elements)", "--format", "Q4_0", "--k", "100")]
    [InlineData("block size (256 elements)", "--format", "Q4_K", "--k", "4000")]
    [InlineData("group size (128 inputs)", "--format", "GPTQ4-g128", "--k", "192")]
    [InlineData("--n 0", "--format", "Q4_0", "--n", "0")]
    [InlineData("--batch 0", "--format", "Q4_0", "--batch", "0")]
    [InlineData("--batch 513", "--format", "Q4_0", "--batch", "513")]
    [InlineData("--threads 0", "--format", "Q4_0", "--threads", "0")]
    [InlineData("--backend tpu", "--format", "Q4_0", "--backend", "tpu")]
    [InlineData("--weights warm", "--format", "Q4_0", "--weights", "warm")]
    [InlineData("--seconds 0", "--format", "Q4_0", "--seconds", "0")]
    [InlineData("multiple of 8", "--format", "AWQ4-g128", "--n", "12")]
    public void BadArgumentsAreOneLineErrors(string expected, params string[] args)
    {
        var r = CliHarness.RunProcess(null, ["bench", "matvec", .. args, "--json"]);
        Assert.Equal(2, r.ExitCode);
        Assert.Equal("", r.Stdout);
        var line = Assert.Single(r.StderrLines);
        Assert.StartsWith("error: ", line, StringComparison.Ordinal);
        Assert.Contains(expected, line, StringComparison.Ordinal);
    }

    [Fact]
    public void UnknownFormatListsTheValidOnes()
    {
        var r = CliHarness.RunProcess(null, "bench", "matmul", "--format", "Q4", "--json");
        Assert.Equal(2, r.ExitCode);
        var line = Assert.Single(r.StderrLines);
        foreach (string name in new[] { "Q4_0", "Q8_0", "Q4_K", "Q6_K", "TQ2_0", "GPTQ4-g128", "AWQ4-g128", "BitNet" })
            Assert.Contains(name, line, StringComparison.Ordinal);
    }

    /// <summary>
    /// The GPU backend as the JSON reports it: backend "gpu", the ILGPU device chosen (CUDA, OpenCL, or the CPU
    /// accelerator on a machine without a GPU), float-kernel accuracy, and copies that are cold only on a real GPU.
    /// </summary>
    private static void AssertGpu(JsonElement o, string format, int k, int n, int batch)
    {
        AssertSane(o, format, k, n, batch, threads: 1, backend: "gpu", maxError: 1e-5);
        string device = o.GetProperty("device").GetString()!;
        Assert.StartsWith("ILGPU ", device, StringComparison.Ordinal);
        if (device.Contains("CPU accelerator", StringComparison.Ordinal))
        {
            // ILGPU's CPU accelerator: one copy, honestly reported hot.
            Assert.Equal(1, o.GetProperty("weight_copies").GetInt32());
            Assert.False(o.GetProperty("weights_cold").GetBoolean());
        }
        Assert.Equal(n, o.GetProperty("checked_rows").GetInt32());
    }

    [Fact]
    public void GpuBackendRunsMatvec()
    {
        var o = RunJson("bench", "matvec", "--backend", "gpu", "--format", "Q4_0", "--k", "256", "--n", "64", "--seconds", "0.2", "--json");
        AssertGpu(o, "Q4_0", 256, 64, 1);
        Assert.Equal("matvec", o.GetProperty("op").GetString());
        Assert.Equal("Q4_0", o.GetProperty("kernel_format").GetString());
        Assert.Equal(64 * (256 / 32) * 18, o.GetProperty("weight_bytes").GetInt64());
    }

    [Fact]
    public void GpuBackendRunsARepackedGptqLayer()
    {
        var o = RunJson("bench", "matvec", "--backend", "gpu", "--format", "GPTQ4-g32", "--k", "256", "--n", "64", "--seconds", "0.2", "--json");
        AssertGpu(o, "GPTQ4-g32", 256, 64, 1);
        // Repacked on the host into the kernel row format, uploaded by that name.
        Assert.Equal("GQ4_G32", o.GetProperty("kernel_format").GetString());
    }

    [Fact]
    public void GpuBackendRunsMatmul()
    {
        var o = RunJson("bench", "matmul", "--backend", "gpu", "--format", "Q4_K", "--k", "512", "--n", "40", "--batch", "3", "--seconds", "0.2", "--json");
        AssertGpu(o, "Q4_K", 512, 40, 3);
        Assert.Equal("matmul", o.GetProperty("op").GetString());
        Assert.Equal(1, o.GetProperty("weight_copies").GetInt32());
        Assert.False(o.GetProperty("weights_cold").GetBoolean());
    }

    [Fact]
    public void GpuBackendHonoursTheForcedCpuAccelerator()
    {
        var o = RunJson(new Dictionary<string, string> { ["KERNELGEN_GPU_BACKEND"] = "cpu" },
            "bench", "matvec", "--backend", "gpu", "--format", "Q8_0", "--k", "64", "--n", "8", "--seconds", "0.05", "--json");
        AssertGpu(o, "Q8_0", 64, 8, 1);
        Assert.Contains("CPU accelerator", o.GetProperty("device").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public void UnusableForcedGpuIsAOneLineError()
    {
        var r = CliHarness.RunProcess(new Dictionary<string, string> { ["KERNELGEN_GPU_BACKEND"] = "tpu" },
            "bench", "matvec", "--format", "Q4_0", "--k", "256", "--n", "64", "--backend", "gpu", "--json");
        Assert.Equal(2, r.ExitCode);
        Assert.Equal("", r.Stdout);
        var line = Assert.Single(r.StderrLines);
        Assert.StartsWith("error: --backend gpu", line, StringComparison.Ordinal);
        Assert.Contains("KERNELGEN_GPU_BACKEND=tpu", line, StringComparison.Ordinal);
    }

    /// <summary>Checkpoint layers either run (once the repack factories land) or fail with one clear line.</summary>
    [Theory]
    [InlineData("GPTQ4-g128", "GPTQ")]
    [InlineData("gptq8-g32", "GPTQ")]
    [InlineData("AWQ4-g128", "AWQ")]
    [InlineData("BitNet", "BitNet")]
    public void CheckpointFormatsRunOrNeedTheRepackLayer(string format, string kind)
    {
        var r = CliHarness.RunProcess(null, "bench", "matvec", "--format", format, "--k", "256", "--n", "64", "--seconds", "0.05", "--weights", "hot", "--json");
        if (r.ExitCode == 0)
        {
            var o = JsonDocument.Parse(r.Stdout.Trim()).RootElement;
            AssertSane(o, MatrixFormat.Parse(format).Name, 256, 64, 1, 1);
            return;
        }
        Assert.Equal(2, r.ExitCode);
        var line = Assert.Single(r.StderrLines);
        Assert.Contains($"{kind} matvec needs the repack layer", line, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("q4_k", "Q4_K")]
    [InlineData("GPTQ4-g128", "GPTQ4-g128")]
    [InlineData("gptq3-pc", "GPTQ3-pc")]
    [InlineData("awq4-g64", "AWQ4-g64")]
    [InlineData("bitnet", "BitNet")]
    public void FormatNamesAreCanonical(string word, string name) => Assert.Equal(name, MatrixFormat.Parse(word).Name);
}
