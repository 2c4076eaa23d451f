using System.CommandLine;
using System.Globalization;
using KernelGen.Cli.Benchmarks;
using KernelGen.Cli.Infrastructure;
using Spectre.Console;

namespace KernelGen.Cli.Commands;

/// <summary>
/// <c>kernelgen bench matvec|matmul --format F --k K --n N [--batch M] [--threads T] [--backend cpu|gpu] [--layout auto|rows|interleaved] [--json]</c>:
/// quantized matrix kernels, time per call, weight GB/s, GFLOP/s and the ratio to the memory read bandwidth measured
/// in the same run, plus the error against a float64 reference (docs/PERFORMANCE.md, "Matrix kernels").
/// </summary>
public static class BenchMatrixCommand
{
    public const int MaxBatch = 512;

    /// <param name="op"><c>matvec</c> (batch 1 by default, cold weights) or <c>matmul</c> (batch 32 by default, one weight copy).</param>
    /// <param name="stdout">Results: the table, or exactly one JSON object with <c>--json</c>.</param>
    /// <param name="stderr">Progress and errors.</param>
    public static Command Create(string op, TextWriter stdout, TextWriter stderr)
    {
        int defaultBatch = op == "matvec" ? 1 : 32;
        var format = new Option<string>("--format") { Description = $"Weight format: a GGUF block format ({string.Join(", ", MatrixFormat.BlockNames)}) or a checkpoint layer: {MatrixFormat.TensorNames}.", Required = true };
        var k = new Option<int>("--k") { Description = "Inputs per output (the row length; a multiple of the format's block or group size).", DefaultValueFactory = _ => 4096 };
        var n = new Option<int>("--n") { Description = "Outputs (rows of W).", DefaultValueFactory = _ => 4096 };
        var batch = new Option<int>("--batch") { Description = $"Activation rows per call, 1..{MaxBatch} (1 = matrix-vector).", DefaultValueFactory = _ => defaultBatch };
        var threads = new Option<int>("--threads") { Description = "Kernel threads (one persistent pool; the bandwidth probe runs on it too).", DefaultValueFactory = _ => 1 };
        var backend = new Option<string>("--backend") { Description = "cpu, or gpu: ILGPU on CUDA, else OpenCL, else its (slow) CPU accelerator; KERNELGEN_GPU_BACKEND=cuda|opencl|cpu forces one.", DefaultValueFactory = _ => "cpu" };
        var seconds = new Option<double>("--seconds") { Description = $"Time budget of the timed calls (at least {MatrixBenchmark.MinCalls} calls, at most {MatrixBenchmark.MaxCalls}).", DefaultValueFactory = _ => 1.5 };
        var weights = new Option<string?>("--weights") { Description = "cold: rotate copies of W totalling max(256 MiB, 8 copies) so each call streams from DRAM; hot: one copy. Default: cold for batch 1, hot otherwise." };
        var layout = new Option<string>("--layout") { Description = "CPU weight layout: auto (8-row interleaved where the format has it: Q4_0, Q4_1, Q4_K, TQ2_0, GPTQ/AWQ 4-bit; as llama.cpp repacks by default), rows, or interleaved.", DefaultValueFactory = _ => "auto" };
        var json = new Option<bool>("--json") { Description = "Print exactly one JSON object on stdout (progress goes to stderr)." };
        string what = op == "matvec" ? "y = W·x (batch 1 by default)" : "Y = X·Wᵀ (batch 32 by default)";
        var command = new Command(op, $"Quantized {op} {what}: time per call, weight GB/s, GFLOP/s and the ratio to the memory read bandwidth measured in the same run.")
        {
            format, k, n, batch, threads, backend, seconds, weights, layout, json,
        };
        command.SetAction(parse => CliRunner.Run(stderr, cancellation =>
        {
            var f = MatrixFormat.Parse(parse.GetValue(format)!);
            int kv = parse.GetValue(k), nv = parse.GetValue(n), b = parse.GetValue(batch), t = parse.GetValue(threads);
            f.CheckShape(kv, nv);
            if (b < 1 || b > MaxBatch) throw new CliUsageException($"--batch {b}: must be 1..{MaxBatch}");
            if (t < 1 || t > 1024) throw new CliUsageException($"--threads {t}: must be 1..1024");
            double s = parse.GetValue(seconds);
            if (!(s > 0) || double.IsInfinity(s)) throw new CliUsageException($"--seconds {s.ToString(CultureInfo.InvariantCulture)}: must be a positive number");
            string backendName = parse.GetValue(backend)!.Trim().ToLowerInvariant();
            if (!MatrixBackends.Names.Contains(backendName)) throw new CliUsageException($"--backend {backendName}: known backends are {string.Join(", ", MatrixBackends.Names)}");
            bool cold = parse.GetValue(weights)?.Trim().ToLowerInvariant() switch
            {
                null => b == 1,
                "cold" => true,
                "hot" => false,
                var other => throw new CliUsageException($"--weights {other}: must be cold or hot"),
            };
            string layoutName = parse.GetValue(layout)!.Trim().ToLowerInvariant();
            if (layoutName is not ("auto" or "rows" or "interleaved")) throw new CliUsageException($"--layout {layoutName}: must be auto, rows or interleaved");
            var options = new MatrixBenchOptions(op, f, kv, nv, b, t, backendName, s, cold, layoutName);
            var result = MatrixBenchmark.Run(options, stderr, cancellation);
            if (parse.GetValue(json)) stdout.WriteLine(result.ToJson().ToJsonString());
            else Render(result, Consoles.For(stdout));
            return ExitCodes.Ok;
        }));
        return command;
    }

