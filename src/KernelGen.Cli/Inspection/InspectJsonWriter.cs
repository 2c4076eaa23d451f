using System.Text.Encodings.Web;
using System.Text.Json;

namespace KernelGen.Cli.Inspection;

/// <summary>Writes an <see cref="InspectionReport"/> as the stable <c>inspect --json</c> schema (docs/INSPECT-JSON.md).</summary>
public static class InspectJsonWriter
{
    public static void Write(InspectionReport report, Stream output)
    {
        using var w = new Utf8JsonWriter(output, new JsonWriterOptions
        {
            Indented = true,
            // Token texts are arbitrary Unicode; keep them readable rather than \u-escaped.
            Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        });
        w.WriteStartObject();
        w.WriteString("format", report.Format);
        if (report.Version is int v) w.WriteNumber("version", v); else w.WriteNull("version");
        w.WritePropertyName("metadata");
        w.WriteStartObject();
        foreach (var item in report.Metadata)
        {
            w.WritePropertyName(item.Key);
            if (item.Value is null) w.WriteNullValue(); else item.Value.WriteTo(w);
        }
        w.WriteEndObject();
        w.WritePropertyName("metadata_types");
        w.WriteStartObject();
        foreach (var item in report.Metadata) w.WriteString(item.Key, item.Type);
        w.WriteEndObject();
        w.WritePropertyName("tensors");
        w.WriteStartArray();
        foreach (var t in report.Tensors)
        {
            w.WriteStartObject();
            w.WriteString("name", t.Name);
            w.WriteString("type", t.Type);
            w.WritePropertyName("shape");
            w.WriteStartArray();
            foreach (long d in t.Shape) w.WriteNumberValue(d);
            w.WriteEndArray();
            w.WriteNumber("offset", t.Offset);
            if (t.Bytes is long b) w.WriteNumber("bytes", b); else w.WriteNull("bytes");
            if (report.TensorsSpanFiles) w.WriteString("file", Path.GetFileName(t.File));
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WritePropertyName("totals");
        w.WriteStartObject();
        w.WriteNumber("tensors", report.Tensors.Count);
        w.WriteNumber("bytes", report.TotalBytes);
        w.WriteNumber("parameters", report.ParameterCount);
        if (report.BitsPerWeight is double bpw) w.WriteNumber("bits_per_weight", Math.Round(bpw, 4)); else w.WriteNull("bits_per_weight");
        w.WriteEndObject();
        w.WritePropertyName("details");
        report.Details.WriteTo(w);
        w.WriteEndObject();
        w.Flush();
        output.WriteByte((byte)'\n');
    }
}
