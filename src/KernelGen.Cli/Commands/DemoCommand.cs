using System.CommandLine;
using System.Globalization;
using KernelGen.Cli.Infrastructure;
using KernelGen.Cli.Inspection;
using KernelGen.Containers;
using Spectre.Console;

namespace KernelGen.Cli.Commands;

/// <summary>
/// <c>kernelgen demo</c>: the main job on the embedded default, a tiny llama GGUF written by llama.cpp. It needs no
/// arguments and no files: the sample ships inside the tool.
/// </summary>
public static class DemoCommand
{
    public const string SampleResource = "KernelGen.Demo.tiny-llama-Q4_K_M.gguf";

    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var command = new Command("demo", "Run KernelGen on its embedded sample model and print what it finds.");
        command.SetAction(_ => CliRunner.Run(stderr, _ => Run(stdout)));
        return command;
    }

    private static int Run(TextWriter stdout)
    {
        string work = Directory.CreateTempSubdirectory("kernelgen-demo-").FullName;
        try
        {
            string sample = ExtractSample(work);
            var console = Consoles.For(stdout);
            console.MarkupLine($"[bold]KernelGen demo[/]: the embedded sample [italic]{Markup.Escape(Path.GetFileName(sample))}[/] (a tiny llama written by llama.cpp)");
            using var container = ModelOpener.Open(sample);
            var report = ReportBuilder.Build(container, 8);
            console.MarkupLine($"format: {report.Format} v{report.Version}, {report.Tensors.Count} tensors, " +
                $"{report.ParameterCount.ToString("N0", CultureInfo.InvariantCulture)} parameters, " +
                $"{InspectTableRenderer.Bytes(report.TotalBytes)} of tensor data, " +
                $"{report.BitsPerWeight.GetValueOrDefault():F3} bits per weight");
            string arch = report.Metadata.FirstOrDefault(m => m.Key == "general.architecture")?.Value?.ToString() ?? "?";
            console.MarkupLine($"architecture: {Markup.Escape(arch)}, metadata keys: {report.Metadata.Count}");
            foreach (var (type, count, bytes) in report.TypeHistogram)
                console.MarkupLine($"  {Markup.Escape(type),-6} {count,3} tensors  {InspectTableRenderer.Bytes(bytes),10}");
            console.WriteLine();
            DemoQuantization.Run(container, console);
            console.WriteLine();
            DemoConversion.Run(sample, work, console);
            console.WriteLine();
            DemoKernels.Run(sample, work, console);
            return ExitCodes.Ok;
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    /// <summary>Writes the embedded sample model into <paramref name="folder"/> and returns its path.</summary>
    public static string ExtractSample(string folder) => ExtractResource(folder, SampleResource, "tiny-llama-Q4_K_M.gguf");

    /// <summary>Writes embedded resource <paramref name="resourceName"/> into <paramref name="folder"/> as <paramref name="fileName"/> and returns its path.</summary>
    public static string ExtractResource(string folder, string resourceName, string fileName)
    {
        using var resource = typeof(DemoCommand).Assembly.GetManifestResourceStream(resourceName)
            ?? throw new InvalidOperationException($"the sample model resource {resourceName} is missing from this build");
        string path = Path.Combine(folder, fileName);
        using var file = File.Create(path);
        resource.CopyTo(file);
        return path;
    }
}
