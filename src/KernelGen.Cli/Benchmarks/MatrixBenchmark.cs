using System.Diagnostics;
using System.Text.Json.Nodes;
using KernelGen.Cli.Infrastructure;
using KernelGen.Kernels.MatMul;

namespace KernelGen.Cli.Benchmarks;

/// <summary>What <c>kernelgen bench matvec|matmul</c> runs.</summary>
/// <param name="Op"><c>matvec</c> or <c>matmul</c> (the command's name; batch 1 runs the same MatMul call).</param>
/// <param name="Format">The weight format.</param>
/// <param name="K">Inputs.</param>
/// <param name="N">Outputs.</param>
/// <param name="Batch">Activation rows per call.</param>
/// <param name="Threads">Kernel threads.</param>
/// <param name="Backend"><c>cpu</c> or <c>gpu</c>.</param>
/// <param name="Seconds">Time budget of the timed calls.</param>
/// <param name="Cold">Rotate weight copies that do not fit in the last-level cache.</param>
/// <param name="Layout">
/// CPU weight layout: <c>auto</c> (the 8-row interleaved layout where the format has it and the CPU runs it, as
/// llama.cpp repacks by default), <c>rows</c> (the format's own rows) or <c>interleaved</c> (required).
/// </param>
public sealed record MatrixBenchOptions(string Op, MatrixFormat Format, int K, int N, int Batch, int Threads, string Backend, double Seconds, bool Cold, string Layout = "auto");

/// <summary>The figures of one run (docs/PERFORMANCE.md, "Matrix kernels").</summary>
public sealed record MatrixBenchResult(
    MatrixBenchOptions Options, string SourceFormat, string KernelFormat, string Device,
    double SecondsPerCall, double SecondsMin, double SecondsP90, int Calls,
    long WeightBytes, int WeightCopies, bool WeightsCold,
    double MemoryReadGBps, IReadOnlyList<double> MemoryReadSamples,
    double MaxRelError, int CheckedRows, string CheckedRowsRule)
{
    /// <summary>The weight layout the kernels ran on (<c>rows</c> or <c>interleaved8</c>).</summary>
    public string Layout { get; init; } = "rows";

    /// <summary>Largest error over the activation-quantization bound (integer kernels; null for float kernels).</summary>
    public double? MaxErrorToBound { get; init; }

    /// <summary>
    /// The integer kernels' compute ceiling measured in the same process on the same threads
    /// (<see cref="Int8ComputePeak"/>), 10^9 operations per second; null on a GPU.
    /// </summary>
    public double? Int8PeakGops { get; init; }

    /// <summary>The instruction that set <see cref="Int8PeakGops"/>.</summary>
    public string? Int8PeakInstruction { get; init; }

    /// <summary>Every instruction the peak probe timed, with its rate (10^9 operations per second).</summary>
    public IReadOnlyList<(string Instruction, double GopPerSecond)> Int8PeakCandidates { get; init; } = [];

    /// <summary><see cref="GFlops"/> over <see cref="Int8PeakGops"/>: how much of the machine's byte dot-product rate the kernel uses.</summary>
    public double? ComputeRatio => Int8PeakGops is double peak ? GFlops / peak : null;

    /// <summary>Weight bytes streamed per second (10^9 bytes/s).</summary>
    public double WeightGBps => WeightBytes / SecondsPerCall / 1e9;

    /// <summary>2·N·K·batch / seconds per call, in 10^9 per second.</summary>
    public double GFlops => 2.0 * Options.N * Options.K * Options.Batch / SecondsPerCall / 1e9;

    /// <summary>Weight GB/s over the read bandwidth measured in the same process with the same threads.</summary>
    public double BandwidthRatio => WeightGBps / MemoryReadGBps;

    public JsonObject ToJson() => new()
    {
        ["op"] = Options.Op,
        ["format"] = Options.Format.Name,
        ["source_format"] = SourceFormat,
        ["kernel_format"] = KernelFormat,
        ["layout"] = Layout,
        ["k"] = Options.K,
        ["n"] = Options.N,
        ["batch"] = Options.Batch,
        ["threads"] = Options.Threads,
        ["backend"] = Options.Backend,
        ["device"] = Device,
        ["seconds_per_call"] = SecondsPerCall,
        ["seconds_min"] = SecondsMin,
        ["seconds_p90"] = SecondsP90,
        ["calls"] = Calls,
        ["weight_bytes"] = WeightBytes,
        ["weight_copies"] = WeightCopies,
        ["weights_cold"] = WeightsCold,
        ["weight_gb_per_s"] = Math.Round(WeightGBps, 4),
        ["gflop_per_s"] = Math.Round(GFlops, 4),
        ["memory_read_gb_per_s"] = Math.Round(MemoryReadGBps, 4),
        ["memory_read_samples_gb_per_s"] = new JsonArray(MemoryReadSamples.Select(s => (JsonNode?)JsonValue.Create(Math.Round(s, 3))).ToArray()),
        ["bandwidth_ratio"] = Math.Round(BandwidthRatio, 5),
        ["int8_peak_gop_per_s"] = Int8PeakGops is double peak ? Math.Round(peak, 2) : null,
        ["int8_peak_instruction"] = Int8PeakInstruction,
        ["int8_peak_candidates_gop_per_s"] = Int8PeakCandidates.Count == 0 ? null
            : new JsonObject(Int8PeakCandidates.Select(c => KeyValuePair.Create(c.Instruction, (JsonNode?)JsonValue.Create(Math.Round(c.GopPerSecond, 2))))),
        ["compute_ratio"] = ComputeRatio is double ratio ? Math.Round(ratio, 4) : null,
        ["max_rel_error"] = MaxRelError,
        ["max_error_to_activation_bound"] = MaxErrorToBound,
        ["error_measure"] = "max over outputs of |y - ref| / sum_k |W[r,k]*x[k]|; ref in float64 from the dequantized weights",
        ["checked_rows"] = CheckedRows,
        ["checked_rows_rule"] = CheckedRowsRule,
        ["distinct_rows"] = Math.Min(Options.N, MatrixWeights.DistinctRows),
    };
}

