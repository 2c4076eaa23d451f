using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using KernelGen.Generators.Model;

namespace KernelGen.Generators.Emit.Dot;

/// <summary>
/// Emits the integer kernel of an <see cref="IntegerDotPlan"/>. Each 32-element chunk of a block becomes one 32-byte
/// vector of W (two 16-lane halves gathered and bit-extracted exactly as the codec's SIMD decoder does, codebooks
/// looked up with a byte shuffle), multiplied with the int8 activations into 8 int32 partial sums (lanes 0-3: the
/// first 16 elements, lanes 4-7: the last 16), converted once and multiply-added with S·d_x; M·Σx is accumulated in
/// scalar from the activation block sums. Two widths: Vector256 with AVX2 byte multiplies, and a portable Vector128
/// path (SSE, ARM) with widening multiplies. Batches run four activation rows per pass over a weight row, so each
/// chunk of W is unpacked once per four dot products.
/// </summary>
internal static class IntegerDotEmitter
{
    /// <summary>Activation rows per pass in a batched call.</summary>
    private const int Group = 4;

    public static void EmitBody(SourceWriter w, FormatSpec spec, IntegerDotPlan plan)
    {
        const string args = "ref weights, rowBytes, k, rowStart, rowEnd, ref x, ref xq, ref xd, ref xs, ref xqs, batch, ref y, yStride";
        w.OpenBlock("if (!BitConverter.IsLittleEndian)");
        w.WriteLine($"RowsFloat({args});");
        w.CloseBlock();
        w.OpenBlock("else if (System.Runtime.Intrinsics.X86.Avx2.IsSupported)");
        w.WriteLine($"RowsV256({args});");
        w.CloseBlock();
        w.OpenBlock("else if (Vector128.IsHardwareAccelerated)");
        w.WriteLine($"RowsV128({args});");
        w.CloseBlock();
        w.OpenBlock("else");
        w.WriteLine($"RowsFloat({args});");
        w.CloseBlock();
    }

    public static void EmitMembers(SourceWriter w, FormatSpec spec, IntegerDotPlan plan)
    {
        FloatDotEmitter.EmitConstants(w, spec);
        w.WriteLine();
        const string signature = "(ref byte weights, nint rowBytes, int k, int rowStart, int rowEnd, ref float x, ref sbyte xq, ref float xd, ref float xs, ref int xqs, int batch, ref float y, nint yStride)";
        w.WriteLine("/// <summary>The float kernel (f32 activations), for hardware without SIMD and as a cross-check.</summary>");
        w.OpenBlock("public static void RowsFloat" + signature);
        FloatDotEmitter.EmitBody(w, spec);
        w.CloseBlock();
        foreach (int width in new[] { 256, 128 })
        {
            w.WriteLine();
            w.WriteLine($"/// <summary>The integer kernel with Vector{width} code{(width == 256 ? " (AVX2 byte multiply-adds)" : " (portable: SSE, ARM)")}.</summary>");
            w.OpenBlock($"public static void RowsV{width}" + signature);
            w.WriteLine("int blocks = k / BlockElementsOf;");
            w.OpenBlock("for (int r = rowStart; r < rowEnd; r++)");
            w.WriteLine("ref byte row = ref Unsafe.Add(ref weights, r * rowBytes);");
            w.WriteLine("int b = 0;");
            w.OpenBlock($"for (; b + {Group} <= batch; b += {Group})");
            string outs = string.Join(", ", Enumerable.Range(0, Group).Select(j => $"out float y{j}"));
            w.WriteLine($"RowDot{Group}V{width}(ref row, blocks, k, ref Unsafe.Add(ref xq, (nint)b * k), ref Unsafe.Add(ref xd, (nint)b * (k / 32)), ref Unsafe.Add(ref xs, (nint)b * (k / 16)), ref Unsafe.Add(ref xqs, (nint)b * (k / 4)), {outs});");
            for (int j = 0; j < Group; j++)
            {
                w.WriteLine($"Unsafe.Add(ref y, (b + {j}) * yStride + r) = y{j};");
            }
            w.CloseBlock();
            w.OpenBlock("for (; b < batch; b++)");
            w.WriteLine($"RowDot1V{width}(ref row, blocks, k, ref Unsafe.Add(ref xq, (nint)b * k), ref Unsafe.Add(ref xd, (nint)b * (k / 32)), ref Unsafe.Add(ref xs, (nint)b * (k / 16)), ref Unsafe.Add(ref xqs, (nint)b * (k / 4)), out float y0);");
            w.WriteLine("Unsafe.Add(ref y, b * yStride + r) = y0;");
            w.CloseBlock();
            w.CloseBlock();
            w.CloseBlock();
            foreach (int n in new[] { 1, Group })
            {
                w.WriteLine();
                EmitRowDot(w, spec, plan, width, n);
            }
        }
    }

