using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using KernelGen.Cli.Infrastructure;
using KernelGen.Containers;
using KernelGen.Conversion.Verification;
using Spectre.Console;

namespace KernelGen.Cli.Commands;

/// <summary>
/// <c>kernelgen verify A B [--tolerance X] [--json]</c>: decodes both models and compares them tensor by tensor.
/// Exit code 1 when a tensor is over the tolerance or present in one model only.
/// </summary>
public static class VerifyCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var a = new Argument<string>("a") { Description = "First model (GGUF, safetensors or folder)." };
        var b = new Argument<string>("b") { Description = "Second model." };
        var tolerance = new Option<double>("--tolerance") { Description = "Largest relative RMS error allowed per tensor; 0 (the default) demands bit-exact equality.", DefaultValueFactory = _ => 0 };
        var json = new Option<bool>("--json") { Description = "One JSON object with every tensor's figures." };
        var command = new Command("verify", "Compare two models tensor by tensor after decoding both.") { a, b, tolerance, json };
        command.SetAction(parse => CliRunner.Run(stderr, cancellation =>
        {
            using var first = ModelOpener.Open(parse.GetValue(a)!);
            using var second = ModelOpener.Open(parse.GetValue(b)!);
            var result = ModelComparison.Compare(first, second, parse.GetValue(tolerance), cancellation);
            if (parse.GetValue(json)) stdout.WriteLine(ToJson(result, parse.GetValue(tolerance)).ToJsonString());
            else Render(result, Consoles.For(stdout));
            return result.Passed ? ExitCodes.Ok : ExitCodes.CheckFailed;
        }));
        return command;
    }

    private static JsonObject ToJson(ModelComparison.Result r, double tolerance) => new()
    {
        ["passed"] = r.Passed,
        ["tolerance"] = tolerance,
        ["tensors"] = new JsonArray(r.Tensors.Select(t => (JsonNode)new JsonObject
        {
            ["name"] = t.Name, ["type_a"] = t.TypeA, ["type_b"] = t.TypeB, ["shape"] = new JsonArray(t.Shape.Select(d => (JsonNode)d).ToArray()),
            ["bit_exact"] = t.Error.BitExact, ["max_abs"] = t.Error.MaxAbs, ["rms"] = t.Error.Rms,
            ["relative"] = double.IsFinite(t.Error.Relative) ? t.Error.Relative : null, ["within_tolerance"] = t.WithinTolerance,
        }).ToArray()),
        ["only_in_a"] = new JsonArray(r.OnlyInA.Select(n => (JsonNode)n).ToArray()),
        ["only_in_b"] = new JsonArray(r.OnlyInB.Select(n => (JsonNode)n).ToArray()),
    };

    private static void Render(ModelComparison.Result r, IAnsiConsole console)
    {
        var inv = CultureInfo.InvariantCulture;
        var table = new Table().AddColumn("tensor").AddColumn("A").AddColumn("B").AddColumn("result")
            .AddColumn(new TableColumn("max abs").RightAligned()).AddColumn(new TableColumn("RMS").RightAligned()).AddColumn(new TableColumn("relative").RightAligned());
        foreach (var t in r.Tensors)
            table.AddRow(Markup.Escape(t.Name), Markup.Escape(t.TypeA), Markup.Escape(t.TypeB),
                t.Error.BitExact ? "[green]bit-exact[/]" : t.WithinTolerance ? "within tolerance" : "[red]over tolerance[/]",
                t.Error.MaxAbs.ToString("E3", inv), t.Error.Rms.ToString("E3", inv), t.Error.Relative.ToString("P4", inv));
        console.Write(table);
        foreach (string n in r.OnlyInA) console.MarkupLine($"[red]only in A:[/] {Markup.Escape(n)}");
        foreach (string n in r.OnlyInB) console.MarkupLine($"[red]only in B:[/] {Markup.Escape(n)}");
        int exact = r.Tensors.Count(t => t.Error.BitExact);
        console.MarkupLine($"{r.Tensors.Count} tensors compared: {exact} bit-exact, {r.Tensors.Count(t => !t.WithinTolerance)} over tolerance; {(r.Passed ? "[green]PASS[/]" : "[red]FAIL[/]")}");
    }
}
