using KernelGen.Generators.Model;

namespace KernelGen.Generators.Emit.Dot;

/// <summary>
/// When a format's integer kernel (<see cref="IntegerDotPlan"/>) can also run on the 8-row interleaved layout: 4- or
/// 2-bit unsigned codes (no codebook), S = A or A·f32(a), M = ±B, ±B·f32(b) or none, where A, B are f16 block fields and a, b
/// are unsigned sub-block integers of at most 8 bits (a packed scale with groups of 32 or more, or a u8 block field).
/// Q4_0, Q4_1, Q4_K, the GPTQ/AWQ kernel rows and TQ2_0 qualify.
/// <para>
/// The layout, per group of 8 rows and per block (<see cref="BlockBytes"/> bytes, every row's block k at the same place):
/// A[8] (raw f16 bits), B[8] when B is another field than A, each sub-block integer array as [value index][row] bytes
/// (a u8 field as [row]), then per 32-element chunk the codes of 8 rows in 32-byte loads of 8 rows × 4 bytes. 4-bit:
/// load g = 0..3, row r, byte j holds element 32c+4g+j in bits 0..3 and 32c+16+4g+j in bits 4..7. 2-bit: load g = 0..1,
/// byte j holds element 32c+8p+4g+j in bits 2p..2p+1 (p = 0..3). Each bit plane of a load meets one quad of
/// activations pre-broadcast to 8 rows: no horizontal sums, one result lane per row.
/// </para>
/// </summary>
internal sealed class InterleavedDotPlan
{
    public const int Rows = 8;

    private InterleavedDotPlan(FormatSpec spec, IntegerDotPlan dot, FieldSpec scaleField, PackedArraySpec? subScale, FieldSpec? biasField, PackedArraySpec? subBias, FieldSpec? subBiasField, bool biasNegated)
    {
        Dot = dot;
        ScaleField = scaleField;
        SubScale = subScale;
        BiasField = biasField;
        SubBias = subBias;
        SubBiasField = subBiasField;
        BiasNegated = biasNegated;
        int offset = 2 * Rows;
        if (biasField is not null && biasField.Name != scaleField.Name)
        {
            BiasOffset = offset;
            offset += 2 * Rows;
        }
        if (subScale is not null)
        {
            SubScaleOffset = offset;
            offset += subScale.Count * Rows;
        }
        if (subBias is not null)
        {
            SubBiasOffset = offset;
            offset += subBias.Count * Rows;
        }
        if (subBiasField is not null)
        {
            SubBiasOffset = offset;
            offset += Rows;
        }
        CodesOffset = offset;
        Chunks = spec.BlockElements / 32;
        CodeBits = dot.Quant.Bits;
        BlockBytes = offset + Chunks * ChunkCodeBytes;
        // ggml pairs the k-quants with Q8_K (one activation scale per 256): with that pairing a whole block's integer
        // sums, sub-scales and sub-mins included, accumulate before one conversion to float.
        ActivationBlock = spec.Activation == "Q8_K" && spec.BlockElements == 256 && subScale is { GroupSize: 32 }
            && subBias is { GroupSize: 32 } && dot.ConstantOffset == 0 ? 256 : 32;
    }

    /// <summary>
    /// Elements per activation scale the kernel reads: 32 (the int8 blocks of the row kernels), or the block size (256)
    /// for formats ggml pairs with Q8_K, whose block then stays in the integer domain.
    /// </summary>
    public int ActivationBlock { get; }

    public IntegerDotPlan Dot { get; }

    /// <summary>A: the f16 block field S multiplies by.</summary>
    public FieldSpec ScaleField { get; }

    /// <summary>a: S's sub-block integer, or null (S = A).</summary>
    public PackedArraySpec? SubScale { get; }

    /// <summary>B: the f16 block field of M, or null (no M).</summary>
    public FieldSpec? BiasField { get; }

    /// <summary>b as a sub-block array, or null.</summary>
    public PackedArraySpec? SubBias { get; }

    /// <summary>b as a u8 block field (GPTQ/AWQ zero points), or null.</summary>
    public FieldSpec? SubBiasField { get; }

    /// <summary>M = −B·b rather than B·b.</summary>
    public bool BiasNegated { get; }

