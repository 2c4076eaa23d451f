using System.Globalization;

namespace KernelGen.Conversion.Quantization;

/// <summary>
/// The order llama-quantize writes tensors in (<c>weight_name_comparer</c>): non-block tensors first, then by the
/// layer number of <c>blk.N.</c> (numerically), then byte-wise by name.
/// </summary>
public sealed class LlamaTensorOrder : IComparer<string>
{
    public static readonly LlamaTensorOrder Instance = new();

    public int Compare(string? a, string? b)
    {
        int la = Layer(a!), lb = Layer(b!);
        return la != lb ? la.CompareTo(lb) : string.CompareOrdinal(a, b);
    }

    /// <summary>N of a <c>blk.N.</c> name, or -1.</summary>
    public static int Layer(string name)
    {
        if (!name.StartsWith("blk.", StringComparison.Ordinal)) return -1;
        int dot = name.IndexOf('.', 4);
        return dot > 4 && int.TryParse(name.AsSpan(4, dot - 4), NumberStyles.None, CultureInfo.InvariantCulture, out int n) ? n : -1;
    }
}
