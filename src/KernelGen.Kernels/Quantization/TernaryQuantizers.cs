using KernelGen.Kernels.Generated;
using static KernelGen.Kernels.Quantization.GgmlMath;

namespace KernelGen.Kernels.Quantization;

/// <summary>
/// TQ1_0 and TQ2_0 (FORMATS.md §4.12): the block scale is the absmax (so a BitNet ternary tensor with one scale
/// round-trips exactly when the scale is fp16-representable), codes are round-half-away(x / d) + 1 ∈ {0, 1, 2}.
/// The two formats differ only in packing, which their generated encoders do.
/// </summary>
internal static class TernaryQuantizers
{
    private static ushort Ternarize(ReadOnlySpan<float> x, Span<byte> codes)
    {
        float amax = 0;
        for (int j = 0; j < 256; j++) amax = MathF.Max(amax, MathF.Abs(x[j]));
        float id = amax != 0 ? 1 / amax : 0;
        for (int j = 0; j < 256; j++) codes[j] = (byte)(RoundAway(x[j] * id) + 1);
        return Fp32ToFp16(amax);
    }

    public static void TQ1_0(ReadOnlySpan<float> x, Span<byte> y)
    {
        var b = new TQ1_0Block();
        b.D = Ternarize(x, b.Q);
        TQ1_0Codec.Encode(in b, y);
    }

    public static void TQ2_0(ReadOnlySpan<float> x, Span<byte> y)
    {
        var b = new TQ2_0Block();
        b.D = Ternarize(x, b.Q);
        TQ2_0Codec.Encode(in b, y);
    }
}
