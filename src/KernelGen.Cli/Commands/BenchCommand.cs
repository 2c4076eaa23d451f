using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using KernelGen.Cli.Benchmarks;
using KernelGen.Cli.Infrastructure;
using KernelGen.Kernels;
using Spectre.Console;

namespace KernelGen.Cli.Commands;

/// <summary>
/// <c>kernelgen bench ...</c>: throughput benchmarks that report bytes/s beside this machine's memory bandwidth
/// measured in the same run (docs/PERFORMANCE.md records the figures and the commands).
/// </summary>
public static class BenchCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var bench = new Command("bench", "Measure kernel throughput against this machine's memory bandwidth.");
        bench.Subcommands.Add(CreateDequant(stdout, stderr));
        bench.Subcommands.Add(CreateConvert(stdout, stderr));
        bench.Subcommands.Add(BenchMatrixCommand.Create("matvec", stdout, stderr));
        bench.Subcommands.Add(BenchMatrixCommand.Create("matmul", stdout, stderr));
        return bench;
    }

    private static Command CreateDequant(TextWriter stdout, TextWriter stderr)
    {
        var format = new Option<string[]>("--format") { Description = "Format(s) to decode: a GGUF block format (Q4_0, Q4_K, ...), 'all' for every block format, or a tensor-level layer (K = 4096 inputs x N = --elements/4096 outputs, random codes): " + string.Join(", ", TensorDequantBenchmark.Cases.Select(c => c.Name)) + "; 'GPTQ4' for every GPTQ4_* case, 'tensor' for all of them.", Required = true, AllowMultipleArgumentsPerToken = true };
        var elements = new Option<long>("--elements") { Description = "Elements decoded per call (rounded to rows of 4096; for tensor-level layers N = elements / 4096 outputs).", DefaultValueFactory = _ => 4096L * 4096 };
        var threads = new Option<int>("--threads") { Description = "Threads.", DefaultValueFactory = _ => 1 };
        var seconds = new Option<double>("--seconds") { Description = "Time budget per measurement.", DefaultValueFactory = _ => 0.5 };
        var json = new Option<bool>("--json") { Description = "One JSON object per format (JSON lines)." };
        var command = new Command("dequant", "Dequantization throughput, scalar vs SIMD, in GB/s of output floats.") { format, elements, threads, seconds, json };
        command.SetAction(parse => CliRunner.Run(stderr, cancellation =>
        {
            var words = parse.GetValue(format)!.SelectMany(f => f.Split(',', StringSplitOptions.RemoveEmptyEntries)).ToList();
            var names = new List<string>();
            foreach (string word in words)
            {
                if (string.Equals(word, "all", StringComparison.OrdinalIgnoreCase))
                    names.AddRange(Dequantizer.Formats.Select(f => f.Name).Where(Quantizer.IsSupported));
                else if (TensorDequantBenchmark.Expand(word).ToList() is { Count: > 0 } cases)
                    names.AddRange(cases);
                else if (Dequantizer.IsSupported(word) && Quantizer.IsSupported(word))
                    names.Add(word);
                else
                    throw new CliUsageException($"unknown format '{word}'; known: {string.Join(", ", Quantizer.Formats)}, {string.Join(", ", TensorDequantBenchmark.Cases.Select(c => c.Name))}, GPTQ4, tensor, all");
            }
            int t = Math.Max(1, parse.GetValue(threads));
            using var bandwidth = new MemoryBandwidth();
            var results = new List<DequantResult>();
            foreach (string n in names)
            {
                cancellation.ThrowIfCancellationRequested();
                var r = TensorDequantBenchmark.IsTensorCase(n)
                    ? TensorDequantBenchmark.Run(n, parse.GetValue(elements), t, parse.GetValue(seconds), bandwidth)
                    : DequantBenchmark.Run(n, parse.GetValue(elements), t, parse.GetValue(seconds), bandwidth);
                results.Add(r);
                if (parse.GetValue(json)) stdout.WriteLine(ToJson(r).ToJsonString());
            }
            if (!parse.GetValue(json)) Render(results, Consoles.For(stdout));
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command CreateConvert(TextWriter stdout, TextWriter stderr)
    {
        var size = new Option<double>("--gigabytes") { Description = "Size of the synthetic F16 input model.", DefaultValueFactory = _ => 2.0 };
        var type = new Option<string>("--type") { Description = "Target type.", DefaultValueFactory = _ => "Q4_K_M" };
        var threads = new Option<int>("--threads") { Description = "Quantization threads.", DefaultValueFactory = _ => Environment.ProcessorCount };
        var folder = new Option<string?>("--dir") { Description = "Where the synthetic files go (deleted afterwards); the system temp folder by default." };
        var json = new Option<bool>("--json") { Description = "One JSON object." };
        var command = new Command("convert", "Convert a synthetic multi-GB model: time, throughput and peak memory.") { size, type, threads, folder, json };
        command.SetAction(parse => CliRunner.Run(stderr, _ =>
        {
            var dir = Directory.CreateTempSubdirectory("kernelgen-bench-").FullName;
            if (parse.GetValue(folder) is string custom) { Directory.Delete(dir); dir = Directory.CreateDirectory(Path.Combine(custom, Path.GetFileName(dir))).FullName; }
            try
            {
                var r = ConvertBenchmark.Run(dir, parse.GetValue(size), parse.GetValue(type)!, Math.Max(1, parse.GetValue(threads)));
                var o = new JsonObject
                {
                    ["type"] = r.Type, ["input_bytes"] = r.InputBytes, ["output_bytes"] = r.OutputBytes, ["parameters"] = r.Parameters,
                    ["threads"] = parse.GetValue(threads), ["write_input_seconds"] = Math.Round(r.WriteInputSeconds, 2), ["convert_seconds"] = Math.Round(r.ConvertSeconds, 2),
                    ["input_gb_per_s"] = Math.Round(r.InputGBps, 3), ["parameters_per_s"] = Math.Round(r.ParametersPerSecond),
                    ["peak_rss_bytes"] = r.PeakResidentBytes, ["peak_anonymous_rss_bytes"] = r.PeakAnonymousBytes,
                    ["largest_tensor_bytes"] = r.LargestTensorBytes,
                };
                stdout.WriteLine(parse.GetValue(json) ? o.ToJsonString() : o.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
            }
            finally
            {
                Directory.Delete(dir, recursive: true);
            }
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static JsonObject ToJson(DequantResult r) => new()
    {
        ["format"] = r.Format, ["elements"] = r.Elements, ["threads"] = r.Threads,
        ["scalar_gb_per_s"] = Math.Round(r.ScalarGBps, 3), ["simd_gb_per_s"] = Math.Round(r.SimdGBps, 3), ["simd_path"] = r.SimdPath,
        ["cache_scalar_gb_per_s"] = Math.Round(r.CacheScalarGBps, 3), ["cache_simd_gb_per_s"] = Math.Round(r.CacheSimdGBps, 3),
        ["cache_speedup"] = Math.Round(r.CacheSpeedup, 2), ["memory_copy_gb_per_s"] = Math.Round(r.MemoryCopyGBps, 3),
        ["memory_read_gb_per_s"] = Math.Round(r.MemoryReadGBps, 3), ["copy_ratio"] = Math.Round(r.CopyRatio, 3),
    };

    private static void Render(IReadOnlyList<DequantResult> results, IAnsiConsole console)
    {
        var inv = CultureInfo.InvariantCulture;
        var table = new Table().Title("dequantization, GB/s of float32 output")
            .AddColumn("format").AddColumn(new TableColumn("scalar").RightAligned()).AddColumn(new TableColumn("SIMD").RightAligned())
            .AddColumn(new TableColumn("cached scalar").RightAligned()).AddColumn(new TableColumn("cached SIMD").RightAligned())
            .AddColumn(new TableColumn("SIMD/scalar (cached)").RightAligned()).AddColumn(new TableColumn("memcpy").RightAligned())
            .AddColumn(new TableColumn("SIMD/memcpy").RightAligned());
        foreach (var r in results)
            table.AddRow(r.Format, r.ScalarGBps.ToString("F2", inv), $"{r.SimdGBps.ToString("F2", inv)} ({r.SimdPath})",
                r.CacheScalarGBps.ToString("F2", inv), r.CacheSimdGBps.ToString("F2", inv), r.CacheSpeedup.ToString("F1", inv) + "x",
                r.MemoryCopyGBps.ToString("F2", inv), r.CopyRatio.ToString("F2", inv));
        console.Write(table);
        if (results.Count > 0)
            console.MarkupLine($"memory read bandwidth ({results[0].Threads} thread(s)): {results[0].MemoryReadGBps.ToString("F1", inv)} GB/s; {results[0].Elements.ToString("N0", inv)} elements per call");
    }
}