    /// <summary>One weight row against <paramref name="n"/> activation rows (k apart).</summary>
    private static void EmitRowDot(SourceWriter w, FormatSpec spec, IntegerDotPlan plan, int width, int n)
    {
        string vec = width == 256 ? "Vector256" : "Vector128";
        string outs = string.Join(", ", Enumerable.Range(0, n).Select(j => $"out float y{j}"));
        w.WriteLine("[MethodImpl(MethodImplOptions.AggressiveOptimization)]");
        w.OpenBlock($"private static void RowDot{n}V{width}(ref byte row, int blocks, int k, ref sbyte xq, ref float xd, ref float xs, ref int xqs, {outs})");
        for (int j = 0; j < n; j++)
        {
            w.WriteLine($"{vec}<float> acc{j} = {vec}<float>.Zero;");
            w.WriteLine($"float m{j} = 0f;");
        }
        int chunks = spec.BlockElements / 32;
        int scalePeriod = plan.ScalePeriod(spec);
        int biasPeriod = plan.BiasPeriod(spec);
        bool biasPerBlock = plan.Bias is not null && biasPeriod >= spec.BlockElements;
        w.OpenBlock("for (int b = 0; b < blocks; b++)");
        w.WriteLine("ref byte blk = ref Unsafe.Add(ref row, (nint)b * BlockBytesOf);");
        w.WriteLine("nint e = (nint)b * BlockElementsOf;");
        if (plan.GroupArrays(spec).Any(a => a.Runs.Any(r => r.Pieces.Any(p => p.Kind != PieceKind.Bits))))
        {
            w.WriteLine("ReadOnlySpan<byte> block = MemoryMarshal.CreateReadOnlySpan(ref blk, BlockBytesOf);");
        }
        EmitFieldLocals(w, spec, plan);
        foreach (var a in plan.GroupArrays(spec))
        {
            for (int g = 0; g < a.Count; g++)
            {
                var (run, at) = a.Locate(g);
                string value = string.Join(" | ", run.Pieces.Select(p => FormatEmitter.PieceReadConst(p, at)));
                if (a.IsSigned && a.Bits < 32)
                {
                    value = $"KernelGenHelpers.SignExtend({value}, {a.Bits})";
                }
                w.WriteLine($"int a_{a.Name}_{g} = {value};");
            }
        }
        if (biasPerBlock)
        {
            for (int j = 0; j < n; j++)
            {
                w.WriteLine($"float xsum{j} = 0f;");
            }
        }
        for (int c = 0; c < chunks; c++)
        {
            int e0 = c * 32;
            w.WriteLine($"// elements {e0}..{e0 + 31}");
            w.OpenBlock();
            var loChunk = plan.Chunks.Chunks[2 * c];
            var hiChunk = plan.Chunks.Chunks[2 * c + 1];
            string dot = plan.SignedWeights ? "DotI8I8" : "DotU8I8";
            string asW = plan.SignedWeights ? ".AsSByte()" : "";
            string lo = "", hi = "";
            if (width == 256)
            {
                if (!TryEmitWide(w, plan, loChunk, hiChunk, c))
                {
                    lo = EmitHalf(w, spec, plan, loChunk, $"{c}l");
                    hi = EmitHalf(w, spec, plan, hiChunk, $"{c}h");
                    w.WriteLine($"Vector256<byte> wq = Vector256.Create({lo}, {hi});");
                }
            }
            else
            {
                lo = EmitHalf(w, spec, plan, loChunk, $"{c}l");
                hi = EmitHalf(w, spec, plan, hiChunk, $"{c}h");
            }
            string S(int elem) => FormatEmitter.Scalar(plan.Scale, spec, a => $"a_{a.Name}_{elem / a.GroupSize}");
            string M(int elem) => FormatEmitter.Scalar(plan.Bias!, spec, a => $"a_{a.Name}_{elem / a.GroupSize}");
            if (scalePeriod == 16)
            {
                w.WriteLine($"float sLo = {S(e0)};");
                w.WriteLine($"float sHi = {S(e0 + 16)};");
            }
            else
            {
                w.WriteLine($"float s = {S(e0)};");
            }
            for (int j = 0; j < n; j++)
            {
                string aq = $"ref Unsafe.Add(ref xq, {j} * k + e + {e0})";
                w.WriteLine($"float d{j} = Unsafe.Add(ref xd, {j} * (k / 32) + (e >> 5) + {c});");
                if (width == 256)
                {
                    w.WriteLine($"Vector256<int> p{j} = KernelGenHelpers.{dot}(wq{asW}, Vector256.LoadUnsafe({aq}));");
                    if (plan.ConstantOffset != 0)
                    {
                        w.WriteLine($"p{j} -= {Times("Vector256", $"Vector256.LoadUnsafe(ref Unsafe.Add(ref xqs, {j} * (k / 4) + (e >> 2) + {8 * c}))", plan.ConstantOffset)};");
                    }
                    string sv = scalePeriod == 16
                        ? $"Vector256.Create(Vector128.Create(sLo * d{j}), Vector128.Create(sHi * d{j}))"
                        : $"Vector256.Create(s * d{j})";
                    w.WriteLine($"acc{j} = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(p{j}), {sv}, acc{j});");
                }
                else
                {
                    w.WriteLine($"Vector128<int> pl{j} = KernelGenHelpers.{dot}({lo}{asW}, Vector128.LoadUnsafe({aq}));");
                    w.WriteLine($"Vector128<int> ph{j} = KernelGenHelpers.{dot}({hi}{asW}, Vector128.LoadUnsafe(ref Unsafe.Add(ref xq, {j} * k + e + {e0 + 16})));");
                    if (plan.ConstantOffset != 0)
                    {
                        w.WriteLine($"pl{j} -= {Times("Vector128", $"Vector128.LoadUnsafe(ref Unsafe.Add(ref xqs, {j} * (k / 4) + (e >> 2) + {8 * c}))", plan.ConstantOffset)};");
                        w.WriteLine($"ph{j} -= {Times("Vector128", $"Vector128.LoadUnsafe(ref Unsafe.Add(ref xqs, {j} * (k / 4) + (e >> 2) + {8 * c + 4}))", plan.ConstantOffset)};");
                    }
                    string sl = scalePeriod == 16 ? "sLo" : "s";
                    string sh = scalePeriod == 16 ? "sHi" : "s";
                    w.WriteLine($"acc{j} = Vector128.FusedMultiplyAdd(Vector128.ConvertToSingle(pl{j}), Vector128.Create({sl} * d{j}), acc{j});");
                    w.WriteLine($"acc{j} = Vector128.FusedMultiplyAdd(Vector128.ConvertToSingle(ph{j}), Vector128.Create({sh} * d{j}), acc{j});");
                }
                if (plan.Bias is not null)
                {
                    string xsLo = $"Unsafe.Add(ref xs, {j} * (k / 16) + (e >> 4) + {2 * c})";
                    string xsHi = $"Unsafe.Add(ref xs, {j} * (k / 16) + (e >> 4) + {2 * c + 1})";
                    if (biasPerBlock)
                    {
                        w.WriteLine($"xsum{j} += {xsLo} + {xsHi};");
                    }
                    else if (biasPeriod >= 32)
                    {
                        w.WriteLine($"m{j} += {M(e0)} * ({xsLo} + {xsHi});");
                    }
                    else
                    {
                        w.WriteLine($"m{j} += {M(e0)} * {xsLo} + {M(e0 + 16)} * {xsHi};");
                    }
                }
            }
            w.CloseBlock();
        }
        if (biasPerBlock)
        {
            w.WriteLine($"float mb = {FormatEmitter.Scalar(plan.Bias!, spec, a => $"a_{a.Name}_0")};");
            for (int j = 0; j < n; j++)
            {
                w.WriteLine($"m{j} += mb * xsum{j};");
            }
        }
        w.CloseBlock();
        for (int j = 0; j < n; j++)
        {
            w.WriteLine($"y{j} = {vec}.Sum(acc{j}) + m{j};");
        }
        w.CloseBlock();
    }

