using KernelGen.Kernels.Generated;

namespace KernelGen.Kernels.MatMul;

// Factories for the tensor-level checkpoint formats (GPTQ, AWQ GEMM/GEMV, BitNet, I2_S): each layer is repacked ONCE,
// at load, into GGUF-style kernel rows (formats/gq4_g128, gq4_g32, gq8_g128, gq8_g32, tb2_f32.kgspec), so that the
// same generated block kernels serve every format. The repacked rows decode bit for bit to the checkpoint's own
// tensor decoder (GPTQCodec.DecodeRows, ...), with act-order columns permuted (InputOrder). The layer's stored fields
// are read with the generated DecodeFields (transiently N·K ints of scratch) and the blocks packed with the generated
// block Encode: no layout is written by hand.
public sealed partial class QuantizedMatrix
{
    /// <summary>
    /// Repacks a GPTQ layer (bits 2, 3, 4 or 8; v1 or v2 zero points; with or without act-order <c>g_idx</c>) into
    /// kernel rows: <c>GQ4_G128</c> (codes of 2–4 bits, every group a multiple of 128 inputs), <c>GQ4_G32</c> (groups a
    /// multiple of 32), <c>GQ8_G128</c> / <c>GQ8_G32</c> (8 bits). Row r = output feature r, <see cref="K"/> = in
    /// features. The zero point stored is the effective one the spec decodes (v1: <c>(field + 1) &amp; mask</c>). With a
    /// non-monotonic <c>g_idx</c> the inputs are stored group by group (stable) and <see cref="InputOrder"/> says which
    /// input each stored column holds; otherwise <see cref="InputOrder"/> is empty.
    /// </summary>
    /// <param name="layout">The layer's geometry and GPTQ parameters.</param>
    /// <param name="qweight">Tensor <c>qweight</c> (<c>layout.QweightBytes</c> bytes, little-endian int32).</param>
    /// <param name="qzeros">Tensor <c>qzeros</c> (<c>layout.QzerosBytes</c> bytes).</param>
    /// <param name="scales">Tensor <c>scales</c> (<c>layout.ScalesBytes</c> bytes, fp16).</param>
    /// <param name="gIdx">Tensor <c>g_idx</c> (<c>layout.GIdxBytes</c> bytes), or empty: the group of input k is then <c>k / group_size</c>.</param>
    /// <exception cref="ArgumentException">
    /// The layout is not initialized, a buffer has the wrong length, <c>g_idx</c> names a group outside the layout, or a
    /// group does not hold a multiple of 32 inputs (group sizes that are not multiples of 32, per-channel or partial last
    /// groups whose length is not a multiple of 32).
    /// </exception>
    public static QuantizedMatrix FromGptq(in GPTQLayout layout, ReadOnlySpan<byte> qweight, ReadOnlySpan<byte> qzeros, ReadOnlySpan<byte> scales, ReadOnlySpan<byte> gIdx)
    {
        const string source = GPTQCodec.FormatName;
        CheckLayout(source, layout.OutFeatures);
        CheckBuffer(source, "qweight", qweight.Length, layout.QweightBytes, nameof(qweight));
        CheckBuffer(source, "qzeros", qzeros.Length, layout.QzerosBytes, nameof(qzeros));
        CheckBuffer(source, "scales", scales.Length, layout.ScalesBytes, nameof(scales));
        if (!gIdx.IsEmpty) CheckBuffer(source, "g_idx", gIdx.Length, layout.GIdxBytes, nameof(gIdx));
        int n = layout.OutFeatures, k = layout.InFeatures, groups = checked((int)layout.GroupCount);
        var codes = new int[Elements(source, n, k)];
        var zeros = new int[Elements(source, n, groups)];
        var s = new ushort[zeros.Length];
        var groupOf = new int[k];
        GPTQCodec.DecodeFields(layout, qweight, qzeros, scales, gIdx, codes, zeros, s, groupOf);
        if (layout.Checkpoint == GPTQCheckpoint.Gptq)
        {
            int mask = (1 << layout.Bits) - 1;
            for (int i = 0; i < zeros.Length; i++) zeros[i] = (zeros[i] + 1) & mask; // the spec's v1 reading
        }
        var packed = GroupRepacker.Repack(source, n, k, groups, layout.Bits, codes, zeros, s, groupOf);
        return new QuantizedMatrix(packed.Format, packed.Rows, k, n, packed.RowBytes, packed.InputOrder, source);
    }

