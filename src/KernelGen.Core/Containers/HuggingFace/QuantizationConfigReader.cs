using System.Globalization;
using System.Text.Json;
using KernelGen.Errors;

namespace KernelGen.Containers.HuggingFace;

/// <summary>
/// Reads the stated quantization settings of a checkpoint (FORMATS.md §9): a <c>quantization_config</c> object
/// (transformers' GPTQConfig/AwqConfig/BitNetConfig), AutoGPTQ's <c>quantize_config.json</c>, or AutoGPTQ's
/// <c>gptq_*</c> safetensors metadata. AutoAWQ's own spellings (<c>w_bit</c>, <c>q_group_size</c>) are accepted as
/// aliases. A value of the wrong JSON type is a <see cref="ModelFormatException"/>: guessing would mis-decode weights.
/// </summary>
internal static class QuantizationConfigReader
{
    /// <summary>
    /// Reads a configuration object. <paramref name="impliedMethod"/> is the method to assume when
    /// <c>quant_method</c> is absent (older AutoGPTQ <c>quantize_config.json</c> files do not write it).
    /// </summary>
    public static QuantizationInfo FromJson(JsonElement config, string filePath, string source, string? impliedMethod)
    {
        // Inside config.json the settings are one member among many; messages name it so they point at it.
        string section = source == QuantizationInfo.FromConfigJson ? "quantization_config" : source;
        if (config.ValueKind != JsonValueKind.Object)
            throw new ModelFormatException(filePath, null, $"{section} is {config.ValueKind.ToString().ToLowerInvariant()}, not an object");
        var r = new Fields(config, filePath, source == QuantizationInfo.FromConfigJson ? section + "." : "");
        string? method = r.String("quant_method")?.ToLowerInvariant() ?? impliedMethod;
        var kind = KindOf(method);
        return new QuantizationInfo
        {
            Kind = kind,
            QuantMethod = method,
            Bits = r.Int("bits") ?? r.Int("w_bit"),
            GroupSize = r.Int("group_size") ?? r.Int("q_group_size"),
            Sym = r.Bool("sym"),
            DescAct = r.Bool("desc_act"),
            CheckpointFormat = kind == CheckpointKind.Gptq ? r.String("checkpoint_format")?.ToLowerInvariant() ?? "gptq" : null,
            AwqVersion = kind == CheckpointKind.Awq ? r.String("version")?.ToLowerInvariant() : null,
            ZeroPoint = r.Bool("zero_point"),
            BitNetLinearClass = r.String("linear_class")?.ToLowerInvariant(),
            QuantizationMode = r.String("quantization_mode")?.ToLowerInvariant(),
            Source = source,
            RawJson = config.GetRawText(),
        };
    }

    /// <summary>
    /// AutoGPTQ's <c>save_quantized</c> metadata (<c>gptq_bits</c>, <c>gptq_group_size</c>, …), or null when the
    /// metadata has none. These are informational strings, so a value that does not parse is left unknown.
    /// </summary>
    public static QuantizationInfo? FromGptqMetadata(IReadOnlyList<KeyValuePair<string, string>> metadata)
    {
        string? Get(string key) => metadata.FirstOrDefault(kv => kv.Key == key).Value;
        if (Get("gptq_bits") is null) return null;
        static int? Int(string? s) => int.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int v) ? v : null;
        static bool? Bool(string? s) => bool.TryParse(s, out bool v) ? v : null;
        return new QuantizationInfo
        {
            Kind = CheckpointKind.Gptq,
            QuantMethod = Get("gptq_quant_method")?.ToLowerInvariant() ?? "gptq",
            Bits = Int(Get("gptq_bits")),
            GroupSize = Int(Get("gptq_group_size")),
            DescAct = Bool(Get("gptq_desc_act")),
            CheckpointFormat = Get("gptq_checkpoint_format")?.ToLowerInvariant() ?? "gptq",
            Source = QuantizationInfo.FromSafetensorsMetadata,
        };
    }

    /// <summary>The layout a <c>quant_method</c> implies; methods KernelGen does not decode map to Plain.</summary>
    public static CheckpointKind KindOf(string? method) => method switch
    {
        "gptq" => CheckpointKind.Gptq,
        "awq" => CheckpointKind.Awq,
        "bitnet" => CheckpointKind.BitNet,
        _ => CheckpointKind.Plain,
    };

    /// <summary>Typed access to the members of one configuration object; JSON null counts as absent.</summary>
    private readonly struct Fields(JsonElement config, string filePath, string prefix)
    {
        public string? String(string key) => Present(key) is not { } v ? null
            : v.ValueKind == JsonValueKind.String ? v.GetString()
            : throw Wrong(key, "a string", v);

        public bool? Bool(string key) => Present(key) is not { } v ? null : v.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw Wrong(key, "true or false", v),
        };

        public int? Int(string key) => Present(key) is not { } v ? null
            : v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int i) ? i
            : throw Wrong(key, "an integer", v);

        private JsonElement? Present(string key) =>
            config.TryGetProperty(key, out var value) && value.ValueKind != JsonValueKind.Null ? value : null;

        private ModelFormatException Wrong(string key, string what, JsonElement value) =>
            new(filePath, null, $"{prefix}{key} must be {what}, not {value.ValueKind.ToString().ToLowerInvariant()} {Snippet(value.GetRawText())}");

        private static string Snippet(string text) => text.Length <= 40 ? text : text[..40] + "...";
    }
}