    /// <summary>c·v for a small literal c: a shift when c is a power of two.</summary>
    private static string Times(string vec, string v, int c)
    {
        int abs = System.Math.Abs(c);
        string term = abs == 1 ? v
            : (abs & (abs - 1)) == 0 ? $"{vec}.ShiftLeft({v}, {Log2(abs)})"
            : $"({v} * {abs})";
        return c < 0 ? $"(-{term})" : term;
    }

    private static int Log2(int v)
    {
        int n = 0;
        while ((1 << n) < v)
        {
            n++;
        }
        return n;
    }

    /// <summary>Block fields the formula reads, loaded with unaligned reads (the kernels run on little-endian only).</summary>
    private static void EmitFieldLocals(SourceWriter w, FormatSpec spec, IntegerDotPlan plan)
    {
        var used = new HashSet<string>();
        CollectFields(plan.Scale, used);
        if (plan.Bias is not null)
        {
            CollectFields(plan.Bias, used);
        }
        foreach (var f in spec.Fields)
        {
            if (!used.Contains(f.Name))
            {
                continue;
            }
            string at = $"ref Unsafe.Add(ref blk, {f.Offset})";
            string value = f.Type switch
            {
                ScalarKind.F16 => $"KernelGenHelpers.HalfToSingle(Unsafe.ReadUnaligned<ushort>({at}))",
                ScalarKind.BF16 => $"KernelGenHelpers.BFloat16ToSingle(Unsafe.ReadUnaligned<ushort>({at}))",
                ScalarKind.F32 => $"Unsafe.ReadUnaligned<float>({at})",
                ScalarKind.U8 => $"Unsafe.Add(ref blk, {f.Offset})",
                ScalarKind.I8 => $"(sbyte)Unsafe.Add(ref blk, {f.Offset})",
                ScalarKind.U16 => $"Unsafe.ReadUnaligned<ushort>({at})",
                ScalarKind.I16 => $"Unsafe.ReadUnaligned<short>({at})",
                ScalarKind.U32 => $"unchecked((int)Unsafe.ReadUnaligned<uint>({at}))",
                _ => $"Unsafe.ReadUnaligned<int>({at})",
            };
            w.WriteLine($"{(f.Type.IsFloat() ? "float" : "int")} f_{f.Name} = {value};");
        }
    }

