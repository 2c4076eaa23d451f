using KernelGen.Generators.Model;

namespace KernelGen.Generators.Emit.Dot;

/// <summary>
/// When a format's integer kernel (<see cref="IntegerDotPlan"/>) can also run on the 8-row interleaved layout: 2-, 4-
/// or 6-bit unsigned codes (no codebook), S = A or A·f32(a), M = ±B, ±B·f32(b) or none, where A, B are f16 block fields,
/// a is a sub-block integer of at most 8 bits, signed or not, with groups of 16 or a multiple of 32, and b an unsigned
/// one with groups of 32 or more (or a u8 block field); or signed 8-bit codes. Q4_0, Q4_1, Q4_K, Q6_K, Q8_0, the
/// GPTQ/AWQ kernel rows and TQ2_0 qualify.
/// <para>
/// The layout, per group of 8 rows and per block (<see cref="BlockBytes"/> bytes, every row's block k at the same place):
/// A[8] (raw f16 bits), B[8] when B is another field than A, each sub-block integer array as [value index][row] bytes
/// (a u8 field as [row]), then per 32-element chunk the codes of 8 rows in 32-byte loads of 8 rows × 4 bytes. 4-bit:
/// load g = 0..3, row r, byte j holds element 32c+4g+j in bits 0..3 and 32c+16+4g+j in bits 4..7. 2-bit: load g = 0..1,
/// byte j holds element 32c+8p+4g+j in bits 2p..2p+1 (p = 0..3). Each bit plane of a load meets one quad of
/// activations pre-broadcast to 8 rows: no horizontal sums, one result lane per row. 6-bit: the low 4 bits as the
/// 4-bit layout, then two loads of the high 2 bits, placed so that low load g finds both its quads' high bits in high
/// load g / 2 (<see cref="HighPlane"/>): one shift and mask each, then an OR, rebuild the 6-bit codes in registers.
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
        // sums, sub-scales and sub-mins (or the constant offset times the sub-scales) included, accumulate before one
        // conversion to float.
        // TQ2_0 (one scale, codes offset by 1) qualifies too: its offset is c·Σxq over the block, once per block.
        ActivationBlock = spec.Activation == "Q8_K" && spec.BlockElements == 256
            && (subScale is null
                ? biasField is null
                : subBias is { GroupSize: 32 }
                    ? dot.ConstantOffset == 0
                    : biasField is null && (dot.ConstantOffset == 0 || subScale.GroupSize is 16 or 32)) ? 256 : 32;
    }

    /// <summary>
    /// Integer sums of the activations per span of this many values the kernel reads (xqs): 16 with the Q8_K pairing
    /// (ggml's bsums, for sub-blocks of 16), 32 otherwise.
    /// </summary>
    public int SumSpan => ActivationBlock == 256 ? 16 : 32;

    /// <summary>
    /// The sub-block integer the Q8_K pairing multiplies with the activation sums inside the block: b (the sub-mins)
    /// when M has one, else a when the codes carry a constant offset (Q6_K's q − 32), else null.
    /// </summary>
    public PackedArraySpec? SumMultiplier => ActivationBlock != 256 ? null : SubBias ?? (Dot.ConstantOffset != 0 ? SubScale : null);

    /// <summary>Offset of <see cref="SumMultiplier"/>'s bytes in a group block.</summary>
    public int SumMultiplierOffset => SubBias is not null ? SubBiasOffset : SubScaleOffset;

    /// <summary>True when the sub-scale a is a signed integer (sign-extended into the int16 multipliers).</summary>
    public bool SubScaleSigned => SubScale?.IsSigned == true;

    /// <summary>Largest code value: 2^bits − 1.</summary>
    public int MaxCode => SignedCodes ? 128 : (1 << CodeBits) - 1;

    /// <summary>
    /// Signed 8-bit codes (Q8_0): stored as they are; the kernel multiplies |w| by x with w's sign (vpabsb once per
    /// load, vpsignb per activation row), as ggml's AVX2 kernels do.
    /// </summary>
    public bool SignedCodes => Dot.SignedWeights;

    /// <summary>
    /// Byte products (vpmaddubsw results, each pair at most 2·MaxCode·127) one int16 accumulator can sum before
    /// vpmaddwd widens it: 8 for 4-bit and 2-bit codes (a whole chunk), 2 for 6-bit.
    /// </summary>
    public int ProductsPerInt16 => System.Math.Max(1, System.Math.Min(8, 32767 / (2 * MaxCode * 127)));

    /// <summary>
    /// Whether the AVX-512 tile sums a whole block's byte products in int16 before one vpmaddwd: no sub-scale (the
    /// multiplier is 1 throughout), one activation scale per block, and every lane's pair sums (products per lane per
    /// block: chunks × planes × loads / 2, each at most 2·MaxCode·127) fit: TQ2_0, 32 of at most 508.
    /// </summary>
    public bool Avx512BlockRuns => Avx512Tile && SubScale is null && ActivationBlock == 256 && Chunks > 1
        && Chunks * Planes * LoadsPerChunk / 2 <= 32767 / (2 * MaxCode * 127);

    /// <summary>
    /// Whether one activation row (matvec, and a batch's remainder rows) also takes the AVX-512 tile: where a block
    /// spans several chunks, so its per-block work (scales to float, the lane-pair fold) is shared. Measured on Zen 4
    /// (2 threads, K = N = 4096, weights in cache): Q4_K +16 %, Q6_K +23 %, GPTQ 4-bit +18 %, AWQ +5 %, TQ2_0 +4 %
    /// over the AVX2 tile; Q4_0 −11 % and Q4_1 −6 % (one chunk per block), which keep the VNNI / AVX2 tile.
    /// </summary>
    public bool Avx512SingleRow => Avx512Tile && Chunks > 1;

    /// <summary>
    /// Whether the AVX-512 tile forms the sum term (<see cref="SumMultiplier"/> times the activation sums per group)
    /// once per block, four groups per 512-bit vpmaddwd, instead of one 256-bit vpmaddwd per pair of groups in every
    /// chunk: for groups of 16 (Q6_K's sub-scales times its −32 offset), where the per-chunk form costs a vpmaddwd, a
    /// shift and a subtract per pair of groups per activation row (+9-16 % at batch 32 on Zen 4). Groups of 32 (Q4_K's
    /// mins) keep the per-chunk form, whose work is mostly scalar adds that run beside the vector pipes (no gain
    /// measured). The integer result is the same.
    /// </summary>
    public bool Avx512BlockSums => Avx512Tile && SumMultiplier is { GroupSize: 16 } && 2 * Chunks % 4 == 0;

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

    /// <summary>
    /// Whether the AVX-512 tile can run this format: unsigned codes (AVX-512 has no vpsignb for Q8_0's signed ones)
    /// in an even number of loads per chunk, so each 64-byte load holds two quads of 8 rows.
    /// </summary>
    public bool Avx512Tile => !SignedCodes && LoadsPerChunk % 2 == 0;

    /// <summary>Bits per code: 4 (two planes per byte), 2 (four), 6 (4-bit planes plus a 2-bit high part) or 8 (signed, one per byte).</summary>
    public int CodeBits { get; }

    /// <summary>Bits of a code in the main loads: 4 for 6-bit codes, whose 2 high bits sit in separate loads.</summary>
    public int LowBits => CodeBits == 6 ? 4 : CodeBits;

    /// <summary>High bits per code stored after the main loads (6-bit codes: 2), else 0.</summary>
    public int HighBits => CodeBits - LowBits;

    /// <summary>Planes (codes) per byte of the main loads.</summary>
    public int Planes => 8 / LowBits;

    /// <summary>32-byte main loads per chunk of 8 rows.</summary>
    public int LoadsPerChunk => 4 / Planes * 2;

    /// <summary>32-byte loads of high bits per chunk (after the main loads).</summary>
    public int HighLoads => HighBits * 32 * Rows / 8 / 32;

    /// <summary>
    /// Where the high 2 bits of main load <paramref name="load"/>'s plane <paramref name="plane"/> sit: high load
    /// load / 2, bits 2p..2p+1 with p = 2·(load % 2) + plane (<see cref="HighQuadStart"/> is the inverse).
    /// </summary>
    public (int Load, int Plane) HighPlane(int load, int plane) => (load / 2, 2 * (load % 2) + plane);

    /// <summary>The first element (within the chunk) of the quad whose high bits high load h holds in plane p.</summary>
    public int HighQuadStart(int h, int p) => 16 * (p % 2) + 4 * (2 * h + p / 2);

    /// <summary>Code bytes of one 32-element chunk of 8 rows.</summary>
    public int ChunkCodeBytes => 32 * CodeBits;

    /// <summary>
    /// The first element (within the chunk) of the 4 codes bit plane <paramref name="plane"/> of load
    /// <paramref name="load"/> holds for each row: 4-bit 16p+4g, 2-bit 8p+4g.
    /// </summary>
    public int QuadStart(int load, int plane) => 32 / Planes * plane + 4 * load;

    /// <summary>Which 16-element half of the chunk a quad starting at <paramref name="start"/> belongs to.</summary>
    public static int Half(int start) => start / 16;

    /// <summary>32-element chunks per block.</summary>
    public int Chunks { get; }

    /// <summary>Bytes of one block of 8 interleaved rows.</summary>
    public int BlockBytes { get; }

    public static InterleavedDotPlan? TryCreate(FormatSpec spec, IntegerDotPlan? dot)
    {
        if (dot is null || dot.Codebook is not null
            || !(dot.Quant.Bits is 2 or 4 or 6 && !dot.Quant.IsSigned || dot.Quant.Bits == 8 && dot.Quant.IsSigned && dot.ConstantOffset == 0))
        {
            return null;
        }
        if (!TryProduct(spec, dot.Scale, out var scaleField, out var subScale, out var subScaleField, subScale: true) || subScaleField is not null)
        {
            return null;
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
            if (!TryProduct(spec, m, out var bf, out subBias, out subBiasField, subScale: false))
            {
                return null;
            }
            biasField = bf;
        }
        var plan = new InterleavedDotPlan(spec, dot, scaleField!, subScale, biasField, subBias, subBiasField, negated);
        if (subScale is not null && dot.ConstantOffset != 0 && plan.SumMultiplier != subScale)
        {
            return null; // −c·a·Σx per row needs the per-sub-block sums of the Q8_K pairing
        }
        // The layout exists to stream fewer cycles per byte; one that stores noticeably more bytes than the rows
        // (TQ1_0's base-3 digits as 2-bit codes: +22 %) would give that back in bandwidth.
        return plan.BlockBytes * 20 <= spec.BlockBytes * Rows * 21 ? plan : null;
    }

    /// <summary>
    /// Matches F, F·f32(i) or f32(i)·F with F an f16 block field and i a sub-block array or u8 block field; a sub-scale
    /// (<paramref name="subScale"/>) may also be signed and in groups of 16.
    /// </summary>
    private static bool TryProduct(FormatSpec spec, ExprSpec e, out FieldSpec? field, out PackedArraySpec? array, out FieldSpec? intField, bool subScale)
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
        if (n.Kind == NameKind.Packed && spec.FindArray(n.Name) is { IsPerElement: false, Bits: <= 8 } a
            && (a.GroupSize % 32 == 0 || (subScale && a.GroupSize == 16)) && (subScale || !a.IsSigned) && spec.BlockElements % a.GroupSize == 0)
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
