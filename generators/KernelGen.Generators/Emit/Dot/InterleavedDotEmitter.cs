using System.Collections.Generic;
using System.Linq;
using KernelGen.Generators.Model;

namespace KernelGen.Generators.Emit.Dot;

/// <summary>
/// Emits the 8-row interleaved kernel of an <see cref="InterleavedDotPlan"/> into <c>&lt;F&gt;Dot</c>:
/// <c>Interleave8</c> (the one-time repack of 8 GGUF rows, through the codec's own <c>DecodeFields</c>) and
/// <c>RowsInterleaved8</c> (AVX2). Per 32-element chunk of 8 rows: four (4-bit) or two (2-bit) 32-byte code loads,
/// each bit plane masked and multiplied (vpmaddubsw) with a quad of activations broadcast to the 8 rows, the eight 16-bit pair sums added
/// (at most 8·2·15·127, no saturation), one vpmaddwd (by the sub-scale a, or by 1) to 8 int32 lanes = 8 rows, one convert and one FMA with
/// A·d_x. The bias term M·Σx is one more FMA per chunk (sub-block b) or per block. Batches run four activation rows per
/// pass so each unpacked chunk feeds 32 row-activation products. The four-row pass comes in three instruction sets
/// (<see cref="TileIsa"/>): AVX2, AVX-VNNI (vpdpbusd) and AVX-512BW (two quads per 64-byte load, 512-bit vpmaddubsw;
/// unsigned-code formats only), chosen at run time by <c>KernelGenHelpers.Avx512Tile</c> and <c>AvxVnni.IsSupported</c>.
/// </summary>
internal static class InterleavedDotEmitter
{
    /// <summary>Bytes ahead of the current block the kernels prefetch (about 14 Q4_0 blocks, under 2 Q4_K blocks).</summary>
    private const int PrefetchDistance = 4096;

    private const string Signature = "(ref byte weights, nint rowBytes, int k, int rowStart, int rowEnd, ref float x, ref sbyte xq, ref float xd, ref float xs, ref int xqs, int batch, ref float y, nint yStride)";

    public static void EmitMembers(SourceWriter w, FormatSpec spec, InterleavedDotPlan plan, string codec)
    {
        w.WriteLine();
        w.WriteLine("/// <summary>Bytes of one block of 8 interleaved rows (<see cref=\"Interleave8\"/>).</summary>");
        w.WriteLine($"public const int InterleavedBlockBytes = {plan.BlockBytes};");
        w.WriteLine("/// <summary>Activation values per int8 scale <see cref=\"RowsInterleaved8\"/> reads: 32, or 256 (ggml's Q8_K pairing).</summary>");
        w.WriteLine($"public const int InterleavedActivationBlock = {plan.ActivationBlock};");
        w.WriteLine("/// <summary>Activation values per integer sum <see cref=\"RowsInterleaved8\"/> reads (xqs): 16 with the Q8_K pairing (ggml's bsums), else 32.</summary>");
        w.WriteLine($"public const int InterleavedSumSpan = {plan.SumSpan};");
        w.WriteLine();
        EmitPacker(w, spec, plan, codec);
        w.WriteLine();
        EmitDriver(w, plan);
        foreach (var isa in new[] { TileIsa.Avx2, TileIsa.Vnni, TileIsa.Avx512 })
        {
            foreach (int acts in new[] { 4, 1 })
            {
                if (isa == TileIsa.Avx512 && !(acts == 1 ? plan.Avx512SingleRow : plan.Avx512Tile))
                {
                    continue;
                }
                w.WriteLine();
                EmitTile(w, spec, plan, acts, isa);
            }
        }
    }

    /// <summary>
    /// The instruction sets a tile is written for: AVX2 (vpmaddubsw, int16 runs, vpmaddwd), AVX-VNNI (vpdpbusd straight
    /// into int32) and AVX-512 (vpmaddubsw on 64 bytes = two quads of 8 rows, row r's 8 codes in qword r).
    /// </summary>
    private enum TileIsa
    {
        Avx2,
        Vnni,
        Avx512,
    }

    private static string Suffix(TileIsa isa) => isa switch { TileIsa.Vnni => "Vnni", TileIsa.Avx512 => "Avx512", _ => "" };

