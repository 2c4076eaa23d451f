using System.Buffers;
using System.Runtime.InteropServices;
using KernelGen.Kernels.Generated;
using KernelGen.Kernels.Quantization;

namespace KernelGen.Kernels;

/// <summary>
/// Quantizes float32 data to any built-in format with ggml's reference algorithms (no importance matrix): the bytes
/// equal <c>ggml_quantize_chunk</c>'s, so files match what llama-quantize writes. Scale and code selection lives in
/// <c>Quantization/</c> (shared per format family); the bit packing is each format's generated <c>Encode</c>.
/// Allocation-free: blocks are quantized on the stack straight into the destination.
/// A second section quantizes whole nn.Linear layers to the tensor-level checkpoint formats (GPTQ, AWQ GEMM/GEMV,
/// BitNet, I2_S): round-to-nearest group quantization and BitNet absmean ternarisation, packed by the generated encoders.
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

    // =================================================================================================================
    // Linear-layer (tensor-level) quantizers: GPTQ, AWQ (GEMM / GEMV), BitNet (HF) and I2_S.
    //
    // These quantize a whole nn.Linear weight W[out, in] (row-major floats, row n = output feature n) into a quantized
    // checkpoint's tensors. The algorithms live in Quantization/GroupQuantizer.cs (round-to-nearest group quantization,
    // FORMATS.md §9.1/§9.2) and Quantization/BitNetQuantizer.cs (absmean ternarisation, §7.7/§9.3); packing is only the
    // generated <F>Codec.Encode. The generated encoders pack whole layers from logical arrays (codes [n·K + k],
    // zeros/scales [n·G + g]), so every packed entry point needs LinearScratchLength(layout) ints of scratch: pass it for
    // a call that allocates nothing, or pass an empty span and the call rents it from ArrayPool<int>.Shared (no garbage
    // in steady state). Decoding back to float is the generated <F>Codec.DecodeRows.
    // =================================================================================================================

    /// <summary>Scratch ints <see cref="QuantizeGptq"/> needs: <c>N·K</c> codes, <c>N·G</c> zeros, <c>N·G</c> fp16 scales (two per int) and <c>K</c> group indices.</summary>
    public static long LinearScratchLength(in GPTQLayout layout) =>
        GroupScratch(layout.OutFeatures, layout.InFeatures, layout.GroupCount) + layout.InFeatures;

    /// <summary>Scratch ints <see cref="QuantizeAwqGemm"/> needs: <c>N·K</c> codes, <c>N·G</c> zeros and <c>N·G</c> fp16 scales (two per int).</summary>
    public static long LinearScratchLength(in AWQ_GEMMLayout layout) => GroupScratch(layout.OutFeatures, layout.InFeatures, layout.GroupCount);

    /// <summary>Scratch ints <see cref="QuantizeAwqGemv"/> needs: <c>N·K</c> codes, <c>N·G</c> zeros and <c>N·G</c> fp16 scales (two per int).</summary>
    public static long LinearScratchLength(in AWQ_GEMVLayout layout) => GroupScratch(layout.OutFeatures, layout.InFeatures, layout.GroupCount);

    /// <summary>Scratch ints <see cref="QuantizeBitNet"/> needs: <c>N·K</c> codes.</summary>
    public static long LinearScratchLength(in BitNetLayout layout) => (long)layout.OutFeatures * layout.InFeatures;

    /// <summary>Scratch ints <see cref="QuantizeI2S"/> needs: <c>N·K</c> codes.</summary>
    public static long LinearScratchLength(in I2_SLayout layout) => (long)layout.OutFeatures * layout.InFeatures;

    /// <summary>
    /// Round-to-nearest group quantization to logical values (no packing): for each output row n and group
    /// g (inputs <c>[g·groupSize, min((g+1)·groupSize, K))</c>, the last group may be partial; <paramref name="groupSize"/>
    /// −1 = one group per row), scale <c>s</c> and zero point <c>z</c> per <paramref name="scheme"/>, the stored scale
    /// <c>h = fp16(s)</c> (round to nearest even, saturated at 65504), and codes
    /// <c>q = clamp(round_half_even(w / c) + z, 0, 2^bits − 1)</c> with <c>c = h</c> (<see cref="GroupCodeScale.Fp16"/>,
    /// default) or <c>c = s</c>. The reconstruction is <c>ŵ = h · (q − z)</c> (exact in fp32). For every element of a
    /// group that contains 0 in its range (<see cref="GroupQuantScheme.Symmetric"/> and
    /// <see cref="GroupQuantScheme.Asymmetric"/> always do), <c>|w − ŵ| ≤ s/2 + maxq·|s − h|</c> (plus fp32 rounding),
    /// and <c>|w − ŵ| ≤ h/2</c> where the code is not clamped.
    /// </summary>
    /// <param name="weight">W[out, in], row-major.</param>
    /// <param name="outFeatures">N, rows of W.</param>
    /// <param name="inFeatures">K, columns of W (the grouped axis).</param>
    /// <param name="groupSize">Inputs per group, or −1 for per-channel (one group per row).</param>
    /// <param name="bits">2..8.</param>
    /// <param name="scheme">How the scale and zero point are chosen.</param>
    /// <param name="codes">Receives <c>N·K</c> codes, <c>[n·K + k]</c>.</param>
    /// <param name="zeros">Receives <c>N·G</c> zero points (the true zero point, not a checkpoint's stored field), <c>[n·G + g]</c>.</param>
    /// <param name="scales">Receives <c>N·G</c> fp16 scale bit patterns, <c>[n·G + g]</c>.</param>
    /// <param name="codeScale">Which scale the codes are chosen with.</param>
    /// <param name="zeroPointAtLeastOne">
    /// Never produce a zero point of 0 (GPTQ v1 stores <c>z − 1</c> and cannot hold it, FORMATS.md §9.1): an
    /// <see cref="GroupQuantScheme.Asymmetric"/> group whose zero point would round to 0 (it has no element below
    /// <c>−s/2</c>) gets <c>z = 1</c> and <c>s = xmax / (maxq − 1)</c> instead, the finest grid <c>s·(q − 1)</c> that still
    /// covers it (the RTN bound holds with that scale). Symmetric zero points are never 0.
    /// </param>
    public static void QuantizeGroups(ReadOnlySpan<float> weight, int outFeatures, int inFeatures, int groupSize, int bits,
        GroupQuantScheme scheme, Span<int> codes, Span<int> zeros, Span<ushort> scales,
        GroupCodeScale codeScale = GroupCodeScale.Fp16, bool zeroPointAtLeastOne = false) =>
        GroupQuantizer.Quantize(weight, outFeatures, inFeatures, groupSize, bits, scheme, codeScale, zeroPointAtLeastOne, codes, zeros, scales);

    /// <summary>
    /// Quantizes W[out, in] to a GPTQ layer (round-to-nearest, FORMATS.md §9.1): bits, group size and checkpoint
    /// convention from <paramref name="layout"/>; <see cref="GroupQuantScheme.Symmetric"/> (<c>s = 2·max|w|/maxq</c>,
    /// <c>z = 2^(bits−1)</c>) or <see cref="GroupQuantScheme.Asymmetric"/> (<c>s = (xmax − xmin)/maxq</c> over the range
    /// extended to contain 0, <c>z = round(−xmin/s)</c>) per <paramref name="symmetric"/>; see <see cref="QuantizeGroups"/>.
    /// For <see cref="GPTQCheckpoint.Gptq"/> (v1, stored field <c>z − 1</c>) a zero point of 0 is never produced
    /// (<c>zeroPointAtLeastOne</c>); <see cref="GPTQCheckpoint.GptqV2"/> stores <c>z</c>. RTN has no act-order: when
    /// <paramref name="gIdx"/> is not empty it receives the trivial map <c>g_idx[k] = k / group_size</c>.
    /// </summary>
    /// <param name="weight">W[out, in], row-major, <c>layout.OutFeatures · layout.InFeatures</c> floats.</param>
    /// <param name="layout">The layer's geometry and GPTQ parameters.</param>
    /// <param name="symmetric">GPTQ's <c>sym</c>.</param>
    /// <param name="qweight">Receives tensor <c>qweight</c> (<c>layout.QweightBytes</c>).</param>
    /// <param name="qzeros">Receives tensor <c>qzeros</c> (<c>layout.QzerosBytes</c>).</param>
    /// <param name="scales">Receives tensor <c>scales</c> (<c>layout.ScalesBytes</c>).</param>
    /// <param name="gIdx">Receives tensor <c>g_idx</c> (<c>layout.GIdxBytes</c>), or empty to write none.</param>
    /// <param name="scratch"><see cref="LinearScratchLength(in GPTQLayout)"/> ints, or empty to rent them from the shared pool.</param>
    /// <param name="codeScale">Which scale the codes are chosen with (default: the stored fp16 scale).</param>
    public static void QuantizeGptq(ReadOnlySpan<float> weight, in GPTQLayout layout, bool symmetric,
        Span<byte> qweight, Span<byte> qzeros, Span<byte> scales, Span<byte> gIdx,
        Span<int> scratch = default, GroupCodeScale codeScale = GroupCodeScale.Fp16)
    {
        CheckLayout(layout.OutFeatures, nameof(layout));
        int n = layout.OutFeatures, k = layout.InFeatures, groups = checked((int)layout.GroupCount);
        int[]? rented = UseScratch(ref scratch, LinearScratchLength(layout));
        try
        {
            SplitGroupScratch(scratch, n, k, groups, out var codes, out var zeros, out var sc, out var rest);
            bool v1 = layout.Checkpoint == GPTQCheckpoint.Gptq;
            GroupQuantizer.Quantize(weight, n, k, layout.GroupSize, layout.Bits,
                symmetric ? GroupQuantScheme.Symmetric : GroupQuantScheme.Asymmetric, codeScale, v1, codes, zeros, sc);
            if (v1)
            {
                for (int i = 0; i < zeros.Length; i++) zeros[i] -= 1; // v1 stores zero - 1 (never -1: zero >= 1)
            }
            Span<int> g = rest.Slice(0, k);
            for (int i = 0; i < k; i++) g[i] = i / layout.GroupSize;
            GPTQCodec.Encode(layout, codes, zeros, sc, g, qweight, qzeros, scales, gIdx);
        }
        finally
        {
            if (rented is not null) ArrayPool<int>.Shared.Return(rented);
        }
    }

    /// <summary>
    /// Quantizes W[out, in] to an AutoAWQ GEMM layer (4-bit, zero points stored as is, FORMATS.md §9.2):
    /// <see cref="GroupQuantScheme.Asymmetric"/> by default (<c>s = (xmax − xmin)/15</c> over the range extended to
    /// contain 0, <c>z = round(−xmin/s)</c>; AutoAWQ's <c>pseudo_quantize_tensor</c> formula whenever a group straddles 0),
    /// or <see cref="GroupQuantScheme.AutoAwq"/> for AutoAWQ's formula verbatim; codes
    /// <c>clamp(round(w/c) + z, 0, 15)</c>. Requires <c>out % 8 == 0</c> and <c>in % group_size == 0</c>.
    /// </summary>
    /// <param name="weight">W[out, in], row-major.</param>
    /// <param name="layout">The layer's geometry and group size.</param>
    /// <param name="qweight">Receives tensor <c>qweight</c> (<c>layout.QweightBytes</c>).</param>
    /// <param name="qzeros">Receives tensor <c>qzeros</c> (<c>layout.QzerosBytes</c>).</param>
    /// <param name="scales">Receives tensor <c>scales</c> (<c>layout.ScalesBytes</c>).</param>
    /// <param name="scratch"><see cref="LinearScratchLength(in AWQ_GEMMLayout)"/> ints, or empty to rent them from the shared pool.</param>
    /// <param name="scheme">Scale/zero-point rule (default <see cref="GroupQuantScheme.Asymmetric"/>).</param>
    /// <param name="codeScale">Which scale the codes are chosen with (default: the stored fp16 scale).</param>
    public static void QuantizeAwqGemm(ReadOnlySpan<float> weight, in AWQ_GEMMLayout layout,
        Span<byte> qweight, Span<byte> qzeros, Span<byte> scales, Span<int> scratch = default,
        GroupQuantScheme scheme = GroupQuantScheme.Asymmetric, GroupCodeScale codeScale = GroupCodeScale.Fp16)
    {
        CheckLayout(layout.OutFeatures, nameof(layout));
        CheckAwq(layout.OutFeatures, layout.InFeatures, layout.GroupSize, false);
        int n = layout.OutFeatures, k = layout.InFeatures, groups = checked((int)layout.GroupCount);
        int[]? rented = UseScratch(ref scratch, LinearScratchLength(layout));
        try
        {
            SplitGroupScratch(scratch, n, k, groups, out var codes, out var zeros, out var sc, out _);
            GroupQuantizer.Quantize(weight, n, k, layout.GroupSize, 4, scheme, codeScale, false, codes, zeros, sc);
            AWQ_GEMMCodec.Encode(layout, codes, zeros, sc, qweight, qzeros, scales);
        }
        finally
        {
            if (rented is not null) ArrayPool<int>.Shared.Return(rented);
        }
    }

    /// <summary>
    /// Quantizes W[out, in] to an AutoAWQ GEMV layer: the same quantization as <see cref="QuantizeAwqGemm"/>, packed
    /// transposed (scale columns past the group count are zero padding). Requires <c>in % 8 == 0</c> and
    /// <c>in % group_size == 0</c>.
    /// </summary>
    /// <param name="weight">W[out, in], row-major.</param>
    /// <param name="layout">The layer's geometry and group size.</param>
    /// <param name="qweight">Receives tensor <c>qweight</c> (<c>layout.QweightBytes</c>).</param>
    /// <param name="qzeros">Receives tensor <c>qzeros</c> (<c>layout.QzerosBytes</c>).</param>
    /// <param name="scales">Receives tensor <c>scales</c> (<c>layout.ScalesBytes</c>).</param>
    /// <param name="scratch"><see cref="LinearScratchLength(in AWQ_GEMVLayout)"/> ints, or empty to rent them from the shared pool.</param>
    /// <param name="scheme">Scale/zero-point rule (default <see cref="GroupQuantScheme.Asymmetric"/>).</param>
    /// <param name="codeScale">Which scale the codes are chosen with (default: the stored fp16 scale).</param>
    public static void QuantizeAwqGemv(ReadOnlySpan<float> weight, in AWQ_GEMVLayout layout,
        Span<byte> qweight, Span<byte> qzeros, Span<byte> scales, Span<int> scratch = default,
        GroupQuantScheme scheme = GroupQuantScheme.Asymmetric, GroupCodeScale codeScale = GroupCodeScale.Fp16)
    {
        CheckLayout(layout.OutFeatures, nameof(layout));
        CheckAwq(layout.OutFeatures, layout.InFeatures, layout.GroupSize, true);
        int n = layout.OutFeatures, k = layout.InFeatures, groups = checked((int)layout.GroupCount);
        int[]? rented = UseScratch(ref scratch, LinearScratchLength(layout));
        try
        {
            SplitGroupScratch(scratch, n, k, groups, out var codes, out var zeros, out var sc, out _);
            GroupQuantizer.Quantize(weight, n, k, layout.GroupSize, 4, scheme, codeScale, false, codes, zeros, sc);
            AWQ_GEMVCodec.Encode(layout, codes, zeros, sc, qweight, qzeros, scales);
        }
        finally
        {
            if (rented is not null) ArrayPool<int>.Shared.Return(rented);
        }
    }

    /// <summary>
    /// BitNet b1.58 absmean ternarisation to logical values (FORMATS.md §7.7): <c>s = max(mean|W|, 1e-5)</c> in fp32
    /// (|W| summed in float64, rounded once), or <paramref name="scale"/> when given, and
    /// <c>t = clamp(round_half_even(W · (1/s)), −1, 1)</c> with the fp32 reciprocal. Reconstruction <c>t · s</c>.
    /// </summary>
    /// <param name="weight">The tensor (any shape; the scale is per tensor).</param>
    /// <param name="ternary">Receives one value in {−1, 0, 1} per element.</param>
    /// <param name="scale">A scale to use instead of the absmean (e.g. a checkpoint's own), positive and finite.</param>
    /// <returns>The scale s (multiply convention: W ≈ t·s).</returns>
    public static float TernarizeAbsMean(ReadOnlySpan<float> weight, Span<sbyte> ternary, float? scale = null)
    {
        if (ternary.Length < weight.Length) throw new ArgumentException("ternary is shorter than the weight", nameof(ternary));
        float s = scale ?? BitNetQuantizer.AbsMeanScale(weight);
        if (!(s > 0) || float.IsInfinity(s)) throw new ArgumentOutOfRangeException(nameof(scale), s, "the ternary scale must be positive and finite");
        float inverse = 1f / s;
        for (int i = 0; i < weight.Length; i++)
        {
            float t = MathF.Round(weight[i] * inverse);
            ternary[i] = (sbyte)(t >= 1 ? 1 : t <= -1 ? -1 : 0);
        }
        return s;
    }

    /// <summary>
    /// Quantizes W[out, in] to a BitNet b1.58 Hugging Face layer (FORMATS.md §9.3): absmean ternarisation (see
    /// <see cref="TernarizeAbsMean"/>), codes <c>t + 1</c> packed by the generated encoder, and <c>weight_scale</c> as
    /// bf16 (round to nearest even) in the layout's <c>linear_class</c> convention: <c>autobitlinear</c> stores
    /// <c>bf16(s)</c> (W = t·ws), <c>bitlinear</c> stores <c>bf16(1/s)</c> (W = t/ws), the reciprocal taken in fp32.
    /// </summary>
    /// <param name="weight">W[out, in], row-major.</param>
    /// <param name="layout">The layer's geometry and linear class.</param>
    /// <param name="packedWeight">Receives tensor <c>weight</c> (<c>layout.WeightBytes</c>).</param>
    /// <param name="weightScale">Receives tensor <c>weight_scale</c> (<c>layout.WeightScaleBytes</c>).</param>
    /// <param name="scratch"><see cref="LinearScratchLength(in BitNetLayout)"/> ints, or empty to rent them from the shared pool.</param>
    /// <param name="scale">A scale s to use instead of the absmean (multiply convention), positive and finite.</param>
    /// <returns>The fp32 scale s (multiply convention) the codes were chosen with.</returns>
    public static float QuantizeBitNet(ReadOnlySpan<float> weight, in BitNetLayout layout, Span<byte> packedWeight, Span<byte> weightScale,
        Span<int> scratch = default, float? scale = null)
    {
        CheckLayout(layout.OutFeatures, nameof(layout));
        int elements = checked(layout.OutFeatures * layout.InFeatures);
        if (weight.Length < elements) throw new ArgumentException($"weight holds {weight.Length} floats; out·in = {elements} needed", nameof(weight));
        int[]? rented = UseScratch(ref scratch, LinearScratchLength(layout));
        try
        {
            var w = weight.Slice(0, elements);
            float s = scale ?? BitNetQuantizer.AbsMeanScale(w);
            BitNetQuantizer.Ternarize(w, s, scratch);
            Span<ushort> ws = stackalloc ushort[1];
            ws[0] = GgmlMath.Fp32ToBf16(layout.LinearClass == BitNetLinearClass.Bitlinear ? 1f / s : s);
            BitNetCodec.Encode(layout, scratch.Slice(0, elements), ws, packedWeight, weightScale);
            return s;
        }
        finally
        {
            if (rented is not null) ArrayPool<int>.Shared.Return(rented);
        }
    }

    /// <summary>
    /// Quantizes W[out, in] to bitnet.cpp I2_S tensor data (FORMATS.md §3.6; x86 ACT_PARALLEL layout): absmean
    /// ternarisation (see <see cref="TernarizeAbsMean"/>), codes <c>t + 1</c> packed by the generated encoder, the fp32
    /// scale s (multiply convention, W = t·s) in the first 4 bytes of the 32-byte tail.
    /// </summary>
    /// <param name="weight">W[out, in], row-major.</param>
    /// <param name="layout">The tensor's geometry.</param>
    /// <param name="data">Receives the tensor data (<c>layout.DataBytes</c>).</param>
    /// <param name="scratch"><see cref="LinearScratchLength(in I2_SLayout)"/> ints, or empty to rent them from the shared pool.</param>
    /// <param name="scale">A scale s to use instead of the absmean, positive and finite (bitnet.cpp's <c>override_scale</c>).</param>
    /// <returns>The fp32 scale s written to the tail.</returns>
    public static float QuantizeI2S(ReadOnlySpan<float> weight, in I2_SLayout layout, Span<byte> data, Span<int> scratch = default, float? scale = null)
    {
        CheckLayout(layout.OutFeatures, nameof(layout));
        int elements = checked(layout.OutFeatures * layout.InFeatures);
        if (weight.Length < elements) throw new ArgumentException($"weight holds {weight.Length} floats; out·in = {elements} needed", nameof(weight));
        int[]? rented = UseScratch(ref scratch, LinearScratchLength(layout));
        try
        {
            var w = weight.Slice(0, elements);
            float s = scale ?? BitNetQuantizer.AbsMeanScale(w);
            BitNetQuantizer.Ternarize(w, s, scratch);
            Span<float> tail = stackalloc float[1];
            tail[0] = s;
            I2_SCodec.Encode(layout, scratch.Slice(0, elements), tail, data);
            return s;
        }
        finally
        {
            if (rented is not null) ArrayPool<int>.Shared.Return(rented);
        }
    }

    private static long GroupScratch(int outFeatures, int inFeatures, long groupCount)
    {
        long ng = outFeatures * groupCount;
        return (long)outFeatures * inFeatures + ng + (ng + 1) / 2;
    }

    private static void CheckLayout(int outFeatures, string name)
    {
        if (outFeatures < 1) throw new ArgumentException("The layout is not initialized; construct it with its constructor.", name);
    }

    private static void CheckAwq(int outFeatures, int inFeatures, int groupSize, bool gemv)
    {
        if (!gemv && outFeatures % 8 != 0)
            throw new ArgumentException($"AWQ GEMM packs 8 output features per word; out features {outFeatures} is not a multiple of 8", "layout");
        if (gemv && inFeatures % 8 != 0)
            throw new ArgumentException($"AWQ GEMV packs 8 inputs per word; in features {inFeatures} is not a multiple of 8", "layout");
        if (inFeatures % groupSize != 0)
            throw new ArgumentException($"AWQ needs whole groups; in features {inFeatures} is not a multiple of the group size {groupSize}", "layout");
    }

    /// <summary>Checks caller scratch, or rents it when the caller passed none (the array must be returned).</summary>
    private static int[]? UseScratch(ref Span<int> scratch, long needed)
    {
        if (!scratch.IsEmpty)
        {
            if (scratch.Length < needed) throw new ArgumentException($"scratch holds {scratch.Length} ints; {needed} needed (LinearScratchLength)", nameof(scratch));
            return null;
        }
        var rented = ArrayPool<int>.Shared.Rent(checked((int)needed));
        scratch = rented;
        return rented;
    }

    private static void SplitGroupScratch(Span<int> scratch, int n, int k, int groups,
        out Span<int> codes, out Span<int> zeros, out Span<ushort> scales, out Span<int> rest)
    {
        int nk = checked(n * k), ng = checked(n * groups), scaleInts = (ng + 1) / 2;
        codes = scratch.Slice(0, nk);
        zeros = scratch.Slice(nk, ng);
        scales = MemoryMarshal.Cast<int, ushort>(scratch.Slice(nk + ng, scaleInts)).Slice(0, ng);
        rest = scratch.Slice(nk + ng + scaleInts);
    }
}
