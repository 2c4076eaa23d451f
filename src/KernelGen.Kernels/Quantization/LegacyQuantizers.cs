using KernelGen.Kernels.Generated;
using static KernelGen.Kernels.Quantization.GgmlMath;

namespace KernelGen.Kernels.Quantization;

/// <summary>
/// ggml's reference quantizers for the 32-element legacy formats (FORMATS.md §4.2–4.4): they choose the block scale
/// (and min) and the integer codes; the generated <c>Encode</c> of each format packs them. Bit-exact with
/// <c>ggml_quantize_chunk</c>.
/// </summary>
internal static class LegacyQuantizers
{
    /// <summary>Symmetric absmax formats: d = max / -(2^(bits-1)), the element of largest magnitude maps to code 0.</summary>
    private static float SignedMaxScale(ReadOnlySpan<float> x, float divisor, out float inverse)
    {
        float amax = 0, max = 0;
        for (int j = 0; j < 32; j++)
        {
            float a = MathF.Abs(x[j]);
            if (amax < a) { amax = a; max = x[j]; }
        }
        float d = max / divisor;
        inverse = d != 0 ? 1.0f / d : 0;
        return d;
    }

    // (int8_t)(v) in C: convert to int, then wrap to 8 bits.
    private static int ToInt8(float v) => (sbyte)(int)v;

    public static void Q4_0(ReadOnlySpan<float> x, Span<byte> y)
    {
        var b = new Q4_0Block();
        b.D = Fp32ToFp16(SignedMaxScale(x, -8, out float id));
        for (int j = 0; j < 32; j++) b.Q[j] = (byte)Math.Min(15, ToInt8(x[j] * id + 8.5f));
        Q4_0Codec.Encode(in b, y);
    }

    public static void Q5_0(ReadOnlySpan<float> x, Span<byte> y)
    {
        var b = new Q5_0Block();
        b.D = Fp32ToFp16(SignedMaxScale(x, -16, out float id));
        for (int j = 0; j < 32; j++) b.Q[j] = (byte)Math.Min(31, ToInt8(x[j] * id + 16.5f));
        Q5_0Codec.Encode(in b, y);
    }

    /// <summary>Min/max formats: d = (max - min) / (2^bits - 1), codes measured from the block minimum.</summary>
    private static float MinMaxScale(ReadOnlySpan<float> x, float levels, out float min, out float inverse)
    {
        min = float.MaxValue;
        float max = -float.MaxValue;
        for (int j = 0; j < 32; j++)
        {
            if (x[j] < min) min = x[j];
            if (x[j] > max) max = x[j];
        }
        float d = (max - min) / levels;
        inverse = d != 0 ? 1.0f / d : 0;
        return d;
    }

    public static void Q4_1(ReadOnlySpan<float> x, Span<byte> y)
    {
        var b = new Q4_1Block();
        float d = MinMaxScale(x, 15, out float min, out float id);
        b.D = Fp32ToFp16(d);
        b.M = Fp32ToFp16(min);
        for (int j = 0; j < 32; j++) b.Q[j] = (byte)Math.Min(15, ToInt8((x[j] - min) * id + 0.5f));
        Q4_1Codec.Encode(in b, y);
    }

    public static void Q5_1(ReadOnlySpan<float> x, Span<byte> y)
    {
        var b = new Q5_1Block();
        float d = MinMaxScale(x, 31, out float min, out float id);
        b.D = Fp32ToFp16(d);
        b.M = Fp32ToFp16(min);
        // ggml stores (uint8_t)(v) without a clamp here; codes never exceed 31 for finite input.
        for (int j = 0; j < 32; j++) b.Q[j] = (byte)(int)((x[j] - min) * id + 0.5f);
        Q5_1Codec.Encode(in b, y);
    }

    /// <summary>absmax / 127 with round-half-away codes (C roundf).</summary>
    private static float AbsMax127(ReadOnlySpan<float> x, out float inverse)
    {
        float amax = 0;
        for (int j = 0; j < 32; j++) amax = MathF.Max(amax, MathF.Abs(x[j]));
        float d = amax / 127;
        inverse = d != 0 ? 1.0f / d : 0;
        return d;
    }

    public static void Q8_0(ReadOnlySpan<float> x, Span<byte> y)
    {
        var b = new Q8_0Block();
        b.D = Fp32ToFp16(AbsMax127(x, out float id));
        for (int j = 0; j < 32; j++) b.Q[j] = (sbyte)RoundAway(x[j] * id);
        Q8_0Codec.Encode(in b, y);
    }

    /// <summary>Q8_0 plus s = f16(d · Σq), the sum the Q4_1/Q5_1 dot products use for the min term.</summary>
    public static void Q8_1(ReadOnlySpan<float> x, Span<byte> y)
    {
        var b = new Q8_1Block();
        float d = AbsMax127(x, out float id);
        b.D = Fp32ToFp16(d);
        int sum = 0;
        for (int j = 0; j < 32; j++)
        {
            int q = RoundAway(x[j] * id);
            b.Q[j] = (sbyte)q;
            sum += (sbyte)q;
        }
        b.S = Fp32ToFp16(sum * d);
        Q8_1Codec.Encode(in b, y);
    }
}
