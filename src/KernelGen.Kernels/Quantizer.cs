using KernelGen.Kernels.Generated;
using KernelGen.Kernels.Quantization;

namespace KernelGen.Kernels;

/// <summary>
/// Quantizes float32 data to any built-in format with ggml's reference algorithms (no importance matrix): the bytes
/// equal <c>ggml_quantize_chunk</c>'s, so files match what llama-quantize writes. Scale and code selection lives in
/// <c>Quantization/</c> (shared per format family); the bit packing is each format's generated <c>Encode</c>.
/// Allocation-free: blocks are quantized on the stack straight into the destination.
/// </summary>
public static class Quantizer
{
    /// <summary>Quantizes one block: <c>BlockElements</c> floats into <c>BlockBytes</c> bytes.</summary>
    public delegate void BlockQuantizer(ReadOnlySpan<float> block, Span<byte> destination);

    private static readonly Dictionary<string, BlockQuantizer> ByName = new(StringComparer.OrdinalIgnoreCase)
    {
        ["F32"] = FloatQuantizers.F32, ["F16"] = FloatQuantizers.F16, ["BF16"] = FloatQuantizers.BF16,
        ["Q4_0"] = LegacyQuantizers.Q4_0, ["Q4_1"] = LegacyQuantizers.Q4_1, ["Q5_0"] = LegacyQuantizers.Q5_0,
        ["Q5_1"] = LegacyQuantizers.Q5_1, ["Q8_0"] = LegacyQuantizers.Q8_0, ["Q8_1"] = LegacyQuantizers.Q8_1,
        ["Q2_K"] = KQuantizers.Q2_K, ["Q3_K"] = KQuantizers.Q3_K, ["Q4_K"] = KQuantizers.Q4_K,
        ["Q5_K"] = KQuantizers.Q5_K, ["Q6_K"] = KQuantizers.Q6_K, ["Q8_K"] = KQuantizers.Q8_K,
        ["IQ4_NL"] = Iq4Quantizers.IQ4_NL, ["IQ4_XS"] = Iq4Quantizers.IQ4_XS,
        ["TQ1_0"] = TernaryQuantizers.TQ1_0, ["TQ2_0"] = TernaryQuantizers.TQ2_0,
    };

    /// <summary>Names of the formats that can be quantized to.</summary>
    public static IEnumerable<string> Formats => ByName.Keys.Order(StringComparer.Ordinal);

    /// <summary>True when <paramref name="formatName"/> (for example <c>Q4_K</c>) can be quantized to.</summary>
    public static bool IsSupported(string formatName) => ByName.ContainsKey(formatName);

    /// <summary>True when ggml type <paramref name="ggmlTypeId"/> can be quantized to.</summary>
    public static bool IsSupported(uint ggmlTypeId) =>
        ggmlTypeId <= int.MaxValue && KernelGenFormatRegistry.FindByGgmlTypeId((int)ggmlTypeId) is { } f && ByName.ContainsKey(f.Name);

    /// <summary>Bytes that <paramref name="elements"/> floats take in <paramref name="formatName"/> (a whole number of blocks).</summary>
    public static long QuantizedBytes(string formatName, long elements)
    {
        var f = Format(formatName);
        if (elements % f.BlockElements != 0)
            throw new ArgumentException($"{f.Name} quantizes whole blocks of {f.BlockElements} elements; {elements} is not a multiple", nameof(elements));
        return elements / f.BlockElements * f.BlockBytes;
    }

    /// <summary>Quantizes <paramref name="source"/> (a whole number of blocks) into <paramref name="destination"/>.</summary>
    public static void Quantize(string formatName, ReadOnlySpan<float> source, Span<byte> destination) =>
        Quantize(Format(formatName), ByName[formatName], source, destination);

    /// <summary>Quantizes to ggml type <paramref name="ggmlTypeId"/>.</summary>
    public static void Quantize(uint ggmlTypeId, ReadOnlySpan<float> source, Span<byte> destination)
    {
        var f = (ggmlTypeId <= int.MaxValue ? KernelGenFormatRegistry.FindByGgmlTypeId((int)ggmlTypeId) : null)
            ?? throw new NotSupportedException($"ggml type {ggmlTypeId} has no quantizer");
        Quantize(f.Name, source, destination);
    }

    /// <summary>The block quantizer of a format, for callers that drive their own loops (activation quantization in kernels).</summary>
    public static BlockQuantizer GetBlockQuantizer(string formatName) =>
        ByName.TryGetValue(formatName, out var q) ? q : throw new NotSupportedException($"no quantizer for format '{formatName}'");

    private static KernelGenFormatInfo Format(string formatName) =>
        ByName.ContainsKey(formatName) && KernelGenFormatRegistry.FindByName(formatName) is { } f
            ? f
            : throw new NotSupportedException($"no quantizer for format '{formatName}'; supported: {string.Join(", ", Formats)}");

    private static void Quantize(KernelGenFormatInfo f, BlockQuantizer quantize, ReadOnlySpan<float> source, Span<byte> destination)
    {
        if (source.Length % f.BlockElements != 0)
            throw new ArgumentException($"{f.Name} quantizes whole blocks of {f.BlockElements} elements; got {source.Length}", nameof(source));
        long blocks = source.Length / f.BlockElements;
        if (destination.Length < blocks * f.BlockBytes)
            throw new ArgumentException($"destination holds {destination.Length} bytes; {blocks * f.BlockBytes} needed", nameof(destination));
        for (int i = 0; i < blocks; i++)
            quantize(source.Slice(i * f.BlockElements, f.BlockElements), destination.Slice(i * f.BlockBytes, f.BlockBytes));
    }
}