/// <summary>
/// <c>kernelgen bench matvec|matmul</c>: times <c>QuantizedMatrix.MatMul</c> (batch 1 = matvec) on real quantized
/// weights and reports it beside this machine's memory read bandwidth measured in the same process on the same
/// threads (docs/PERFORMANCE.md, "Matrix kernels", describes the method).
/// </summary>
public static class MatrixBenchmark
{
    /// <summary>
    /// Read-bandwidth measurements: one before the timed calls and one after each of <c>BandwidthSamples - 1</c> equal
    /// segments of them, so the probe samples the same stretch of time as the kernel (this VM's DRAM bandwidth moves
    /// by a third within seconds; probes only before and after let a slow moment in between pass for a slow kernel).
    /// </summary>
    public const int BandwidthSamples = 6;

    /// <summary>Bounds on the number of timed calls (the budget decides in between).</summary>
    public const int MinCalls = 3, MaxCalls = 1001;

    public static MatrixBenchResult Run(MatrixBenchOptions o, TextWriter log, CancellationToken cancellation)
    {
        // The backend first: an unusable one (a forced GPU that is not here) fails before any work.
        using var backend = MatrixBackends.Create(o.Backend, o.Threads);
        log.WriteLine($"bench {o.Op}: backend {backend.Name}: {backend.Description}");
        var total = Stopwatch.StartNew();
        var weights = MatrixWeights.Build(o.Format, o.K, o.N, bytes => backend.CopyCount(bytes, o.Cold), backend.CacheBytes, m => log.WriteLine($"bench {o.Op}: {m}"));
        cancellation.ThrowIfCancellationRequested();
        var x = MatrixWeights.RandomActivations(o.Batch, o.K, seed: 7);
        var copies = Arrange(o, weights, log);
        using var session = backend.Open(copies, x, o.Batch);
        using var small = backend.Open([o.Backend == "cpu" && copies[0].Layout == MatrixLayout.Interleaved8 ? weights.Slice(16).Interleaved() : weights.Slice(16)], x, o.Batch);

        var bandwidth = new List<double> { backend.MeasureReadGBps() };

        // JIT: the kernel on a small matrix until the tiered JIT has promoted it, then full-size calls. GPU kernels are
        // compiled at load: a few untimed calls.
        if (backend.NeedsJitWarmUp) BenchTimer.WarmUp(() => small.Run(0));
        else for (int i = 0; i < 3; i++) small.Run(0);
        int next = 0;
        void Call()
        {
            session.Run(next);
            next = next + 1 == copies.Count ? 0 : next + 1;
        }
        long start = Stopwatch.GetTimestamp();
        Call();
        double once = Stopwatch.GetElapsedTime(start).TotalSeconds;
        if (once < o.Seconds / 4)
        {
            start = Stopwatch.GetTimestamp();
            Call();
            once = Stopwatch.GetElapsedTime(start).TotalSeconds;
        }
        cancellation.ThrowIfCancellationRequested();
        int calls = (int)Math.Clamp(o.Seconds / Math.Max(once, 1e-7), MinCalls, MaxCalls);
        log.WriteLine($"bench {o.Op}: {calls} timed calls (about {once * 1e3:F3} ms each)");
        var times = new List<double>(calls);
        for (int segment = 0, segments = BandwidthSamples - 1; segment < segments; segment++)
        {
            times.AddRange(BenchTimer.SortedTimes(Call, calls * (segment + 1) / segments - calls * segment / segments));
            bandwidth.Add(backend.MeasureReadGBps());
        }
        times.Sort();
        bandwidth.Sort();
        var peak = backend.MeasureInt8Peak();

        // Error against the float64 reference, on copy 0 (all copies hold the same bytes).
        session.Run(0);
        var y = new float[(long)o.Batch * o.N];
        session.ReadOutput(y);
        var (rows, rule) = MatrixError.RowsToCheck(o.K, o.N, o.Batch);
        // The bound applies where the kernel quantized x in the caller's column order (CPU integer kernels on
        // layouts without an input permutation).
        var kernelMatrix = weights.Copies[0];
        bool quantized = o.Backend == "cpu" && kernelMatrix.Format.DotActivationKind == 1 && kernelMatrix.InputOrder.IsEmpty;
        int activationBlock = copies[0].Layout == MatrixLayout.Interleaved8 ? copies[0].Format.InterleavedActivationBlock : 32;
        var (error, toBound) = MatrixError.Measure(weights.ReferenceRow, o.K, o.N, x, o.Batch, y, rows, quantized, activationBlock);
        log.WriteLine($"bench {o.Op}: done in {total.Elapsed.TotalSeconds:F1} s");

        var m0 = weights.Copies[0];
        return new MatrixBenchResult(o, m0.SourceFormat, m0.Format.Name, backend.Description,
            SecondsPerCall: BenchTimer.Percentile(times, 0.5), SecondsMin: times[0], SecondsP90: BenchTimer.Percentile(times, 0.9), Calls: calls,
            WeightBytes: weights.WeightBytes, WeightCopies: weights.Copies.Count, WeightsCold: weights.Cold,
            MemoryReadGBps: BenchTimer.Percentile(bandwidth, 0.5), MemoryReadSamples: bandwidth,
            MaxRelError: error, CheckedRows: rows.Length, CheckedRowsRule: rule)
        {
            MaxErrorToBound = toBound,
            Int8PeakGops = peak.Count > 0 ? peak[0].GopPerSecond : null,
            Int8PeakInstruction = peak.Count > 0 ? peak[0].Instruction : null,
            Int8PeakCandidates = peak,
            Layout = copies[0].Layout == MatrixLayout.Interleaved8 ? "interleaved8" : "rows",
        };
    }

