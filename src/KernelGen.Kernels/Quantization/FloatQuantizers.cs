using KernelGen.Kernels.Generated;
using static KernelGen.Kernels.Quantization.GgmlMath;

namespace KernelGen.Kernels.Quantization;

/// <summary>F32, F16 and BF16 "quantization": ggml's rounding (IEEE RNE for F16; RNE with NaN quieting for BF16).</summary>
internal static class FloatQuantizers
{
    public static void F32(ReadOnlySpan<float> x, Span<byte> y)
    {
        var b = new F32Block { X = x[0] };
        F32Codec.Encode(in b, y);
    }

    public static void F16(ReadOnlySpan<float> x, Span<byte> y)
    {
        var b = new F16Block { X = Fp32ToFp16(x[0]) };
        F16Codec.Encode(in b, y);
    }

    public static void BF16(ReadOnlySpan<float> x, Span<byte> y)
    {
        var b = new BF16Block { X = Fp32ToBf16(x[0]) };
        BF16Codec.Encode(in b, y);
    }
}