    /// <summary>Seconds as µs below 1 ms, ms below 10 s.</summary>
    public static string Duration(double seconds) => seconds < 1e-3
        ? (seconds * 1e6).ToString("F1", CultureInfo.InvariantCulture) + " µs"
        : (seconds * 1e3).ToString(seconds < 0.1 ? "F3" : "F1", CultureInfo.InvariantCulture) + " ms";

    private static void Render(MatrixBenchResult r, IAnsiConsole console)
    {
        var inv = CultureInfo.InvariantCulture;
        var o = r.Options;
        var table = new Table().Title($"{o.Op}: {Markup.Escape(o.Format.Name)}, K = {o.K} x N = {o.N}, batch {o.Batch}, {Markup.Escape(r.Device)}")
            .AddColumn("format").AddColumn(new TableColumn("time/call (median)").RightAligned())
            .AddColumn(new TableColumn("weight GB/s").RightAligned()).AddColumn(new TableColumn("GFLOP/s").RightAligned())
            .AddColumn(new TableColumn("read GB/s").RightAligned()).AddColumn(new TableColumn("weight / read").RightAligned())
            .AddColumn(new TableColumn("max rel error").RightAligned());
        table.AddRow(Markup.Escape(o.Format.Name), Duration(r.SecondsPerCall), r.WeightGBps.ToString("F2", inv), r.GFlops.ToString("F1", inv),
            r.MemoryReadGBps.ToString("F2", inv), r.BandwidthRatio.ToString("P1", inv), r.MaxRelError.ToString("0.00e+00", inv));
        console.Write(table);
        string copies = r.WeightCopies == 1 ? "one copy (hot: may be cache-resident)" : $"{r.WeightCopies} copies rotated, {r.WeightBytes * (double)r.WeightCopies / 1e6:F0} MB ({(r.WeightsCold ? "cold: streamed from DRAM" : "too small to be cold")})";
        console.MarkupLine(Markup.Escape($"weights: {r.KernelFormat}" + (r.SourceFormat != r.KernelFormat ? $" (repacked from {r.SourceFormat})" : "") +
            (r.Layout == "interleaved8" ? ", 8-row interleaved layout" : "") +
            $", {r.WeightBytes / 1e6:F2} MB per copy, {copies}"));
        console.MarkupLine(Markup.Escape($"timing: {r.Calls} calls after warm-up, min {Duration(r.SecondsMin)}, median {Duration(r.SecondsPerCall)}, p90 {Duration(r.SecondsP90)}; " +
            $"read bandwidth: median of {r.MemoryReadSamples.Count} measurements {(o.Backend == "gpu" ? "of device memory" : $"on the same {o.Threads} thread(s)")}, {r.MemoryReadSamples[0].ToString("F1", inv)}-{r.MemoryReadSamples[^1].ToString("F1", inv)} GB/s"));
        if (r.Int8PeakGops is double peak)
        {
            console.MarkupLine(Markup.Escape($"compute: {r.GFlops.ToString("F1", inv)} of {peak.ToString("F0", inv)} G op/s measured for {r.Int8PeakInstruction} on the same threads ({r.ComputeRatio!.Value.ToString("P1", inv)}), the integer kernels' ceiling"));
        }
        console.MarkupLine(Markup.Escape($"error: max over {r.CheckedRows} rows ({r.CheckedRowsRule}) x {o.Batch} of |y - ref| / sum_k |W[r,k]*x[k]|, ref in float64"));
    }
}