    private static void EmitPacker(SourceWriter w, FormatSpec spec, InterleavedDotPlan plan, string codec)
    {
        string fields = "f";
        w.WriteLine("/// <summary>");
        w.WriteLine("/// Repacks up to 8 rows of k elements (row r at <paramref name=\"rows\"/>[r·rowBytes..]) into one group of the 8-row");
        w.WriteLine("/// interleaved layout <see cref=\"RowsInterleaved8\"/> reads: k / BlockElements blocks of <see cref=\"InterleavedBlockBytes\"/>");
        w.WriteLine("/// bytes; missing rows (rowCount &lt; 8) are zero. Returns false, with <paramref name=\"dst\"/> unspecified, when a block");
        w.WriteLine("/// scale is infinite or NaN (the kernel's fast f16 conversion covers finite values only).");
        w.WriteLine("/// </summary>");
        w.OpenBlock("public static bool Interleave8(ReadOnlySpan<byte> rows, nint rowBytes, int rowCount, int k, Span<byte> dst)");
        w.WriteLine("int blocks = k / BlockElementsOf;");
        w.OpenBlock("if (k % BlockElementsOf != 0 || rowCount < 1 || rowCount > 8 || dst.Length < blocks * InterleavedBlockBytes || rows.Length < (rowCount - 1) * rowBytes + blocks * BlockBytesOf)");
        w.WriteLine("throw new ArgumentException(\"Interleave8: k must be whole blocks, 1 to 8 rows, and the buffers large enough.\");");
        w.CloseBlock();
        w.WriteLine("dst.Slice(0, blocks * InterleavedBlockBytes).Clear();");
        w.OpenBlock("for (int r = 0; r < rowCount; r++)");
        w.OpenBlock("for (int b = 0; b < blocks; b++)");
        w.WriteLine($"{codec}.DecodeFields(rows.Slice((int)(r * rowBytes) + b * BlockBytesOf, BlockBytesOf), out var {fields});");
        w.WriteLine("Span<byte> o = dst.Slice(b * InterleavedBlockBytes, InterleavedBlockBytes);");
        void Half(string name, int offset)
        {
            w.OpenBlock($"if (({fields}.{name} & 0x7C00) == 0x7C00)");
            w.WriteLine("return false;");
            w.CloseBlock();
            w.WriteLine($"System.Buffers.Binary.BinaryPrimitives.WriteUInt16LittleEndian(o.Slice({offset} + 2 * r), {fields}.{name});");
        }
        Half(FormatEmitter.Pascal(plan.ScaleField.Name), 0);
        if (plan.BiasField is not null && plan.BiasField.Name != plan.ScaleField.Name)
        {
            Half(FormatEmitter.Pascal(plan.BiasField.Name), plan.BiasOffset);
        }
        foreach (var (array, offset) in new[] { (plan.SubScale, plan.SubScaleOffset), (plan.SubBias, plan.SubBiasOffset) })
        {
            if (array is not null)
            {
                w.OpenBlock($"for (int i = 0; i < {array.Count}; i++)");
                w.WriteLine($"o[{offset} + 8 * i + r] = (byte){fields}.{FormatEmitter.Pascal(array.Name)}[i];");
                w.CloseBlock();
            }
        }
        if (plan.SubBiasField is not null)
        {
            w.WriteLine($"o[{plan.SubBiasOffset} + r] = {fields}.{FormatEmitter.Pascal(plan.SubBiasField.Name)};");
        }
        string q = $"{fields}.{FormatEmitter.Pascal(plan.Dot.Quant.Name)}";
        w.OpenBlock($"for (int c = 0; c < {plan.Chunks}; c++)");
        w.OpenBlock($"for (int g = 0; g < {plan.LoadsPerChunk}; g++)");
        w.OpenBlock("for (int j = 0; j < 4; j++)");
        // Plane p of load g holds element 32c + (32 / planes)·p + 4g + j (InterleavedDotPlan.QuadStart).
        string lowMask = plan.HighBits == 0 ? "" : $" & {(1 << plan.LowBits) - 1}";
        string planes = string.Join(" | ", Enumerable.Range(0, plan.Planes).Select(p =>
            $"(({q}[32 * c + {32 / plan.Planes * p} + 4 * g + j]{lowMask}) << {p * plan.LowBits})"));
        w.WriteLine($"o[{plan.CodesOffset} + {plan.ChunkCodeBytes} * c + 32 * g + 4 * r + j] = (byte)({planes});");
        w.CloseBlock();
        w.CloseBlock();
        if (plan.HighBits != 0)
        {
            // High load h, plane p: the high bits of the quad at HighQuadStart(h, p).
            w.OpenBlock($"for (int h = 0; h < {plan.HighLoads}; h++)");
            w.OpenBlock("for (int j = 0; j < 4; j++)");
            string highs = string.Join(" | ", Enumerable.Range(0, 8 / plan.HighBits).Select(p =>
                $"(({q}[32 * c + 16 * {p % 2} + 4 * (2 * h + {p / 2}) + j] >> {plan.LowBits}) << {p * plan.HighBits})"));
            w.WriteLine($"o[{plan.CodesOffset} + {plan.ChunkCodeBytes} * c + {32 * plan.LoadsPerChunk} + 32 * h + 4 * r + j] = (byte)({highs});");
            w.CloseBlock();
            w.CloseBlock();
        }
        w.CloseBlock();
        w.CloseBlock();
        w.CloseBlock();
        w.WriteLine("return true;");
        w.CloseBlock();
    }