    /// <summary>
    /// Repacks an AutoAWQ GEMM layer (4-bit, zero points as stored, group of input k = <c>k / group_size</c>) into
    /// <c>GQ4_G128</c> rows (group size a multiple of 128) or <c>GQ4_G32</c> rows (a multiple of 32). Row r = output
    /// feature r, <see cref="K"/> = in features; no input permutation.
    /// </summary>
    /// <param name="layout">The layer's geometry and group size (out features a multiple of 8, in features a multiple of the group size).</param>
    /// <param name="qweight">Tensor <c>qweight</c> (<c>layout.QweightBytes</c> bytes).</param>
    /// <param name="qzeros">Tensor <c>qzeros</c> (<c>layout.QzerosBytes</c> bytes).</param>
    /// <param name="scales">Tensor <c>scales</c> (<c>layout.ScalesBytes</c> bytes, fp16).</param>
    /// <exception cref="ArgumentException">The layout is not initialized or not supported, or a buffer has the wrong length.</exception>
    public static QuantizedMatrix FromAwqGemm(in AWQ_GEMMLayout layout, ReadOnlySpan<byte> qweight, ReadOnlySpan<byte> qzeros, ReadOnlySpan<byte> scales)
    {
        const string source = AWQ_GEMMCodec.FormatName;
        CheckLayout(source, layout.OutFeatures);
        if (layout.OutFeatures % 8 != 0)
            throw new ArgumentException($"{source}: out features {layout.OutFeatures} is not a multiple of 8 (8 outputs per packed word).", nameof(layout));
        CheckAwqGroups(source, layout.InFeatures, layout.GroupSize);
        CheckBuffer(source, "qweight", qweight.Length, layout.QweightBytes, nameof(qweight));
        CheckBuffer(source, "qzeros", qzeros.Length, layout.QzerosBytes, nameof(qzeros));
        CheckBuffer(source, "scales", scales.Length, layout.ScalesBytes, nameof(scales));
        int n = layout.OutFeatures, k = layout.InFeatures, groups = checked((int)layout.GroupCount);
        var codes = new int[Elements(source, n, k)];
        var zeros = new int[Elements(source, n, groups)];
        var s = new ushort[zeros.Length];
        AWQ_GEMMCodec.DecodeFields(layout, qweight, qzeros, scales, codes, zeros, s);
        return FromAwqFields(source, n, k, groups, layout.GroupSize, codes, zeros, s);
    }

    /// <summary>
    /// Repacks an AutoAWQ GEMV layer (4-bit, transposed packing; see <see cref="FromAwqGemm"/>) into <c>GQ4_G128</c> or
    /// <c>GQ4_G32</c> rows. Row r = output feature r, <see cref="K"/> = in features; no input permutation.
    /// </summary>
    /// <param name="layout">The layer's geometry and group size (in features a multiple of 8 and of the group size).</param>
    /// <param name="qweight">Tensor <c>qweight</c> (<c>layout.QweightBytes</c> bytes).</param>
    /// <param name="qzeros">Tensor <c>qzeros</c> (<c>layout.QzerosBytes</c> bytes).</param>
    /// <param name="scales">Tensor <c>scales</c> (<c>layout.ScalesBytes</c> bytes, fp16, padded columns ignored).</param>
    /// <exception cref="ArgumentException">The layout is not initialized or not supported, or a buffer has the wrong length.</exception>
    public static QuantizedMatrix FromAwqGemv(in AWQ_GEMVLayout layout, ReadOnlySpan<byte> qweight, ReadOnlySpan<byte> qzeros, ReadOnlySpan<byte> scales)
    {
        const string source = AWQ_GEMVCodec.FormatName;
        CheckLayout(source, layout.OutFeatures);
        if (layout.InFeatures % 8 != 0)
            throw new ArgumentException($"{source}: in features {layout.InFeatures} is not a multiple of 8 (8 inputs per packed word).", nameof(layout));
        CheckAwqGroups(source, layout.InFeatures, layout.GroupSize);
        CheckBuffer(source, "qweight", qweight.Length, layout.QweightBytes, nameof(qweight));
        CheckBuffer(source, "qzeros", qzeros.Length, layout.QzerosBytes, nameof(qzeros));
        CheckBuffer(source, "scales", scales.Length, layout.ScalesBytes, nameof(scales));
        int n = layout.OutFeatures, k = layout.InFeatures, groups = checked((int)layout.GroupCount);
        var codes = new int[Elements(source, n, k)];
        var zeros = new int[Elements(source, n, groups)];
        var s = new ushort[zeros.Length];
        AWQ_GEMVCodec.DecodeFields(layout, qweight, qzeros, scales, codes, zeros, s);
        return FromAwqFields(source, n, k, groups, layout.GroupSize, codes, zeros, s);
    }