    private static void CollectFields(ExprSpec e, HashSet<string> used)
    {
        switch (e)
        {
            case NameRef { Kind: NameKind.Field } n: used.Add(n.Name); break;
            case CodebookLookup l: CollectFields(l.Index, used); break;
            case ToFloat c: CollectFields(c.Operand, used); break;
            case Negate n: CollectFields(n.Operand, used); break;
            case Binary b: CollectFields(b.Left, used); CollectFields(b.Right, used); break;
        }
    }

    /// <summary>
    /// The fast 32-lane gather for chunks whose pieces are plain contiguous bit fields (every GGUF quant but TQ1_0's
    /// trits and the bit-plane high bits): 32 consecutive bytes load once; two halves of the same 16 bytes (nibble
    /// pairs) load once and are shifted per half; then one 256-bit mask per piece. 16-bit lane shifts leak bits across
    /// bytes only outside the masked destination bits. Returns false when a piece needs the general per-half path.
    /// </summary>
    private static bool TryEmitWide(SourceWriter w, IntegerDotPlan plan, FormatEmitter.ChunkPlan lo, FormatEmitter.ChunkPlan hi, int c)
    {
        var (_, loSlots) = lo.Arrays.Single(a => a.Array.Name == plan.Quant.Name);
        var (_, hiSlots) = hi.Arrays.Single(a => a.Array.Name == plan.Quant.Name);
        if (loSlots.Count != hiSlots.Count)
        {
            return false;
        }
        for (int j = 0; j < loSlots.Count; j++)
        {
            var a = loSlots[j];
            var b = hiSlots[j];
            if (a.Kind != PieceKind.Bits || b.Kind != PieceKind.Bits || !a.Contiguous || !b.Contiguous
                || a.Width != b.Width || a.DestShift != b.DestShift
                || a.Shifts.Take(16).Distinct().Count() != 1 || b.Shifts.Take(16).Distinct().Count() != 1)
            {
                return false;
            }
        }
        var parts = new List<string>();
        for (int j = 0; j < loSlots.Count; j++)
        {
            var a = loSlots[j];
            var b = hiSlots[j];
            int sa = a.Shifts[0], sb = b.Shifts[0];
            string v = $"v{c}_{j}";
            if (b.Offset == a.Offset + 16 && sa == sb)
            {
                w.WriteLine($"Vector256<byte> {v} = {Move("Vector256", $"Vector256.LoadUnsafe(ref blk, {a.Offset})", sa - a.DestShift)};");
            }
            else
            {
                string ra = $"r{c}_{j}a";
                w.WriteLine($"Vector128<byte> {ra} = KernelGenHelpers.Load16(ref blk, {a.Offset});");
                string rb = ra;
                if (b.Offset != a.Offset)
                {
                    rb = $"r{c}_{j}b";
                    w.WriteLine($"Vector128<byte> {rb} = KernelGenHelpers.Load16(ref blk, {b.Offset});");
                }
                w.WriteLine($"Vector256<byte> {v} = Vector256.Create({Move("Vector128", ra, sa - a.DestShift)}, {Move("Vector128", rb, sb - b.DestShift)});");
            }
            int mask = (((1 << a.Width) - 1) << a.DestShift) & 0xFF;
            parts.Add(a.Width == 8 && a.DestShift == 0 ? v : $"({v} & Vector256.Create((byte)0x{mask:X2}))");
        }
        w.WriteLine($"Vector256<byte> wq = {string.Join(" | ", parts)};");
        if (plan.Codebook is { } cb)
        {
            var table = new int[16];
            for (int i = 0; i < cb.Values.Count; i++)
            {
                table[i] = (int)(cb.Values[i] & 0xFF);
            }
            w.WriteLine($"wq = KernelGenHelpers.Lookup32({FormatEmitter.ByteVector(table)}, wq);");
        }
        return true;
    }