    private static void EmitDriver(SourceWriter w, InterleavedDotPlan plan)
    {
        w.WriteLine("/// <summary>");
        w.WriteLine("/// The kernel on the 8-row interleaved layout (AVX2 and FMA only): weights = groups of 8 rows packed by");
        w.WriteLine("/// <see cref=\"Interleave8\"/>, rowBytes = bytes of one group; rowStart a multiple of 8 (rowEnd may cut the last group).");
        w.WriteLine("/// Activation row b: xq[b·k..] (int8), xd[b·k/A..] (one scale per");
        w.WriteLine("/// A = <see cref=\"InterleavedActivationBlock\"/> values), xs[b·k/16..] (dequantized sum per 16), xqs[b·k/S..] (Σxq per");
        w.WriteLine("/// S = <see cref=\"InterleavedSumSpan\"/> values); x is not read.");
        w.WriteLine("/// </summary>");
        w.WriteLine("[MethodImpl(MethodImplOptions.AggressiveOptimization)]");
        w.OpenBlock("public static void RowsInterleaved8" + Signature);
        w.OpenBlock("if (!System.Runtime.Intrinsics.X86.Avx2.IsSupported || !System.Runtime.Intrinsics.X86.Fma.IsSupported)");
        w.WriteLine("throw new PlatformNotSupportedException(\"The interleaved kernels need AVX2 and FMA; keep the row layout on this CPU.\");");
        w.CloseBlock();
        w.OpenBlock("if (rowStart % 8 != 0)");
        w.WriteLine("throw new ArgumentException(\"rowStart must be a multiple of 8 (a whole interleaved group).\", nameof(rowStart));");
        w.CloseBlock();
        w.WriteLine("int blocks = k / BlockElementsOf;");
        w.WriteLine("Span<float> part = stackalloc float[8];");
        w.OpenBlock("for (int r = rowStart; r < rowEnd; r += 8)");
        w.WriteLine("ref byte group = ref Unsafe.Add(ref weights, (r / 8) * rowBytes);");
        w.WriteLine("int valid = Math.Min(8, rowEnd - r);");
        w.WriteLine("int b = 0;");
        foreach (int acts in new[] { 4, 1 })
        {
            w.OpenBlock(acts == 4 ? "for (; b + 4 <= batch; b += 4)" : "for (; b < batch; b++)");
            w.WriteLine($"Vector256<float> {string.Join(", ", Enumerable.Range(0, acts).Select(j => $"v{j}"))};");
            string outs = string.Join(", ", Enumerable.Range(0, acts).Select(j => $"out v{j}"));
            string args = $"(ref group, blocks, k, ref Unsafe.Add(ref xq, (nint)b * k), ref Unsafe.Add(ref xd, (nint)b * (k / InterleavedActivationBlock)), ref Unsafe.Add(ref xs, (nint)b * (k / 16)), ref Unsafe.Add(ref xqs, (nint)b * (k / InterleavedSumSpan)), {outs});";
            if (acts == 1 ? plan.Avx512SingleRow : plan.Avx512Tile)
            {
                // AVX-512's vpmaddubsw does 64 products per instruction where vpdpbusd (256-bit only in .NET 10) does 32.
                w.OpenBlock("if (KernelGenHelpers.Avx512Tile)");
                w.WriteLine($"Group8x{acts}Avx512{args}");
                w.CloseBlock();
                w.OpenBlock("else if (System.Runtime.Intrinsics.X86.AvxVnni.IsSupported)");
            }
            else
            {
                w.OpenBlock("if (System.Runtime.Intrinsics.X86.AvxVnni.IsSupported)");
            }
            w.WriteLine($"Group8x{acts}Vnni{args}");
            w.CloseBlock();
            w.OpenBlock("else");
            w.WriteLine($"Group8x{acts}{args}");
            w.CloseBlock();
            for (int j = 0; j < acts; j++)
            {
                w.WriteLine($"Store8(v{j}, ref Unsafe.Add(ref y, (b + {j}) * yStride + r), valid, part);");
            }
            w.CloseBlock();
        }
        w.CloseBlock();
        w.CloseBlock();
        w.WriteLine();
        w.WriteLine("/// <summary>The first <paramref name=\"valid\"/> lanes of <paramref name=\"v\"/> stored at <paramref name=\"dst\"/>.</summary>");
        w.WriteLine("[MethodImpl(MethodImplOptions.AggressiveInlining)]");
        w.OpenBlock("private static void Store8(Vector256<float> v, ref float dst, int valid, Span<float> part)");
        w.OpenBlock("if (valid == 8)");
        w.WriteLine("v.StoreUnsafe(ref dst);");
        w.WriteLine("return;");
        w.CloseBlock();
        w.WriteLine("v.CopyTo(part);");
        w.OpenBlock("for (int i = 0; i < valid; i++)");
        w.WriteLine("Unsafe.Add(ref dst, i) = part[i];");
        w.CloseBlock();
        w.CloseBlock();
    }

