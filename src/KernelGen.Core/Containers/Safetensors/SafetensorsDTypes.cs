namespace KernelGen.Containers.Safetensors;

/// <summary>
/// Names and sizes of <see cref="SafetensorsDType"/>: the header spells dtypes as strings and sizes tensors in bits,
/// so every reader and writer goes through these tables rather than <c>Enum.ToString</c>/<c>Enum.Parse</c> (which
/// would also accept numbers and other casings the format does not).
/// </summary>
public static class SafetensorsDTypes
{
    private static readonly string[] Names =
    [
        "BOOL", "F4", "F6_E2M3", "F6_E3M2", "U8", "I8", "F8_E5M2", "F8_E4M3", "F8_E8M0", "I16", "U16", "F16", "BF16",
        "I32", "U32", "F32", "C64", "F64", "I64", "U64",
    ];

    private static readonly byte[] Bits = [8, 4, 6, 6, 8, 8, 8, 8, 8, 16, 16, 16, 16, 32, 32, 32, 64, 64, 64, 64];

    private static readonly Dictionary<string, SafetensorsDType> ByName =
        Enumerable.Range(0, Names.Length).ToDictionary(i => Names[i], i => (SafetensorsDType)i, StringComparer.Ordinal);

    /// <summary>Every dtype, in declaration (reference) order.</summary>
    public static IReadOnlyList<SafetensorsDType> All { get; } = Enumerable.Range(0, Names.Length).Select(i => (SafetensorsDType)i).ToArray();

    /// <summary>The dtype as the header spells it (<c>"BF16"</c>).</summary>
    public static string Name(this SafetensorsDType dtype) => Names[Index(dtype)];

    /// <summary>Bits per element: 4 or 6 for the sub-byte MX types, otherwise 8 × the byte size.</summary>
    public static int BitSize(this SafetensorsDType dtype) => Bits[Index(dtype)];

    /// <summary>Parses a header dtype string; exact, case-sensitive match as the reference's serde enum.</summary>
    public static bool TryParse(string? name, out SafetensorsDType dtype)
    {
        dtype = default;
        return name is not null && ByName.TryGetValue(name, out dtype);
    }

    /// <summary>
    /// The byte size of a tensor of <paramref name="shape"/> (outermost first; empty = scalar), or an exception naming
    /// the problem. For callers that build tensors and want an argument error, not a file error.
    /// </summary>
    public static long ByteSize(SafetensorsDType dtype, ReadOnlySpan<long> shape)
    {
        string? problem = TryComputeSize(dtype, shape, out _, out long bytes);
        return problem is null ? bytes : throw new ArgumentException(problem, nameof(shape));
    }

    /// <summary>
    /// Element count and byte size of a tensor, checked as the reference's <c>Metadata::validate</c> does: the product
    /// of the dimensions and then the bit count must not overflow (evaluated left to right, so <c>[2^40, 2^40, 0]</c>
    /// overflows before the zero is seen), and the bit count must be a whole number of bytes. FORMATS.md does not
    /// state the rule for the sub-byte types; the reference rejects <c>elements × bits % 8 != 0</c>
    /// (<c>MisalignedSlice</c>) rather than rounding up, and so do we. Returns null on success, else the problem.
    /// </summary>
    internal static string? TryComputeSize(SafetensorsDType dtype, ReadOnlySpan<long> shape, out long elements, out long bytes)
    {
        elements = 1;
        bytes = 0;
        foreach (long d in shape)
        {
            if (d < 0) return $"dimension {d} is negative";
            if (d != 0 && elements > long.MaxValue / d)
                return $"the element count of shape {FormatShape(shape)} overflows a 64-bit integer";
            elements *= d;
        }
        int bits = dtype.BitSize();
        if (elements > long.MaxValue / bits)
            return $"the size of {FormatShape(shape)} {dtype.Name()} overflows a 64-bit integer";
        long totalBits = elements * bits;
        if (totalBits % 8 != 0)
            return $"{elements} elements of {bits}-bit {dtype.Name()} are {totalBits} bits, not a whole number of bytes";
        bytes = totalBits / 8;
        return null;
    }

    /// <summary>Formats a shape as the header writes it, for messages.</summary>
    internal static string FormatShape(ReadOnlySpan<long> shape) => "[" + string.Join(", ", shape.ToArray()) + "]";

    private static int Index(SafetensorsDType dtype) =>
        (uint)dtype < (uint)Names.Length ? (int)dtype : throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "not a safetensors dtype");
}
