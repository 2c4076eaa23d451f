namespace KernelGen.Kernels.Quantization;

/// <summary>
/// BitNet b1.58 absmean ternarisation (FORMATS.md §7.7, §9.3), shared by the BitNet (Hugging Face) and I2_S
/// (bitnet.cpp) layouts: one fp32 scale per tensor <c>s = max(mean|W|, 1e-5)</c> and ternary values
/// <c>t = clamp(round_half_even(W · (1/s)), −1, 1)</c>, the product with the fp32 reciprocal exactly as transformers'
/// <c>WeightQuant</c> / llama.cpp's <c>weight_quant</c> compute it. The generated encoders pack <c>t + 1</c>.
/// </summary>
internal static class BitNetQuantizer
{
    /// <summary>The lower clamp of the absmean scale.</summary>
    public const float MinScale = 1e-5f;

    /// <summary>
    /// <c>max(mean|W|, 1e-5)</c> in fp32: |W| is summed in float64 and the mean rounded once to fp32 (torch's fp32
    /// reduction may differ from this in the last bit on large tensors). Non-finite means are clamped to 1e-5 too.
    /// </summary>
    public static float AbsMeanScale(ReadOnlySpan<float> weight)
    {
        double sum = 0;
        for (int i = 0; i < weight.Length; i++) sum += Math.Abs(weight[i]);
        float mean = weight.Length == 0 ? 0 : (float)(sum / weight.Length);
        return mean >= MinScale ? mean : MinScale; // NaN compares false -> MinScale
    }

    /// <summary>
    /// Writes the stored codes <c>t + 1 ∈ {0, 1, 2}</c> of every element into <paramref name="codes"/> with scale
    /// <paramref name="scale"/> (normally <see cref="AbsMeanScale"/>): <c>t = clamp(round_half_even(w · (1/s)), −1, 1)</c>.
    /// NaN elements give t = 0.
    /// </summary>
    public static void Ternarize(ReadOnlySpan<float> weight, float scale, Span<int> codes)
    {
        if (!(scale > 0) || float.IsInfinity(scale)) throw new ArgumentOutOfRangeException(nameof(scale), scale, "the ternary scale must be positive and finite");
        if (codes.Length < weight.Length) throw new ArgumentException("codes is shorter than the weight", nameof(codes));
        float inverse = 1f / scale;
        for (int i = 0; i < weight.Length; i++)
        {
            float t = MathF.Round(weight[i] * inverse);
            codes[i] = t >= 1 ? 2 : t <= -1 ? 0 : 1; // NaN -> 1 (t = 0)
        }
    }
}