    /// <summary>
    /// One group of 8 rows against <paramref name="acts"/> activation rows, over all blocks. With one activation scale
    /// per 32 (<see cref="InterleavedDotPlan.ActivationBlock"/>) each chunk is converted and scaled on its own; with one
    /// per block (Q8_K pairing) the chunks' sums, sub-scaled by vpmaddwd, and the sub-mins (or the constant offset's
    /// sub-scales) times the activation sums per 16 stay in int32 until the block ends.
    /// </summary>
    private static void EmitTile(SourceWriter w, FormatSpec spec, InterleavedDotPlan plan, int acts, TileIsa isa)
    {
        bool vnni = isa == TileIsa.Vnni;
        bool wide = isa == TileIsa.Avx512;
        string codeVector = wide ? "Vector512" : "Vector256";
        var js = Enumerable.Range(0, acts).ToArray();
        bool bias = plan.BiasField is not null;
        bool blockScale = plan.ActivationBlock == spec.BlockElements && plan.Chunks > 1;
        bool floatSums = bias && !blockScale;
        bool chunkSums = plan.Dot.ConstantOffset != 0 || blockScale;
        var sumMultiplier = plan.SumMultiplier;
        const string X86 = "System.Runtime.Intrinsics.X86.";
        string outs = string.Join(", ", js.Select(j => $"out Vector256<float> y{j}"));
        w.WriteLine("[MethodImpl(MethodImplOptions.AggressiveOptimization)]");
        w.OpenBlock($"private static void Group8x{acts}{Suffix(isa)}(ref byte group, int blocks, int k, ref sbyte xb, ref float xd, ref float xs, ref int xc, {outs})");
        if (!plan.SignedCodes)
        {
            w.WriteLine($"{codeVector}<byte> codeMask = {codeVector}.Create((byte){(1 << plan.LowBits) - 1});");
        }
        if (plan.HighBits != 0)
        {
            w.WriteLine($"{codeVector}<byte> highMask = {codeVector}.Create((byte){((1 << plan.HighBits) - 1) << plan.LowBits});");
        }
        if (plan.SubScale is null && !vnni)
        {
            w.WriteLine($"{codeVector}<short> ones = {codeVector}.Create((short)1);");
        }
        // The AVX-512 tile with one activation scale per 32 keeps its float sums in the 512-bit form too (row r in lanes
        // 2r, 2r+1, scaled by A spread to those lanes): no per-chunk fold of the lane pairs.
        bool wideFloat = wide && !blockScale;
        foreach (int j in js)
        {
            w.WriteLine($"Vector256<float> acc{j} = Vector256<float>.Zero;");
            if (wideFloat)
            {
                w.WriteLine($"Vector512<float> accz{j} = Vector512<float>.Zero;");
            }
            if (bias)
            {
                w.WriteLine($"Vector256<float> accM{j} = Vector256<float>.Zero;");
            }
            w.WriteLine($"ref sbyte xb{j} = ref Unsafe.Add(ref xb, {j} * k);");
            w.WriteLine($"ref float xd{j} = ref Unsafe.Add(ref xd, {j} * (k / {plan.ActivationBlock}));");
            if (floatSums)
            {
                w.WriteLine($"ref float xs{j} = ref Unsafe.Add(ref xs, {j} * (k / 16));");
            }
            if (chunkSums)
            {
                w.WriteLine($"ref int xc{j} = ref Unsafe.Add(ref xc, {j} * (k / {plan.SumSpan}));");
            }
        }
        w.WriteLine("ref byte p = ref group;");
        w.OpenBlock("for (int b = 0; b < blocks; b++)");
        w.WriteLine("Vector256<float> fa = KernelGenHelpers.HalfBits8ToSingle(ref p);");
        if (wideFloat)
        {
            w.WriteLine("Vector512<float> fz = KernelGenHelpers.RowPairsOf(fa);");
        }
        if (bias)
        {
            w.WriteLine(plan.BiasField!.Name == plan.ScaleField.Name
                ? "Vector256<float> fb = fa;"
                : $"Vector256<float> fb = KernelGenHelpers.HalfBits8ToSingle(ref Unsafe.Add(ref p, {plan.BiasOffset}));");
            if (plan.SubBiasField is not null)
            {
                w.WriteLine($"fb *= KernelGenHelpers.Bytes8ToSingle(ref Unsafe.Add(ref p, {plan.SubBiasOffset}));");
            }
        }
        if (blockScale)
        {
            foreach (int j in js)
            {
                w.WriteLine($"Vector256<int> is{j} = Vector256<int>.Zero;");
                if (wide)
                {
                    // The products stay in the 512-bit form (row r in lanes 2r, 2r+1; int16 pair sums with block
                    // runs) until the block ends.
                    w.WriteLine(plan.Avx512BlockRuns ? $"Vector512<short> s{j}_0 = Vector512<short>.Zero;" : $"Vector512<int> iz{j} = Vector512<int>.Zero;");
                }
                if (sumMultiplier is not null && bias)
                {
                    w.WriteLine($"Vector256<int> im{j} = Vector256<int>.Zero;");
                }
            }
        }
        for (int c = 0; c < plan.Chunks; c++)
        {
            w.WriteLine($"// elements {32 * c}..{32 * c + 31} of the block, 8 rows");
            w.OpenBlock();
            // Software prefetch PrefetchDistance bytes ahead in this group's stream (the hardware prefetcher alone leaves
            // DRAM idle between blocks), spread over the chunks so no burst overruns the miss buffers.
            int lines = (plan.BlockBytes + 63) / 64;
            for (int line = c * lines / plan.Chunks; line < (c + 1) * lines / plan.Chunks; line++)
            {
                w.WriteLine($"KernelGenHelpers.Prefetch(ref Unsafe.Add(ref p, {PrefetchDistance + 64 * line}));");
            }
            if (vnni)
            {
                EmitChunkProductsVnni(w, plan, c, js);
            }
            else if (wide)
            {
                EmitChunkProductsAvx512(w, plan, c, js);
                foreach (int j in js.Where(_ => !plan.Avx512BlockRuns))
                {
                    if (blockScale)
                    {
                        w.WriteLine($"iz{j} += tz{j};");
                    }
                }
            }
            else
            {
                EmitChunkProducts(w, plan, c, js, EmitMultipliers(w, plan, c));
            }
            if (sumMultiplier is not null && !(wide && plan.Avx512BlockSums))
            {
                EmitSumTerms(w, plan, sumMultiplier, c, js, bias);
            }
            foreach (int j in js)
            {
                if (blockScale)
                {
                    if (!wide)
                    {
                        w.WriteLine($"is{j} += t{j};");
                    }
                    continue;
                }
                if (wideFloat)
                {
                    w.WriteLine($"accz{j} = {X86}Avx512F.FusedMultiplyAdd(Vector512.ConvertToSingle(tz{j}), fz * Vector512.Create(Unsafe.Add(ref xd{j}, {c})), accz{j});");
                    if (plan.Dot.ConstantOffset != 0)
                    {
                        // −c·Σxq of the chunk, in the 8-lane sums (it would count twice in the lane pairs).
                        w.WriteLine($"acc{j} = {X86}Fma.MultiplyAdd(fa, Vector256.Create(-{plan.Dot.ConstantOffset} * Unsafe.Add(ref xc{j}, {c}) * Unsafe.Add(ref xd{j}, {c})), acc{j});");
                    }
                }
                else
                {
                    if (plan.Dot.ConstantOffset != 0)
                    {
                        w.WriteLine($"t{j} -= Vector256.Create({plan.Dot.ConstantOffset} * Unsafe.Add(ref xc{j}, {c}));");
                    }
                    w.WriteLine($"acc{j} = {X86}Fma.MultiplyAdd(Vector256.ConvertToSingle(t{j}), fa * Vector256.Create(Unsafe.Add(ref xd{j}, {c})), acc{j});");
                }
                if (plan.SubBias is { } sb)
                {
                    int index = c * 32 / sb.GroupSize;
                    if (j == 0)
                    {
                        w.WriteLine($"Vector256<float> mb = fb * KernelGenHelpers.Bytes8ToSingle(ref Unsafe.Add(ref p, {plan.SubBiasOffset + 8 * index}));");
                    }
                    w.WriteLine($"accM{j} = {X86}Fma.MultiplyAdd(mb, Vector256.Create(Unsafe.Add(ref xs{j}, {2 * c}) + Unsafe.Add(ref xs{j}, {2 * c + 1})), accM{j});");
                }
            }
            w.CloseBlock();
        }
        foreach (int j in js)
        {
            if (blockScale)
            {
                if (wide)
                {
                    w.WriteLine(plan.Avx512BlockRuns
                        ? $"is{j} += KernelGenHelpers.SumRowPairs(System.Runtime.Intrinsics.X86.Avx512BW.MultiplyAddAdjacent(s{j}_0, ones));"
                        : $"is{j} += KernelGenHelpers.SumRowPairs(iz{j});");
                    if (plan.Avx512BlockSums)
                    {
                        EmitBlockSumTerm(w, plan, sumMultiplier!, j, bias);
                    }
                }
                if (plan.Dot.ConstantOffset != 0 && sumMultiplier is null)
                {
                    // W = q − c with one scale per block (TQ2_0): Σ(q − c)·xq = Σq·xq − c·Σxq, the block's activation sums.
                    string sums = string.Join(" + ", Enumerable.Range(0, spec.BlockElements / plan.SumSpan / 8).Select(i => $"Vector256.LoadUnsafe(ref xc{j}, {8 * i})"));
                    w.WriteLine($"is{j} -= Vector256.Create({plan.Dot.ConstantOffset} * Vector256.Sum({sums}));");
                }
                w.WriteLine($"Vector256<float> dx{j} = Vector256.Create(xd{j});");
                w.WriteLine($"acc{j} = {X86}Fma.MultiplyAdd(Vector256.ConvertToSingle(is{j}), fa * dx{j}, acc{j});");
                if (bias)
                {
                    w.WriteLine($"accM{j} = {X86}Fma.MultiplyAdd(Vector256.ConvertToSingle(im{j}), fb * dx{j}, accM{j});");
                }
            }
            else if (bias && plan.SubBias is null)
            {
                string sum = string.Join(" + ", Enumerable.Range(0, 2 * plan.Chunks).Select(i => $"Unsafe.Add(ref xs{j}, {i})"));
                w.WriteLine($"accM{j} = {X86}Fma.MultiplyAdd(fb, Vector256.Create({sum}), accM{j});");
            }
        }
        w.WriteLine("p = ref Unsafe.Add(ref p, InterleavedBlockBytes);");
        foreach (int j in js)
        {
            w.WriteLine($"xb{j} = ref Unsafe.Add(ref xb{j}, BlockElementsOf);");
            w.WriteLine($"xd{j} = ref Unsafe.Add(ref xd{j}, BlockElementsOf / {plan.ActivationBlock});");
            if (floatSums)
            {
                w.WriteLine($"xs{j} = ref Unsafe.Add(ref xs{j}, BlockElementsOf / 16);");
            }
            if (chunkSums)
            {
                w.WriteLine($"xc{j} = ref Unsafe.Add(ref xc{j}, BlockElementsOf / {plan.SumSpan});");
            }
        }
        w.CloseBlock();
        foreach (int j in js)
        {
            if (wideFloat)
            {
                w.WriteLine($"acc{j} += KernelGenHelpers.SumRowPairs(accz{j});");
            }
            w.WriteLine(bias ? $"y{j} = acc{j} {(plan.BiasNegated ? "-" : "+")} accM{j};" : $"y{j} = acc{j};");
        }
        w.CloseBlock();
    }

