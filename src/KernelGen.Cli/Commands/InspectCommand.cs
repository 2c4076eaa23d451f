using System.CommandLine;
using KernelGen.Cli.Infrastructure;
using KernelGen.Cli.Inspection;
using KernelGen.Containers;

namespace KernelGen.Cli.Commands;

/// <summary><c>kernelgen inspect PATH [--json]</c>: what a model file or folder holds.</summary>
public static class InspectCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var path = new Argument<string>("path") { Description = "A GGUF file, a safetensors file, or a Hugging Face model folder." };
        var json = new Option<bool>("--json") { Description = "Print the stable JSON schema (docs/INSPECT-JSON.md) instead of tables." };
        var fullArrays = new Option<bool>("--full-arrays") { Description = "Include metadata arrays in full (by default arrays over 64 elements are summarised)." };
        var all = new Option<bool>("--all") { Description = "List every tensor in the table view (by default the first 40)." };
        var command = new Command("inspect", "Show format, version, metadata, tensors, totals, parameter count and bits per weight.")
        {
            path, json, fullArrays, all,
        };
        command.SetAction(parse => CliRunner.Run(stderr, _ =>
        {
            using var container = ModelOpener.Open(parse.GetValue(path)!);
            var report = ReportBuilder.Build(container, parse.GetValue(fullArrays) ? int.MaxValue : 64);
            if (parse.GetValue(json))
            {
                using var buffer = new MemoryStream();
                InspectJsonWriter.Write(report, buffer);
                stdout.Write(System.Text.Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length));
                stdout.Flush();
            }
            else
            {
                InspectTableRenderer.Render(report, Consoles.For(stdout), parse.GetValue(all));
            }
            return ExitCodes.Ok;
        }));
        return command;
    }
}