    /// <summary>Byte offset of B[8] in a group block (0 when B is A, which is stored once).</summary>
    public int BiasOffset { get; }

    public int SubScaleOffset { get; }

    public int SubBiasOffset { get; }

    public int CodesOffset { get; }

    /// <summary>Bits per code: 4 (two planes per byte) or 2 (four).</summary>
    public int CodeBits { get; }

    /// <summary>Planes (codes) per byte.</summary>
    public int Planes => 8 / CodeBits;

    /// <summary>32-byte loads per chunk of 8 rows.</summary>
    public int LoadsPerChunk => 4 / Planes * 2;

    /// <summary>Code bytes of one 32-element chunk of 8 rows.</summary>
    public int ChunkCodeBytes => 32 * CodeBits;

    /// <summary>
    /// The first element (within the chunk) of the 4 codes bit plane <paramref name="plane"/> of load
    /// <paramref name="load"/> holds for each row: 4-bit 16p+4g, 2-bit 8p+4g.
    /// </summary>
    public int QuadStart(int load, int plane) => 32 / Planes * plane + 4 * load;

    /// <summary>32-element chunks per block.</summary>
    public int Chunks { get; }

    /// <summary>Bytes of one block of 8 interleaved rows.</summary>
    public int BlockBytes { get; }

    public static InterleavedDotPlan? TryCreate(FormatSpec spec, IntegerDotPlan? dot)
    {
        if (dot is null || dot.SignedWeights || dot.Codebook is not null || dot.Quant.Bits is not (2 or 4) || dot.Quant.IsSigned)
        {
            return null;
        }
        if (!TryProduct(spec, dot.Scale, out var scaleField, out var subScale, out var subScaleField) || subScaleField is not null)
        {
            return null;
        }
        if (subScale is not null && dot.ConstantOffset != 0)
        {
            return null; // −c·a·Σx per row would need a per-row integer multiply
        }
        FieldSpec? biasField = null;
        PackedArraySpec? subBias = null;
        FieldSpec? subBiasField = null;
        bool negated = false;
        if (dot.Bias is not null)
        {
            var m = dot.Bias;
            if (m is Negate n)
            {
                negated = true;
                m = n.Operand;
            }
            if (!TryProduct(spec, m, out var bf, out subBias, out subBiasField))
            {
                return null;
            }
            biasField = bf;
        }
        var plan = new InterleavedDotPlan(spec, dot, scaleField!, subScale, biasField, subBias, subBiasField, negated);
        // The layout exists to stream fewer cycles per byte; one that stores noticeably more bytes than the rows
        // (TQ1_0's base-3 digits as 2-bit codes: +22 %) would give that back in bandwidth.
        return plan.BlockBytes * 20 <= spec.BlockBytes * Rows * 21 ? plan : null;
    }

    /// <summary>Matches F, F·f32(i) or f32(i)·F with F an f16 block field and i a sub-block array or u8 block field.</summary>
    private static bool TryProduct(FormatSpec spec, ExprSpec e, out FieldSpec? field, out PackedArraySpec? array, out FieldSpec? intField)
    {
        field = null;
        array = null;
        intField = null;
        if (F16Field(spec, e) is { } only)
        {
            field = only;
            return true;
        }
        if (e is not Binary { Op: "*" } b)
        {
            return false;
        }
        var (f, other) = F16Field(spec, b.Left) is { } l ? (l, b.Right) : (F16Field(spec, b.Right), b.Left);
        if (f is null || other is not ToFloat { Operand: NameRef n })
        {
            return false;
        }
        field = f;
        if (n.Kind == NameKind.Packed && spec.FindArray(n.Name) is { IsPerElement: false, IsSigned: false, Bits: <= 8 } a
            && a.GroupSize % 32 == 0 && spec.BlockElements % a.GroupSize == 0)
        {
            array = a;
            return true;
        }
        if (n.Kind == NameKind.Field && spec.FindField(n.Name) is { IsArray: false, Type: ScalarKind.U8 } u8)
        {
            intField = u8;
            return true;
        }
        return false;
    }

    private static FieldSpec? F16Field(FormatSpec spec, ExprSpec e) =>
        e is NameRef { Kind: NameKind.Field } n && spec.FindField(n.Name) is { IsArray: false, Type: ScalarKind.F16 } f ? f : null;
}
