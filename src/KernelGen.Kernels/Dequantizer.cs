using KernelGen.Kernels.Generated;

namespace KernelGen.Kernels;

/// <summary>
/// Decodes quantized tensor data to <see cref="float"/>. A thin facade over the generated format registry
/// (<see cref="KernelGenFormatRegistry"/>): formats are looked up by ggml type id or by name, and decoding runs the
/// widest SIMD path the hardware accelerates. Results are bit-exact with ggml's <c>to_float</c>.
/// </summary>
public static class Dequantizer
{
    /// <summary>All formats this library can decode.</summary>
    public static IReadOnlyList<KernelGenFormatInfo> Formats => KernelGenFormatRegistry.Formats;

    /// <summary>True when <paramref name="ggmlTypeId"/> (a GGUF tensor type) can be decoded.</summary>
    public static bool IsSupported(uint ggmlTypeId) => ggmlTypeId <= int.MaxValue && KernelGenFormatRegistry.FindByGgmlTypeId((int)ggmlTypeId) is not null;

    /// <summary>True when a format named <paramref name="formatName"/> (for example <c>Q4_K</c>, case-insensitive) can be decoded.</summary>
    public static bool IsSupported(string formatName)
    {
        ArgumentNullException.ThrowIfNull(formatName);
        return KernelGenFormatRegistry.FindByName(formatName) is not null;
    }

    /// <summary>Gets the format with ggml type id <paramref name="ggmlTypeId"/>.</summary>
    /// <exception cref="NotSupportedException">No generated format has this id.</exception>
    public static KernelGenFormatInfo GetFormat(uint ggmlTypeId) =>
        (ggmlTypeId <= int.MaxValue ? KernelGenFormatRegistry.FindByGgmlTypeId((int)ggmlTypeId) : null)
        ?? throw new NotSupportedException($"ggml type {ggmlTypeId} is not supported by KernelGen.Kernels.");

    /// <summary>Gets the format named <paramref name="formatName"/> (case-insensitive).</summary>
    /// <exception cref="NotSupportedException">No generated format has this name.</exception>
    public static KernelGenFormatInfo GetFormat(string formatName)
    {
        ArgumentNullException.ThrowIfNull(formatName);
        return KernelGenFormatRegistry.FindByName(formatName)
            ?? throw new NotSupportedException($"Format '{formatName}' is not supported by KernelGen.Kernels.");
    }

    /// <summary>
    /// Decodes whole blocks of <paramref name="src"/> (data of ggml type <paramref name="ggmlTypeId"/>) into
    /// <paramref name="dst"/>.
    /// </summary>
    /// <param name="ggmlTypeId">The GGUF tensor type (for example 2 for Q4_0, 12 for Q4_K).</param>
    /// <param name="src">Encoded bytes; the length must be a multiple of the format's block size in bytes.</param>
    /// <param name="dst">Receives <c>src.Length / BlockBytes * BlockElements</c> floats.</param>
    public static void Dequantize(uint ggmlTypeId, ReadOnlySpan<byte> src, Span<float> dst) => GetFormat(ggmlTypeId).DecodeRow(src, dst);

    /// <summary>Decodes whole blocks of <paramref name="src"/> in the format named <paramref name="formatName"/>.</summary>
    public static void Dequantize(string formatName, ReadOnlySpan<byte> src, Span<float> dst) => GetFormat(formatName).DecodeRow(src, dst);

    /// <summary>Number of floats that <paramref name="byteCount"/> bytes of <paramref name="format"/> decode to.</summary>
    public static long ElementCount(KernelGenFormatInfo format, long byteCount)
    {
        ArgumentNullException.ThrowIfNull(format);
        if (byteCount < 0 || byteCount % format.BlockBytes != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(byteCount), $"{format.Name} data is a whole number of {format.BlockBytes}-byte blocks.");
        }
        return byteCount / format.BlockBytes * format.BlockElements;
    }
}
