using KernelGen.Formats;

namespace KernelGen.Conversion.Quantization;

/// <summary>
/// llama.cpp's file types (<c>enum llama_ftype</c>, FORMATS.md §2.4): what <c>--type</c> names, the value written to
/// <c>general.file_type</c>, and the base tensor type of the mixture (<c>llama_ftype_get_default_type</c>).
/// </summary>
public sealed record LlamaFileType(string Name, uint Value, GgmlType DefaultType)
{
    private static readonly LlamaFileType[] All =
    [
        new("F32", 0, GgmlType.F32), new("F16", 1, GgmlType.F16), new("BF16", 32, GgmlType.BF16),
        new("Q4_0", 2, GgmlType.Q4_0), new("Q4_1", 3, GgmlType.Q4_1), new("Q5_0", 8, GgmlType.Q5_0), new("Q5_1", 9, GgmlType.Q5_1),
        new("Q8_0", 7, GgmlType.Q8_0),
        new("Q2_K", 10, GgmlType.Q2_K),
        new("Q3_K_S", 11, GgmlType.Q3_K), new("Q3_K_M", 12, GgmlType.Q3_K), new("Q3_K_L", 13, GgmlType.Q3_K),
        new("Q4_K_S", 14, GgmlType.Q4_K), new("Q4_K_M", 15, GgmlType.Q4_K),
        new("Q5_K_S", 16, GgmlType.Q5_K), new("Q5_K_M", 17, GgmlType.Q5_K),
        new("Q6_K", 18, GgmlType.Q6_K),
        new("IQ4_NL", 25, GgmlType.IQ4_NL), new("IQ4_XS", 30, GgmlType.IQ4_XS),
        new("TQ1_0", 36, GgmlType.TQ1_0), new("TQ2_0", 37, GgmlType.TQ2_0),
    ];

    // llama-quantize's own aliases: a bare k-quant name means its _M mixture.
    private static readonly Dictionary<string, string> Aliases = new(StringComparer.OrdinalIgnoreCase)
    {
        ["Q3_K"] = "Q3_K_M", ["Q4_K"] = "Q4_K_M", ["Q5_K"] = "Q5_K_M",
    };

    /// <summary>The names <c>--type</c> accepts.</summary>
    public static IEnumerable<string> Names => All.Select(f => f.Name).Concat(Aliases.Keys);

    /// <summary>Parses a <c>--type</c> value (a ggml type name or a mixture name, case-insensitive).</summary>
    public static LlamaFileType? Parse(string name)
    {
        if (Aliases.TryGetValue(name, out var alias)) name = alias;
        return All.FirstOrDefault(f => string.Equals(f.Name, name, StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>The file type whose <c>general.file_type</c> value is <paramref name="value"/>.</summary>
    public static LlamaFileType? FromValue(uint value) => All.FirstOrDefault(f => f.Value == value);
}