    /// <summary>
    /// The vpmaddwd multipliers of chunk <paramref name="c"/>, one per 16-element half (sub-scales per 16) or one for
    /// the chunk (sub-scale per 32 or more, or none: ones); returns their names indexed by half.
    /// </summary>
    private static string[] EmitMultipliers(SourceWriter w, InterleavedDotPlan plan, int c)
    {
        if (plan.SubScale is not { } a)
        {
            return new[] { "ones", "ones" };
        }
        string pair = plan.SubScaleSigned ? "PairSBytes8" : "PairBytes8";
        if (a.GroupSize == 16)
        {
            for (int half = 0; half < 2; half++)
            {
                w.WriteLine($"Vector256<short> mul{half} = KernelGenHelpers.{pair}(ref Unsafe.Add(ref p, {plan.SubScaleOffset + 8 * (2 * c + half)}));");
            }
            return new[] { "mul0", "mul1" };
        }
        w.WriteLine($"Vector256<short> mul = KernelGenHelpers.{pair}(ref Unsafe.Add(ref p, {plan.SubScaleOffset + 8 * (c * 32 / a.GroupSize)}));");
        return new[] { "mul", "mul" };
    }

    /// <summary>
    /// With the Q8_K pairing: im{j} += (or, for a constant offset c, is{j} −= c ·) the sub-block integers of <paramref name="array"/> (groups of 16 or 32) times
    /// the activation sums of those groups, one vpmaddwd per pair of groups (row r in lanes 2r, 2r+1), emitted at the
    /// chunk where the pair starts. xc holds sums per 16.
    /// </summary>
    private static void EmitSumTerms(SourceWriter w, InterleavedDotPlan plan, PackedArraySpec array, int c, int[] js, bool bias)
    {
        int group = array.GroupSize;
        if (32 * c % (2 * group) != 0)
        {
            return;
        }
        int g0 = 32 * c / group;
        string pair = array.IsSigned ? "PairRows16Signed" : "PairRows16";
        w.WriteLine($"Vector256<short> sm = KernelGenHelpers.{pair}(ref Unsafe.Add(ref p, {plan.SumMultiplierOffset + 8 * g0}), ref Unsafe.Add(ref p, {plan.SumMultiplierOffset + 8 * (g0 + 1)}));");
        string Sum(int j, int g) => group == 16
            ? $"Unsafe.Add(ref xc{j}, {g})"
            : $"Unsafe.Add(ref xc{j}, {2 * g}) + Unsafe.Add(ref xc{j}, {2 * g + 1})";
        foreach (int j in js)
        {
            string madd = $"System.Runtime.Intrinsics.X86.Avx2.MultiplyAddAdjacent(sm, KernelGenHelpers.Pair16({Sum(j, g0)}, {Sum(j, g0 + 1)}))";
            // With a bias the sums meet B later (im); a constant offset c folds into the integer sum at once
            // (W = q − c: Σ a·(q − c)·xq = Σ a·q·xq − c·Σ a·Σxq, exact in int32), one accumulator fewer per activation row.
            w.WriteLine(bias ? $"im{j} += {madd};" : $"is{j} -= {madd} * {plan.Dot.ConstantOffset};");
        }
    }

