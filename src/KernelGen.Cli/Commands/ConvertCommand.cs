using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using KernelGen.Cli.Infrastructure;
using KernelGen.Cli.Inspection;
using KernelGen.Containers;
using KernelGen.Containers.Gguf;
using KernelGen.Conversion;
using Spectre.Console;

namespace KernelGen.Cli.Commands;

/// <summary>
/// <c>kernelgen convert INPUT OUTPUT [--type T] [--pure] [--to KIND] [--threads N] [--force] [--quiet]</c>.
/// Everything that can be checked is checked before the output is opened; the output is written to a temporary file
/// and renamed at the end, so a failure or Ctrl-C leaves nothing behind.
/// </summary>
public static class ConvertCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var input = new Argument<string>("input") { Description = "A GGUF file, a safetensors file or a model folder." };
        var output = new Argument<string>("output") { Description = "The file (or folder) to write; its kind follows the extension or --to." };
        var type = new Option<string?>("--type") { Description = "Target type: a ggml type (Q4_K, TQ2_0, F16, ...) or a mixture (Q4_K_M, Q5_K_M, Q3_K_M, Q2_K, ...)." };
        var pure = new Option<bool>("--pure") { Description = "Every weight tensor gets --type exactly (no mixture rules)." };
        var to = new Option<string?>("--to") { Description = "Output kind when the extension does not say: gguf, safetensors, hf, gptq, awq, bitnet." };
        var threads = new Option<int>("--threads") { Description = "Quantization threads.", DefaultValueFactory = _ => Environment.ProcessorCount };
        var force = new Option<bool>("--force") { Description = "Overwrite an existing output." };
        var quiet = new Option<bool>("--quiet") { Description = "No progress and no summary." };
        var bits = new Option<int>("--bits") { Description = "GPTQ/AWQ output: code width (2, 3, 4 or 8; AWQ: 4).", DefaultValueFactory = _ => 4 };
        var groupSize = new Option<int>("--group-size") { Description = "GPTQ/AWQ output: inputs per group, -1 for per channel.", DefaultValueFactory = _ => 128 };
        var sym = new Option<bool>("--sym") { Description = "GPTQ/AWQ output: symmetric (zero point 2^(bits-1)) instead of asymmetric." };
        var command = new Command("convert", "Convert or re-quantize a model file.") { input, output, type, pure, to, threads, force, quiet, bits, groupSize, sym };
        command.SetAction(parse => CliRunner.Run(stderr, cancellation =>
        {
            string inPath = parse.GetValue(input)!, outPath = parse.GetValue(output)!;
            string kind = (parse.GetValue(to) ?? Path.GetExtension(outPath).TrimStart('.')).ToLowerInvariant();
            if ((File.Exists(outPath) || Directory.Exists(outPath)) && !parse.GetValue(force)) throw new CliUsageException($"{outPath} already exists (use --force to overwrite)");
            if (Path.GetFullPath(inPath) == Path.GetFullPath(outPath)) throw new CliUsageException("the output must not be the input");
            using var container = OpenInput(inPath, kind);
            var job = ConversionJob.Create(container, kind, new ConversionOptions(parse.GetValue(type), parse.GetValue(pure), Math.Max(1, parse.GetValue(threads)),
                parse.GetValue(bits), parse.GetValue(groupSize), parse.GetValue(sym)));
            var clock = Stopwatch.StartNew();
            RunWithProgress(job, outPath, parse.GetValue(quiet), stderr, cancellation);
            if (!parse.GetValue(quiet)) PrintSummary(job, container, outPath, clock.Elapsed, Consoles.For(stdout));
            return ExitCodes.Ok;
        }));
        return command;
    }

    /// <summary>
    /// The input as a container. A lone safetensors file going to GGUF is read as the model folder it sits in, so its
    /// config.json and tokenizer come along (a folder without them converts tensor by tensor).
    /// </summary>
    private static IModelContainer OpenInput(string path, string kind)
    {
        var container = ModelOpener.Open(path);
        if (container is not KernelGen.Containers.Safetensors.SafetensorsFile file || kind != "gguf") return container;
        string folderPath = Path.GetDirectoryName(Path.GetFullPath(path))!;
        container.Dispose();
        var folder = KernelGen.Containers.HuggingFace.HfModelFolder.Open(folderPath);
        if (folder.Shards.Any(s => Path.GetFullPath(s.Path) == Path.GetFullPath(path))) return folder;
        folder.Dispose();
        throw new CliUsageException($"{path} is not the weights file of the folder it sits in; convert the folder {folderPath} instead");
    }

    private static void RunWithProgress(ConversionJob converter, string outPath, bool quiet, TextWriter stderr, CancellationToken cancellation)
    {
        long total = converter.Tensors.Sum(p => p.Bytes);
        if (quiet)
        {
            converter.Write(outPath, null, cancellation);
            return;
        }
        if (ReferenceEquals(stderr, Console.Error) && !Console.IsErrorRedirected)
        {
            var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
            console.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new TransferSpeedColumn(), new RemainingTimeColumn())
                .Start(ctx =>
                {
                    var task = ctx.AddTask("converting", maxValue: Math.Max(1, total));
                    converter.Write(outPath, new Progress(w =>
                    {
                        task.Increment(w.Bytes);
                        task.Description = Markup.Escape(w.Index + 1 < w.Count ? converter.Tensors[w.Index + 1].Name : "done");
                    }), cancellation);
                });
            return;
        }
        // Not a terminal: one plain line per tensor.
        converter.Write(outPath, new Progress(w =>
        {
            var p = converter.Tensors[w.Index];
            stderr.WriteLine($"[{w.Index + 1}/{w.Count}] {p.Name} {p.SourceType} -> {p.TargetType} ({w.Bytes:N0} bytes)");
        }), cancellation);
    }

    private static void PrintSummary(ConversionJob converter, IModelContainer input, string outPath, TimeSpan elapsed, IAnsiConsole console)
    {
        var inv = CultureInfo.InvariantCulture;
        if (converter.Description is string description)
        {
            console.MarkupLine($"wrote [bold]{Markup.Escape(outPath)}[/]: {Markup.Escape(description)} in {elapsed.TotalSeconds.ToString("F2", inv)} s");
            return;
        }
        long inBytes = input.Tensors.Sum(t => t.Bytes ?? 0), outBytes = new FileInfo(outPath).Length;
        int copied = converter.Tensors.Count(p => p.IsCopy);
        console.MarkupLine($"wrote [bold]{Markup.Escape(outPath)}[/]: {converter.Tensors.Count} tensors ({converter.Tensors.Count - copied} converted, {copied} copied), " +
            $"{InspectTableRenderer.Bytes(inBytes)} -> {InspectTableRenderer.Bytes(outBytes)} in {elapsed.TotalSeconds.ToString("F2", inv)} s, file type {converter.FileType}");
        var lossy = converter.Tensors.Where(p => !p.IsCopy && converter.Errors.ContainsKey(p.Name)).ToList();
        if (lossy.Count == 0) return;
        var table = new Table().Title("round-trip error of the re-quantized tensors").AddColumn("tensor").AddColumn("from").AddColumn("to")
            .AddColumn(new TableColumn("max abs").RightAligned()).AddColumn(new TableColumn("RMS").RightAligned()).AddColumn(new TableColumn("relative").RightAligned());
        foreach (var p in lossy)
        {
            var e = converter.Errors[p.Name];
            table.AddRow(Markup.Escape(p.Name), p.SourceType, p.TargetType.ToString(),
                e.MaxAbs.ToString("E3", inv), e.Rms.ToString("E3", inv), e.BitExact ? "exact" : e.Relative.ToString("P3", inv));
        }
        console.Write(table);
    }

    private sealed class Progress(Action<TensorWritten> report) : IProgress<TensorWritten>
    {
        public void Report(TensorWritten value) => report(value);
    }
}
