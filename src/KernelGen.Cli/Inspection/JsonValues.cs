using System.Text.Json.Nodes;
using KernelGen.Containers.Gguf;

namespace KernelGen.Cli.Inspection;

/// <summary>Converts container values to JSON, the way the inspect schema documents it.</summary>
public static class JsonValues
{
    /// <summary>
    /// A GGUF value as JSON: numbers as numbers (float32 values as the exact double of the float), strings, booleans,
    /// arrays in full when they have at most <paramref name="arrayLimit"/> elements, otherwise a summary object
    /// <c>{"array_type", "count", "head"}</c>. Non-finite floats become the strings "NaN", "Infinity", "-Infinity".
    /// </summary>
    public static JsonNode? FromGguf(GgufValue value, int arrayLimit) => value.Raw switch
    {
        GgufArray a => FromArray(a, arrayLimit),
        string s => JsonValue.Create(s),
        float f => Number(f),
        double d => Number(d),
        _ when value.Type == GgufValueType.Bool => JsonValue.Create(value.AsBool()),
        byte b => JsonValue.Create(b),
        sbyte v => JsonValue.Create(v),
        ushort v => JsonValue.Create(v),
        short v => JsonValue.Create(v),
        uint v => JsonValue.Create(v),
        int v => JsonValue.Create(v),
        ulong v => JsonValue.Create(v),
        long v => JsonValue.Create(v),
        _ => JsonValue.Create(value.ToString()),
    };

    private static JsonNode FromArray(GgufArray a, int arrayLimit)
    {
        if (a.Count <= arrayLimit)
        {
            var all = new JsonArray();
            for (int i = 0; i < a.Count; i++) all.Add(FromGguf(a[i], arrayLimit));
            return all;
        }
        var head = new JsonArray();
        for (int i = 0; i < Math.Min(8, a.Count); i++) head.Add(FromGguf(a[i], arrayLimit));
        return new JsonObject
        {
            ["array_type"] = GgufValueTypes.Name(a.ElementType),
            ["count"] = a.Count,
            ["head"] = head,
        };
    }

    public static JsonNode Number(double d) => double.IsFinite(d)
        ? JsonValue.Create(d)
        : JsonValue.Create(double.IsNaN(d) ? "NaN" : d > 0 ? "Infinity" : "-Infinity");
}