    /// <summary>
    /// The AVX-512 tile's sum term for activation row <paramref name="j"/>, once per block (<see
    /// cref="InterleavedDotPlan.Avx512BlockSums"/>): the block's group integers of <paramref name="array"/>, four groups
    /// × 8 rows per 512-bit vector (row r in lanes 4r..4r+3, loaded at <paramref name="j"/> = 0 and shared), meet the
    /// activation sums of those groups in one vpmaddwd each; the same int32 as <see cref="EmitSumTerms"/>'s per-chunk pairs.
    /// </summary>
    private static void EmitBlockSumTerm(SourceWriter w, InterleavedDotPlan plan, PackedArraySpec array, int j, bool bias)
    {
        int quads = 32 * plan.Chunks / 16 / 4;
        if (j == 0)
        {
            string widen = array.IsSigned
                ? "ConvertToVector512Int16(Vector256.LoadUnsafe(ref Unsafe.As<byte, sbyte>(ref Unsafe.Add(ref p, {0}))))"
                : "ConvertToVector512UInt16(Vector256.LoadUnsafe(ref Unsafe.Add(ref p, {0}))).AsInt16()";
            for (int q = 0; q < quads; q++)
            {
                string bytes = string.Format(widen, plan.SumMultiplierOffset + 32 * q);
                w.WriteLine($"Vector512<short> gm{q} = KernelGenHelpers.RowMajor4x8(System.Runtime.Intrinsics.X86.Avx512BW.{bytes});");
            }
        }
        // xc holds the activation sums per 16, the group size here.
        for (int q = 0; q < quads; q++)
        {
            string madd = $"System.Runtime.Intrinsics.X86.Avx512BW.MultiplyAddAdjacent(gm{q}, KernelGenHelpers.Sums4x8(Vector128.LoadUnsafe(ref xc{j}, {4 * q})))";
            w.WriteLine(q == 0 ? $"Vector512<int> gz{j} = {madd};" : $"gz{j} += {madd};");
        }
        w.WriteLine(bias ? $"im{j} += KernelGenHelpers.SumRowPairs(gz{j});" : $"is{j} -= KernelGenHelpers.SumRowPairs(gz{j}) * {plan.Dot.ConstantOffset};");
    }

    /// <summary>
    /// t{j}: the int32 sums (8 lanes = 8 rows) of chunk <paramref name="c"/> times activation row j, sub-scaled. Each
    /// bit plane of the code loads (<see cref="InterleavedDotPlan.QuadStart"/>; 6-bit codes OR in their high bits)
    /// is multiplied with its quad of activations broadcast to 8 rows (vpmaddubsw); the 16-bit pair sums of one multiplier (one per
    /// 16-element half, or one per chunk) are added in runs of at most <see cref="InterleavedDotPlan.ProductsPerInt16"/>
    /// and widened by vpmaddwd with it. Loads are taken in groups that fill one run; a group of all the loads adds
    /// each load's products as it goes (few live registers), a smaller group (6-bit) unpacks its codes first.
    /// </summary>
    private static void EmitChunkProducts(SourceWriter w, InterleavedDotPlan plan, int c, int[] js, string[] muls)
    {
        const string Avx2 = "System.Runtime.Intrinsics.X86.Avx2.";
        bool twoMultipliers = muls[0] != muls[1];
        int keys = twoMultipliers ? 2 : 1;
        int perKeyPerLoad = plan.Planes / keys;
        int loadsPerGroup = System.Math.Max(1, System.Math.Min(plan.LoadsPerChunk, plan.ProductsPerInt16 / perKeyPerLoad));
        int codeBase = plan.CodesOffset + plan.ChunkCodeBytes * c;
        var tDeclared = new HashSet<int>();
        var sDeclared = new HashSet<string>(); // locals declared in this chunk's scope
        var sPending = new HashSet<string>(); // int16 runs not yet widened
        var highLoaded = new HashSet<int>();
        string Code(int g, int plane) => EmitCode(w, plan, codeBase, g, plane, highLoaded);
        string Product(int j, int g, int plane, string code) =>
            $"{Avx2}MultiplyAddAdjacent({code}, {Activation(plan, j, c, g, plane)})";
        void Add(int j, int key, string product)
        {
            string s = $"s{j}_{key}";
            w.WriteLine(!sPending.Add(s) ? $"{s} += {product};" : sDeclared.Add(s) ? $"Vector256<short> {s} = {product};" : $"{s} = {product};");
        }
        void Flush(int j, int key)
        {
            string s = $"s{j}_{key}";
            if (!sPending.Remove(s))
            {
                return;
            }
            string madd = $"{Avx2}MultiplyAddAdjacent({s}, {muls[key]})";
            w.WriteLine(tDeclared.Add(j) ? $"Vector256<int> t{j} = {madd};" : $"t{j} += {madd};");
        }
        int Key(int g, int plane) => twoMultipliers ? InterleavedDotPlan.Half(plan.QuadStart(g, plane)) : 0;
        for (int g0 = 0; g0 < plan.LoadsPerChunk; g0 += loadsPerGroup)
        {
            var loads = Enumerable.Range(g0, System.Math.Min(loadsPerGroup, plan.LoadsPerChunk - g0)).ToArray();
            bool unpackFirst = loads.Length < plan.LoadsPerChunk;
            var codes = new Dictionary<(int, int), string>();
            foreach (int g in loads)
            {
                w.WriteLine($"Vector256<byte> w{g} = Vector256.LoadUnsafe(ref p, {codeBase + 32 * g});");
                if (unpackFirst)
                {
                    for (int plane = 0; plane < plan.Planes; plane++)
                    {
                        codes[(g, plane)] = Code(g, plane);
                    }
                }
                else
                {
                    var mine = Enumerable.Range(0, plan.Planes).Select(plane => Code(g, plane)).ToArray();
                    foreach (int j in js)
                    {
                        for (int plane = 0; plane < plan.Planes; plane++)
                        {
                            Add(j, Key(g, plane), Product(j, g, plane, mine[plane]));
                        }
                    }
                }
            }
            if (unpackFirst)
            {
                foreach (int j in js)
                {
                    for (int key = 0; key < keys; key++)
                    {
                        foreach (int g in loads)
                        {
                            for (int plane = 0; plane < plan.Planes; plane++)
                            {
                                if (Key(g, plane) == key)
                                {
                                    Add(j, key, Product(j, g, plane, codes[(g, plane)]));
                                }
                            }
                        }
                        Flush(j, key);
                    }
                }
            }
            else
            {
                foreach (int j in js)
                {
                    for (int key = 0; key < keys; key++)
                    {
                        Flush(j, key);
                    }
                }
            }
        }
    }

