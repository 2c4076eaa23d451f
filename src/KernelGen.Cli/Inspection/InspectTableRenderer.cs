using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Spectre.Console;

namespace KernelGen.Cli.Inspection;

/// <summary>Renders an <see cref="InspectionReport"/> for people: summary, metadata table, tensor table, type totals.</summary>
public static class InspectTableRenderer
{
    private const int MaxValueChars = 96;

    public static void Render(InspectionReport report, IAnsiConsole console, bool allTensors)
    {
        var summary = new Grid().AddColumn().AddColumn();
        summary.AddRow("[bold]format[/]", Markup.Escape(report.Format + (report.Version is int v ? $" v{v}" : "")));
        summary.AddRow("[bold]path[/]", Markup.Escape(report.Path));
        foreach (var (key, value) in report.Details)
            summary.AddRow($"[bold]{Markup.Escape(key.Replace('_', ' '))}[/]", Markup.Escape(Short(value)));
        summary.AddRow("[bold]tensors[/]", report.Tensors.Count.ToString("N0", CultureInfo.InvariantCulture));
        summary.AddRow("[bold]parameters[/]", report.ParameterCount.ToString("N0", CultureInfo.InvariantCulture));
        summary.AddRow("[bold]tensor bytes[/]", Bytes(report.TotalBytes));
        summary.AddRow("[bold]bits per weight[/]", report.BitsPerWeight is double b ? b.ToString("F3", CultureInfo.InvariantCulture) : "-");
        console.Write(summary);
        console.WriteLine();

        if (report.Metadata.Count > 0)
        {
            var meta = new Table().Title("metadata").AddColumn("key").AddColumn("type").AddColumn("value");
            foreach (var item in report.Metadata)
                meta.AddRow(Markup.Escape(item.Key), Markup.Escape(item.Type), Markup.Escape(Short(item.Value)));
            console.Write(meta);
        }

        if (report.Tensors.Count > 0)
        {
            var tensors = new Table().Title("tensors").AddColumn("name").AddColumn("type").AddColumn("shape")
                .AddColumn(new TableColumn("bytes").RightAligned()).AddColumn(new TableColumn("offset").RightAligned());
            if (report.TensorsSpanFiles) tensors.AddColumn("file");
            const int head = 40;
            var shown = allTensors || report.Tensors.Count <= head ? report.Tensors : report.Tensors.Take(head);
            foreach (var t in shown)
            {
                var row = new List<string>
                {
                    Markup.Escape(t.Name), Markup.Escape(t.Type), Markup.Escape("[" + string.Join(", ", t.Shape) + "]"),
                    t.Bytes is long n ? n.ToString("N0", CultureInfo.InvariantCulture) : "?",
                    t.Offset.ToString(CultureInfo.InvariantCulture),
                };
                if (report.TensorsSpanFiles) row.Add(Markup.Escape(Path.GetFileName(t.File)));
                tensors.AddRow(row.ToArray());
            }
            if (!ReferenceEquals(shown, report.Tensors))
                tensors.Caption($"{report.Tensors.Count - head} more tensors not shown (use --all)");
            console.Write(tensors);

            var types = new Table().Title("by type").AddColumn("type").AddColumn(new TableColumn("tensors").RightAligned())
                .AddColumn(new TableColumn("bytes").RightAligned());
            foreach (var (type, count, bytes) in report.TypeHistogram)
                types.AddRow(Markup.Escape(type), count.ToString(CultureInfo.InvariantCulture), Bytes(bytes));
            console.Write(types);
        }
    }

    /// <summary>A value on one short line: long strings cut, summarised arrays as "[TYPE x N] first, second, ...".</summary>
    public static string Short(JsonNode? node)
    {
        string s = node switch
        {
            null => "null",
            JsonObject o when o["array_type"] is not null && o["count"] is not null =>
                $"[{o["array_type"]} x {o["count"]}] " + string.Join(", ", (o["head"] as JsonArray ?? []).Select(x => Plain(x))) + ", ...",
            JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
            _ => node.ToJsonString(),
        };
        s = s.Replace("\n", "\\n").Replace("\r", "\\r");
        return s.Length <= MaxValueChars ? s : s[..(MaxValueChars - 1)] + "…";
    }

    private static string Plain(JsonNode? n) => n is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : n?.ToJsonString() ?? "null";

    public static string Bytes(long n) => n switch
    {
        >= 1L << 30 => $"{n / (double)(1L << 30):F2} GiB",
        >= 1L << 20 => $"{n / (double)(1L << 20):F2} MiB",
        >= 1L << 10 => $"{n / 1024.0:F1} KiB",
        _ => $"{n} B",
    };
}
