using System.Collections.Generic;
using System.Linq;
using KernelGen.Generators.Model;

namespace KernelGen.Generators.Emit.Dot;

/// <summary>
/// Emits the 8-row interleaved kernel of an <see cref="InterleavedDotPlan"/> into <c>&lt;F&gt;Dot</c>:
/// <c>Interleave8</c> (the one-time repack of 8 GGUF rows, through the codec's own <c>DecodeFields</c>) and
/// <c>RowsInterleaved8</c> (AVX2). Per 32-element chunk of 8 rows: four (4-bit) or two (2-bit) 32-byte code loads,
/// each bit plane masked and multiplied (vpmaddubsw) with pre-broadcast activations, the eight 16-bit pair sums added
/// (at most 8·2·15·127, no saturation), one vpmaddwd (by the sub-scale a, or by 1) to 8 int32 lanes = 8 rows, one convert and one FMA with
/// A·d_x. The bias term M·Σx is one more FMA per chunk (sub-block b) or per block. Batches run four activation rows per
/// pass so each unpacked chunk feeds 32 row-activation products.
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
        w.WriteLine();
        EmitPacker(w, spec, plan, codec);
        w.WriteLine();
        EmitDriver(w);
        foreach (int acts in new[] { 4, 1 })
        {
            w.WriteLine();
            EmitTile(w, spec, plan, acts);
        }
    }

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
        string planes = string.Join(" | ", Enumerable.Range(0, plan.Planes).Select(p =>
            $"({q}[32 * c + {32 / plan.Planes * p} + 4 * g + j] << {p * plan.CodeBits})"));
        w.WriteLine($"o[{plan.CodesOffset} + {plan.ChunkCodeBytes} * c + 32 * g + 4 * r + j] = (byte)({planes});");
        w.CloseBlock();
        w.CloseBlock();
        w.CloseBlock();
        w.CloseBlock();
        w.CloseBlock();
        w.WriteLine("return true;");
        w.CloseBlock();
    }

    private static void EmitDriver(SourceWriter w)
    {
        w.WriteLine("/// <summary>");
        w.WriteLine("/// The kernel on the 8-row interleaved layout (AVX2 and FMA only): weights = groups of 8 rows packed by");
        w.WriteLine("/// <see cref=\"Interleave8\"/>, rowBytes = bytes of one group; rowStart a multiple of 8 (rowEnd may cut the last group).");
        w.WriteLine("/// Activation row b: xq[b·8k..] in KernelGenHelpers.BroadcastQuads form, xd[b·k/A..] (one scale per");
        w.WriteLine("/// A = <see cref=\"InterleavedActivationBlock\"/> values), xs[b·k/16..] (dequantized sum per 16), xqs[b·k/32..] (Σxq per 32); x is not read.");
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
            string outs = string.Join(", ", Enumerable.Range(0, acts).Select(j => $"out Vector256<float> v{j}"));
            w.WriteLine($"Group8x{acts}(ref group, blocks, k, ref Unsafe.Add(ref xq, (nint)b * 8 * k), ref Unsafe.Add(ref xd, (nint)b * (k / InterleavedActivationBlock)), ref Unsafe.Add(ref xs, (nint)b * (k / 16)), ref Unsafe.Add(ref xqs, (nint)b * (k / 32)), {outs});");
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
    /// per block (Q8_K pairing) the chunks' sums, sub-scaled by vpmaddwd, and the sub-mins times the activation sums
    /// stay in int32 until the block ends.
    /// </summary>
    private static void EmitTile(SourceWriter w, FormatSpec spec, InterleavedDotPlan plan, int acts)
    {
        var js = Enumerable.Range(0, acts).ToArray();
        bool bias = plan.BiasField is not null;
        bool blockScale = plan.ActivationBlock == spec.BlockElements && plan.Chunks > 1;
        bool floatSums = bias && !blockScale;
        bool chunkSums = plan.Dot.ConstantOffset != 0 || blockScale;
        const string X86 = "System.Runtime.Intrinsics.X86.";
        string outs = string.Join(", ", js.Select(j => $"out Vector256<float> y{j}"));
        w.WriteLine("[MethodImpl(MethodImplOptions.AggressiveOptimization)]");
        w.OpenBlock($"private static void Group8x{acts}(ref byte group, int blocks, int k, ref sbyte xb, ref float xd, ref float xs, ref int xc, {outs})");
        w.WriteLine($"Vector256<byte> codeMask = Vector256.Create((byte){(1 << plan.CodeBits) - 1});");
        if (plan.SubScale is null)
        {
            w.WriteLine("Vector256<short> ones = Vector256.Create((short)1);");
        }
        foreach (int j in js)
        {
            w.WriteLine($"Vector256<float> acc{j} = Vector256<float>.Zero;");
            if (bias)
            {
                w.WriteLine($"Vector256<float> accM{j} = Vector256<float>.Zero;");
            }
            w.WriteLine($"ref sbyte xb{j} = ref Unsafe.Add(ref xb, {j} * 8 * k);");
            w.WriteLine($"ref float xd{j} = ref Unsafe.Add(ref xd, {j} * (k / {plan.ActivationBlock}));");
            if (floatSums)
            {
                w.WriteLine($"ref float xs{j} = ref Unsafe.Add(ref xs, {j} * (k / 16));");
            }
            if (chunkSums)
            {
                w.WriteLine($"ref int xc{j} = ref Unsafe.Add(ref xc, {j} * (k / 32));");
            }
        }
        w.WriteLine("ref byte p = ref group;");
        w.OpenBlock("for (int b = 0; b < blocks; b++)");
        w.WriteLine("Vector256<float> fa = KernelGenHelpers.HalfBits8ToSingle(ref p);");
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
                if (bias)
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
            if (plan.SubScale is { } a)
            {
                int index = c * 32 / a.GroupSize;
                w.WriteLine($"Vector256<short> mul = KernelGenHelpers.PairBytes8(ref Unsafe.Add(ref p, {plan.SubScaleOffset + 8 * index}));");
            }
            EmitChunkProducts(w, plan, c, js);
            string mulName = plan.SubScale is null ? "ones" : "mul";
            if (blockScale && bias && c % 2 == 0)
            {
                // Sub-mins of this chunk and the next, row r in lanes 2r and 2r+1, times the two chunks' Σxq.
                w.WriteLine($"Vector256<short> mins = KernelGenHelpers.PairRows16(ref Unsafe.Add(ref p, {plan.SubBiasOffset + 8 * c}), ref Unsafe.Add(ref p, {plan.SubBiasOffset + 8 * (c + 1)}));");
            }
            foreach (int j in js)
            {
                string madd = $"{X86}Avx2.MultiplyAddAdjacent(s{j}, {mulName})";
                if (blockScale)
                {
                    w.WriteLine($"is{j} += {madd};");
                    if (bias && c % 2 == 0)
                    {
                        w.WriteLine($"im{j} += {X86}Avx2.MultiplyAddAdjacent(mins, KernelGenHelpers.Pair16(Unsafe.Add(ref xc{j}, {c}), Unsafe.Add(ref xc{j}, {c + 1})));");
                    }
                    continue;
                }
                w.WriteLine($"Vector256<int> i{j} = {madd};");
                if (plan.Dot.ConstantOffset != 0)
                {
                    w.WriteLine($"i{j} -= Vector256.Create({plan.Dot.ConstantOffset} * Unsafe.Add(ref xc{j}, {c}));");
                }
                w.WriteLine($"acc{j} = {X86}Fma.MultiplyAdd(Vector256.ConvertToSingle(i{j}), fa * Vector256.Create(Unsafe.Add(ref xd{j}, {c})), acc{j});");
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
            w.WriteLine($"xb{j} = ref Unsafe.Add(ref xb{j}, BlockElementsOf * 8);");
            w.WriteLine($"xd{j} = ref Unsafe.Add(ref xd{j}, BlockElementsOf / {plan.ActivationBlock});");
            if (floatSums)
            {
                w.WriteLine($"xs{j} = ref Unsafe.Add(ref xs{j}, BlockElementsOf / 16);");
            }
            if (chunkSums)
            {
                w.WriteLine($"xc{j} = ref Unsafe.Add(ref xc{j}, BlockElementsOf / 32);");
            }
        }
        w.CloseBlock();
        foreach (int j in js)
        {
            w.WriteLine(bias ? $"y{j} = acc{j} {(plan.BiasNegated ? "-" : "+")} accM{j};" : $"y{j} = acc{j};");
        }
        w.CloseBlock();
    }

    /// <summary>
    /// s{j}: the 16 pair sums of chunk <paramref name="c"/> of 8 rows times activation row j, from its 32-byte code
    /// loads; each bit plane (<see cref="InterleavedDotPlan.QuadStart"/>) multiplied with its pre-broadcast activations.
    /// </summary>
    private static void EmitChunkProducts(SourceWriter w, InterleavedDotPlan plan, int c, int[] js)
    {
        for (int g = 0; g < plan.LoadsPerChunk; g++)
        {
            w.WriteLine($"Vector256<byte> w{g} = Vector256.LoadUnsafe(ref p, {plan.CodesOffset + plan.ChunkCodeBytes * c + 32 * g});");
            var products = new List<string>[js.Length];
            for (int i = 0; i < js.Length; i++)
            {
                products[i] = new List<string>();
            }
            for (int plane = 0; plane < plan.Planes; plane++)
            {
                string bits = plane == 0 ? $"w{g}" : $"System.Runtime.Intrinsics.X86.Avx2.ShiftRightLogical(w{g}.AsUInt16(), {plane * plan.CodeBits}).AsByte()";
                w.WriteLine($"Vector256<byte> q{g}_{plane} = {bits} & codeMask;");
                foreach (int j in js)
                {
                    products[j].Add($"System.Runtime.Intrinsics.X86.Avx2.MultiplyAddAdjacent(q{g}_{plane}, Vector256.LoadUnsafe(ref xb{j}, {BroadcastOffset(c, plan.QuadStart(g, plane))}).AsSByte())");
                }
            }
            foreach (int j in js)
            {
                for (int i = 0; i < products[j].Count; i += 2)
                {
                    string pair = $"{products[j][i]} + {products[j][i + 1]}";
                    w.WriteLine(g == 0 && i == 0 ? $"Vector256<short> s{j} = {pair};" : $"s{j} += {pair};");
                }
            }
        }
    }

    /// <summary>Where KernelGenHelpers.BroadcastQuads put the 8-row copies of elements start..start+3 of chunk c.</summary>
    private static int BroadcastOffset(int c, int start) => 256 * c + (start < 16 ? 64 * (start / 4) : 64 * ((start - 16) / 4) + 32);
}
