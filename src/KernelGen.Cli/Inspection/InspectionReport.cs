using System.Text.Json.Nodes;
using KernelGen.Containers;

namespace KernelGen.Cli.Inspection;

/// <summary>One metadata entry as <c>inspect</c> shows it: the value as JSON (long arrays summarised) and its stored type.</summary>
public sealed record MetadataItem(string Key, string Type, JsonNode? Value);

/// <summary>
/// What <c>inspect</c> reports about any container, built by a per-container builder and rendered as a table or as
/// the documented JSON schema (docs/INSPECT-JSON.md).
/// </summary>
public sealed record InspectionReport(
    string Format,
    int? Version,
    string Path,
    IReadOnlyList<MetadataItem> Metadata,
    IReadOnlyList<TensorEntry> Tensors,
    bool TensorsSpanFiles,
    JsonObject Details)
{
    /// <summary>Total tensor data bytes (tensors of unknown size excluded).</summary>
    public long TotalBytes => Tensors.Sum(t => t.Bytes ?? 0);

    /// <summary>Number of parameters: all tensor elements.</summary>
    public long ParameterCount => Tensors.Sum(t => t.ElementCount);

    /// <summary>Average stored bits per parameter over tensors of known size, or null without any.</summary>
    public double? BitsPerWeight
    {
        get
        {
            long bytes = 0, elements = 0;
            foreach (var t in Tensors)
            {
                if (t.Bytes is not long b) continue;
                bytes += b;
                elements += t.ElementCount;
            }
            return elements == 0 ? null : 8.0 * bytes / elements;
        }
    }

    /// <summary>Tensor count and bytes per type, most bytes first.</summary>
    public IEnumerable<(string Type, int Count, long Bytes)> TypeHistogram => Tensors
        .GroupBy(t => t.Type)
        .Select(g => (g.Key, g.Count(), g.Sum(t => t.Bytes ?? 0)))
        .OrderByDescending(x => x.Item3).ThenBy(x => x.Key, StringComparer.Ordinal);
}