    /// <summary>
    /// <see cref="EmitChunkProducts"/> with AVX-VNNI: each bit plane's 4-byte row quads meet their activations in one
    /// vpdpbusd straight into int32 (no 16-bit stage, so no run limit), accumulated per multiplier key and split over
    /// two dependency chains (one chain per activation row leaves vpdpbusd latency-bound: Q4_0 batch 32, 2 threads,
    /// 478-536 → 566-576 GFLOP/s). Formats with sub-mins (Q4_K) keep one chain in the four-row tile: their extra
    /// accumulators already fill the registers, and a second chain measured slower (244 → 200 GFLOP/s).
    /// Sub-scales multiply the int32 sums (vpmulld) once per key.
    /// </summary>
    private static void EmitChunkProductsVnni(SourceWriter w, InterleavedDotPlan plan, int c, int[] js)
    {
        bool twoKeys = plan.SubScale is { GroupSize: 16 };
        int keys = twoKeys ? 2 : 1;
        int chains = js.Length == 1 || plan.SubBias is null ? 2 : 1;
        int codeBase = plan.CodesOffset + plan.ChunkCodeBytes * c;
        var highLoaded = new HashSet<int>();
        var declared = new HashSet<string>();
        for (int g = 0; g < plan.LoadsPerChunk; g++)
        {
            w.WriteLine($"Vector256<byte> w{g} = Vector256.LoadUnsafe(ref p, {codeBase + 32 * g});");
            for (int plane = 0; plane < plan.Planes; plane++)
            {
                string code = EmitCode(w, plan, codeBase, g, plane, highLoaded);
                int key = twoKeys ? InterleavedDotPlan.Half(plan.QuadStart(g, plane)) : 0;
                int chain = (g * plan.Planes + plane) % chains;
                foreach (int j in js)
                {
                    string acc = $"a{j}_{key}_{chain}";
                    bool first = declared.Add(acc);
                    string dot = $"System.Runtime.Intrinsics.X86.AvxVnni.MultiplyWideningAndAdd({(first ? "Vector256<int>.Zero" : acc)}, {code}, {Activation(plan, j, c, g, plane)})";
                    w.WriteLine(first ? $"Vector256<int> {acc} = {dot};" : $"{acc} = {dot};");
                }
            }
        }
        var scales = new string[keys];
        if (plan.SubScale is { } a)
        {
            for (int key = 0; key < keys; key++)
            {
                int index = twoKeys ? 2 * c + key : c * 32 / a.GroupSize;
                scales[key] = $"sc{key}";
                w.WriteLine($"Vector256<int> sc{key} = KernelGenHelpers.{(a.IsSigned ? "SBytes8ToInt32" : "Bytes8ToInt32")}(ref Unsafe.Add(ref p, {plan.SubScaleOffset + 8 * index}));");
            }
        }
        foreach (int j in js)
        {
            var terms = new List<string>();
            for (int key = 0; key < keys; key++)
            {
                string sum = string.Join(" + ", Enumerable.Range(0, chains).Select(ch => $"a{j}_{key}_{ch}").Where(declared.Contains));
                terms.Add(plan.SubScale is null ? sum : $"System.Runtime.Intrinsics.X86.Avx2.MultiplyLow({(sum.Contains('+') ? $"({sum})" : sum)}, {scales[key]})");
            }
            w.WriteLine($"Vector256<int> t{j} = {string.Join(" + ", terms)};");
        }
    }

