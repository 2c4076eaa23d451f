namespace KernelGen.Kernels;

// Options of the round-to-nearest group quantizer (Quantization/GroupQuantizer.cs), public through Quantizer.QuantizeGroups,
// QuantizeGptq, QuantizeAwqGemm and QuantizeAwqGemv.

/// <summary>
/// How <see cref="Quantizer.QuantizeGroups"/> picks a group's scale <c>s</c> and zero point <c>z</c> (grid
/// <c>s·(q − z)</c>, <c>q ∈ 0..maxq</c>, <c>maxq = 2^bits − 1</c>). Codes are then
/// <c>q = clamp(round_half_even(w / c) + z, 0, maxq)</c> for every scheme, <c>c</c> = the stored <c>fp16(s)</c> or <c>s</c>
/// itself per <see cref="GroupCodeScale"/>.
/// </summary>
public enum GroupQuantScheme
{
    /// <summary>
    /// GPTQ <c>sym=True</c>: <c>s = 2·max|w| / maxq</c>, <c>z = (maxq + 1) / 2 = 2^(bits−1)</c>. An all-zero group
    /// uses GPTQ's range [−1, 1] (<c>s = 2 / maxq</c>; every code is <c>z</c>, so it decodes to exact zeros).
    /// Deviation from GPTQ's <c>find_params</c>: GPTQ only mirrors <c>xmin = −xmax</c> where <c>xmin &lt; 0</c>, so
    /// a group with no negative element gets <c>s = max / maxq</c> and clamps its upper half; here every group uses
    /// <c>2·max|w| / maxq</c> (identical whenever the group has a negative element).
    /// </summary>
    Symmetric = 0,

    /// <summary>
    /// GPTQ <c>sym=False</c> (the range always contains 0): <c>xmin = min(min w, 0)</c>, <c>xmax = max(max w, 0)</c>
    /// (an all-zero group uses [−1, 1]), <c>s = (xmax − xmin) / maxq</c>, <c>z = round_half_even(−xmin / s)</c> ∈
    /// 0..maxq. Equal to AutoAWQ's <c>pseudo_quantize_tensor</c> for every group whose elements straddle 0 and whose
    /// range is at least 1e-5, and unlike it never clamps a one-signed group.
    /// </summary>
    Asymmetric = 1,

    /// <summary>
    /// AutoAWQ <c>pseudo_quantize_tensor</c> verbatim (<c>zero_point=True</c>):
    /// <c>s = max(max w − min w, 1e-5) / maxq</c>, <c>z = clamp(−round_half_even(min w / s), 0, maxq)</c>. Note that a
    /// group whose elements all have one sign (or are all equal and non-zero) is reconstructed poorly, exactly as
    /// AutoAWQ does it: its range does not contain 0 but the grid must (z is clamped). Use for bit-compatibility
    /// with AutoAWQ's round-to-nearest output, together with <see cref="GroupCodeScale.Fp32"/>.
    /// </summary>
    AutoAwq = 2,
}

/// <summary>Which scale divides the weights when the integer codes are chosen.</summary>
public enum GroupCodeScale
{
    /// <summary>
    /// The fp16-rounded scale that the checkpoint stores and every reader multiplies by (default): each code is the
    /// nearest point of the grid the decoder actually reconstructs, so <c>decode(encode(w))</c> is closest to w.
    /// </summary>
    Fp16 = 0,

    /// <summary>
    /// The unrounded fp32 scale, as AutoGPTQ's <c>quantize()</c> and AutoAWQ's <c>pseudo_quantize_tensor</c> compute
    /// their fake-quantized weights (whose codes their packers then recover). Differs from <see cref="Fp16"/> only for
    /// elements within about <c>maxq·|s − fp16(s)| / s</c> of a rounding boundary.
    /// </summary>
    Fp32 = 1,
}