    /// <summary>Moves bits right (positive) or left (negative) within bytes using 16-bit lane shifts; the caller masks.</summary>
    private static string Move(string vec, string v, int right) => right switch
    {
        0 => v,
        > 0 => $"{vec}.ShiftRightLogical({v}.AsUInt16(), {right}).AsByte()",
        _ => $"{vec}.ShiftLeft({v}.AsUInt16(), {-right}).AsByte()",
    };

    /// <summary>Gathers and extracts W for 16 elements; returns the variable holding them as bytes.</summary>
    private static string EmitHalf(SourceWriter w, FormatSpec spec, IntegerDotPlan plan, FormatEmitter.ChunkPlan chunk, string tag)
    {
        var (array, slots) = chunk.Arrays.Single(a => a.Array.Name == plan.Quant.Name);
        var parts = new List<string>();
        for (int j = 0; j < slots.Count; j++)
        {
            var slot = slots[j];
            string g = $"g{tag}{j}";
            string off = slot.Offset.ToString(CultureInfo.InvariantCulture);
            w.WriteLine(slot.Contiguous
                ? $"Vector128<byte> {g} = KernelGenHelpers.Load16(ref blk, {off});"
                : $"Vector128<byte> {g} = Vector128.Shuffle(KernelGenHelpers.Load{slot.WindowSize}(ref blk, {off}), {FormatEmitter.ByteVector(slot.Indices)});");
            parts.Add(FormatEmitter.EmitExtract(w, slot, g, $"t{tag}{j}", 16));
        }
        string q = $"q{tag}";
        w.WriteLine($"Vector128<byte> {q} = {string.Join(" | ", parts)};");
        if (plan.Codebook is { } cb)
        {
            var table = new int[16];
            for (int i = 0; i < cb.Values.Count; i++)
            {
                table[i] = (int)(cb.Values[i] & 0xFF);
            }
            w.WriteLine($"{q} = KernelGenHelpers.Lookup16({FormatEmitter.ByteVector(table)}, {q});");
        }
        return q;
    }
}