    /// <summary>The copies in the layout <see cref="MatrixBenchOptions.Layout"/> asks for (the repack is once, untimed).</summary>
    private static IReadOnlyList<QuantizedMatrix> Arrange(MatrixBenchOptions o, MatrixWeights weights, TextWriter log)
    {
        bool can = o.Backend == "cpu" && weights.Copies[0].CanInterleave;
        if (o.Layout == "interleaved" && !can)
        {
            throw new CliUsageException($"--layout interleaved: {weights.Copies[0].Format.Name} on the {o.Backend} backend has no interleaved kernel here " +
                "(it needs a 4- or 2-bit format with f16 block scales: Q4_0, Q4_1, Q4_K, TQ2_0, GPTQ/AWQ 4-bit; the CPU backend; AVX2 and FMA)");
        }
        if (o.Layout == "rows" || !can)
        {
            return weights.Copies;
        }
        var start = Stopwatch.StartNew();
        var interleaved = weights.Copies.Select(m => m.Interleaved()).ToList();
        log.WriteLine($"bench {o.Op}: layout: 8-row interleaved, repacked once in {start.Elapsed.TotalSeconds / interleaved.Count:F2} s per copy " +
            $"({interleaved[0].StoredBytes:N0} bytes stored per copy)");
        return interleaved;
    }
}