    /// <summary>
    /// <see cref="EmitChunkProducts"/> on AVX-512: each 64-byte load holds main loads 2P and 2P+1 (quads of 8 rows);
    /// one vpermd puts row r's two quads side by side in qword r, so every bit plane meets 8 consecutive activations
    /// broadcast as one qword (vpbroadcastq from memory) and one vpmaddubsw makes 64 products. The int16 pair sums
    /// (row r in lanes 4r..4r+3) run as in the AVX2 tile and widen with vpmaddwd by the sub-scale spread to those
    /// lanes: tz{j} holds row r's sum in int32 lanes 2r and 2r+1 (<c>KernelGenHelpers.SumRowPairs</c> adds them). 6-bit
    /// codes take their high bits from one 64-byte load of both high loads, each row's dword duplicated (vpermd) and
    /// rotated per dword into place: high load P serves main loads 2P (planes p) and 2P+1 (planes 2 + p).
    /// </summary>
    private static void EmitChunkProductsAvx512(SourceWriter w, InterleavedDotPlan plan, int c, int[] js)
    {
        const string Avx512 = "System.Runtime.Intrinsics.X86.Avx512BW.";
        bool twoKeys = plan.SubScale is { GroupSize: 16 };
        int keys = twoKeys ? 2 : 1;
        int codeBase = plan.CodesOffset + plan.ChunkCodeBytes * c;
        var muls = new string[keys];
        for (int key = 0; key < keys; key++)
        {
            if (plan.SubScale is not { } a)
            {
                muls[key] = "ones";
                continue;
            }
            int index = twoKeys ? 2 * c + key : c * 32 / a.GroupSize;
            muls[key] = $"mz{key}";
            w.WriteLine($"Vector512<short> mz{key} = KernelGenHelpers.{(a.IsSigned ? "RowScalesSigned16x4" : "RowScales16x4")}(ref Unsafe.Add(ref p, {plan.SubScaleOffset + 8 * index}));");
        }
        if (plan.HighBits != 0)
        {
            w.WriteLine($"Vector512<byte> hAll = Vector512.LoadUnsafe(ref p, {codeBase + 32 * plan.LoadsPerChunk});");
        }
        var runs = new Dictionary<(int J, int Key), int>();
        var tDeclared = new HashSet<int>();
        var sDeclared = new HashSet<string>();
        void Flush(int j, int key)
        {
            if (!runs.TryGetValue((j, key), out int n) || n == 0)
            {
                return;
            }
            runs[(j, key)] = 0;
            string madd = $"{Avx512}MultiplyAddAdjacent(s{j}_{key}, {muls[key]})";
            w.WriteLine(tDeclared.Add(j) ? $"Vector512<int> tz{j} = {madd};" : $"tz{j} += {madd};");
        }
        for (int pair = 0; pair < plan.LoadsPerChunk / 2; pair++)
        {
            int g = 2 * pair;
            w.WriteLine($"Vector512<byte> wz{pair} = KernelGenHelpers.RowQwords(Vector512.LoadUnsafe(ref p, {codeBase + 64 * pair}));");
            if (plan.HighBits != 0)
            {
                w.WriteLine($"Vector512<uint> hz{pair} = KernelGenHelpers.RowDwordsTwice(hAll, {pair}).AsUInt32();");
            }
            var codes = new string[plan.Planes];
            for (int plane = 0; plane < plan.Planes; plane++)
            {
                string name = $"qz{pair}_{plane}";
                codes[plane] = name;
                string bits = plane == 0 ? $"wz{pair}" : $"{Avx512}ShiftRightLogical(wz{pair}.AsUInt16(), {plane * plan.LowBits}).AsByte()";
                w.WriteLine($"Vector512<byte> {name} = {bits} & codeMask;");
                if (plan.HighBits != 0)
                {
                    // Rotations per dword (left by 32 − n = right by n): the bytes a rotation wraps are masked off.
                    int Rotation(int load)
                    {
                        var (h, hp) = plan.HighPlane(load, plane);
                        System.Diagnostics.Debug.Assert(h == pair);
                        return ((plan.LowBits - plan.HighBits * hp) % 32 + 32) % 32;
                    }
                    string counts = string.Join(", ", Enumerable.Range(0, 16).Select(i => $"{Rotation(g + i % 2)}u"));
                    w.WriteLine($"{name} |= System.Runtime.Intrinsics.X86.Avx512F.RotateLeftVariable(hz{pair}, Vector512.Create({counts})).AsByte() & highMask;");
                }
            }
            foreach (int j in js)
            {
                for (int plane = 0; plane < plan.Planes; plane++)
                {
                    int key = twoKeys ? InterleavedDotPlan.Half(plan.QuadStart(g, plane)) : 0;
                    string s = $"s{j}_{key}";
                    string product = $"{Avx512}MultiplyAddAdjacent({codes[plane]}, {Octet(j, c, plan.QuadStart(g, plane))})";
                    if (plan.Avx512BlockRuns)
                    {
                        w.WriteLine($"{s} += {product};"); // declared per block, widened once at its end
                        continue;
                    }
                    runs.TryGetValue((j, key), out int n);
                    w.WriteLine(n > 0 ? $"{s} += {product};" : sDeclared.Add(s) ? $"Vector512<short> {s} = {product};" : $"{s} = {product};");
                    runs[(j, key)] = n + 1;
                    if (n + 1 == plan.ProductsPerInt16)
                    {
                        Flush(j, key);
                    }
                }
            }
        }
        foreach (int j in js)
        {
            for (int key = 0; key < keys; key++)
            {
                Flush(j, key);
            }
        }
    }

    /// <summary>Plane <paramref name="plane"/> of main load w{g} as unsigned codes (6-bit: the high bits ORed in); returns its local's name.</summary>
    private static string EmitCode(SourceWriter w, InterleavedDotPlan plan, int codeBase, int g, int plane, HashSet<int> highLoaded)
    {
        const string Avx2 = "System.Runtime.Intrinsics.X86.Avx2.";
        string name = $"q{g}_{plane}";
        if (plan.SignedCodes)
        {
            // |w| here; Activation() gives x the sign of w.
            w.WriteLine($"Vector256<byte> {name} = {Avx2}Abs(w{g}.AsSByte());");
            return name;
        }
        string bits = plane == 0 ? $"w{g}" : $"{Avx2}ShiftRightLogical(w{g}.AsUInt16(), {plane * plan.LowBits}).AsByte()";
        w.WriteLine($"Vector256<byte> {name} = {bits} & codeMask;");
        if (plan.HighBits != 0)
        {
            var (h, hp) = plan.HighPlane(g, plane);
            if (highLoaded.Add(h))
            {
                w.WriteLine($"Vector256<byte> h{h} = Vector256.LoadUnsafe(ref p, {codeBase + 32 * plan.LoadsPerChunk + 32 * h});");
            }
            int shift = plan.LowBits - plan.HighBits * hp;
            string moved = shift > 0 ? $"{Avx2}ShiftLeftLogical(h{h}.AsUInt16(), {shift}).AsByte()"
                : shift < 0 ? $"{Avx2}ShiftRightLogical(h{h}.AsUInt16(), {-shift}).AsByte()"
                : $"h{h}";
            w.WriteLine($"{name} |= {moved} & highMask;");
        }
        return name;
    }

    /// <summary>The activations plane <paramref name="plane"/> of load <paramref name="g"/> meets: <see cref="Quad"/>, with w's sign for signed codes.</summary>
    private static string Activation(InterleavedDotPlan plan, int j, int c, int g, int plane)
    {
        string x = Quad(j, c, plan.QuadStart(g, plane));
        return plan.SignedCodes ? $"System.Runtime.Intrinsics.X86.Avx2.Sign({x}, w{g}.AsSByte())" : x;
    }

    /// <summary>Activations start..start+3 of chunk c of row j, broadcast to the 8 rows' lanes (one vpbroadcastd from memory).</summary>
    /// <remarks>
    /// Written out rather than through a helper: every inlined call adds JIT temporaries, and a four-row tile makes
    /// hundreds of these; past the JIT's tracked-locals limit (1024) its locals live on the stack.
    /// </remarks>
    private static string Quad(int j, int c, int start) =>
        $"Vector256.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.As<sbyte, byte>(ref Unsafe.Add(ref xb{j}, {32 * c + start})))).AsSByte()";

    /// <summary>Activations start..start+7 of chunk c of row j in every qword (one vpbroadcastq from memory): <see cref="Quad"/> for the AVX-512 tile.</summary>
    private static string Octet(int j, int c, int start) =>
        $"Vector512.Create(Unsafe.ReadUnaligned<long>(ref Unsafe.As<sbyte, byte>(ref Unsafe.Add(ref xb{j}, {32 * c + start})))).AsSByte()";
}