    /// <summary>
    /// Repacks a BitNet b1.58 Hugging Face layer (packed ternary <c>weight</c> and bf16 <c>weight_scale</c>) into
    /// <c>TB2_F32</c> rows with block scale <c>d = ws</c> (autobitlinear, W = t·ws) or <c>d = 1/ws</c> in fp32
    /// (bitlinear, W = t/ws; exact for every code the layer holds, checked). Row r = output feature r.
    /// </summary>
    /// <param name="layout">The layer's geometry and linear class (in features a multiple of 256).</param>
    /// <param name="weight">Tensor <c>weight</c> (<c>layout.WeightBytes</c> bytes).</param>
    /// <param name="weightScale">Tensor <c>weight_scale</c> (<c>layout.WeightScaleBytes</c> bytes, bf16).</param>
    /// <exception cref="ArgumentException">
    /// The layout is not initialized, in features is not a multiple of 256, a buffer has the wrong length, or (bitlinear)
    /// <c>t · (1/ws)</c> would differ from <c>t / ws</c> for a code present (only where the quotient is subnormal).
    /// </exception>
    public static QuantizedMatrix FromBitNet(in BitNetLayout layout, ReadOnlySpan<byte> weight, ReadOnlySpan<byte> weightScale)
    {
        const string source = BitNetCodec.FormatName;
        CheckLayout(source, layout.OutFeatures);
        TernaryRepacker.CheckInFeatures(source, layout.InFeatures);
        CheckBuffer(source, "weight", weight.Length, layout.WeightBytes, nameof(weight));
        CheckBuffer(source, "weight_scale", weightScale.Length, layout.WeightScaleBytes, nameof(weightScale));
        int n = layout.OutFeatures, k = layout.InFeatures;
        var codes = new int[Elements(source, n, k)];
        Span<ushort> ws = stackalloc ushort[1];
        BitNetCodec.DecodeFields(layout, weight, weightScale, codes, ws);
        float scale = KernelGenHelpers.BFloat16ToSingle(ws[0]);
        bool divide = layout.LinearClass == BitNetLinearClass.Bitlinear;
        float d = divide ? 1f / scale : scale;
        var packed = TernaryRepacker.Repack(source, n, k, codes, d, out int present);
        if (divide)
        {
            for (int c = 0; c < 4; c++)
            {
                float t = c - 1;
                if ((present & (1 << c)) != 0 && BitConverter.SingleToUInt32Bits(t * d) != BitConverter.SingleToUInt32Bits(t / scale))
                {
                    throw new ArgumentException(
                        $"{source}: bitlinear weight_scale {scale} cannot be repacked exactly: {t} * (1/ws) = {t * d} but {t} / ws = {t / scale}.", nameof(weightScale));
                }
            }
        }
        return new QuantizedMatrix(packed.Format, packed.Rows, k, n, packed.RowBytes, null, source);
    }

    /// <summary>
    /// Repacks bitnet.cpp I2_S tensor data (codes and the f32 scale in the tail) into <c>TB2_F32</c> rows with block
    /// scale <c>d = s</c>. Row r = output feature r (ggml row r of ne = [K, N]).
    /// </summary>
    /// <param name="layout">The tensor's geometry (in features a multiple of 256).</param>
    /// <param name="data">The tensor data (at least <c>layout.DataBytes</c> bytes; bytes past it are ignored).</param>
    /// <exception cref="ArgumentException">The layout is not initialized, in features is not a multiple of 256, or the data is too short.</exception>
    public static QuantizedMatrix FromI2S(in I2_SLayout layout, ReadOnlySpan<byte> data)
    {
        const string source = I2_SCodec.FormatName;
        CheckLayout(source, layout.OutFeatures);
        TernaryRepacker.CheckInFeatures(source, layout.InFeatures);
        if (data.Length < layout.DataBytes)
        {
            throw new ArgumentException($"{source}: data holds {data.Length} bytes; the layout needs {layout.DataBytes} (layout.DataBytes).", nameof(data));
        }
        int n = layout.OutFeatures, k = layout.InFeatures;
        var codes = new int[Elements(source, n, k)];
        Span<float> s = stackalloc float[1];
        I2_SCodec.DecodeFields(layout, data.Slice(0, checked((int)layout.DataBytes)), codes, s);
        var packed = TernaryRepacker.Repack(source, n, k, codes, s[0], out _);
        return new QuantizedMatrix(packed.Format, packed.Rows, k, n, packed.RowBytes, null, source);
    }

    private static QuantizedMatrix FromAwqFields(string source, int n, int k, int groups, int groupSize, int[] codes, int[] zeros, ushort[] scales)
    {
        var groupOf = new int[k];
        for (int i = 0; i < k; i++) groupOf[i] = i / groupSize;
        var packed = GroupRepacker.Repack(source, n, k, groups, 4, codes, zeros, scales, groupOf);
        return new QuantizedMatrix(packed.Format, packed.Rows, k, n, packed.RowBytes, packed.InputOrder, source);
    }

    private static void CheckLayout(string source, int outFeatures)
    {
        if (outFeatures < 1)
        {
            throw new ArgumentException($"{source}: the layout is not initialized; construct it with its constructor.", "layout");
        }
    }

    private static void CheckAwqGroups(string source, int inFeatures, int groupSize)
    {
        if (inFeatures % groupSize != 0)
        {
            throw new ArgumentException($"{source}: in features {inFeatures} is not a multiple of the group size {groupSize}.", "layout");
        }
    }

    private static void CheckBuffer(string source, string tensor, int length, long expected, string parameter)
    {
        if (length != expected)
        {
            throw new ArgumentException($"{source}: tensor {tensor} holds {length} bytes; the layout needs exactly {expected}.", parameter);
        }
    }

    private static int Elements(string source, int rows, int columns)
    {
        long count = (long)rows * columns;
        if (count > Array.MaxLength)
        {
            throw new ArgumentException($"{source}: a {rows} x {columns} layer is too large to repack in one piece.", "layout");
        }
        return (int)count;
    }
}
