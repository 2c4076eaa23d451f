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

    public static void EmitMembers(SourceWriter w, FormatSpec spec, IntegerDotPlan plan, string codec, int? fixedK)
    {
        FloatDotEmitter.EmitConstants(w, spec);
        w.WriteLine();
        const string signature = "(ref byte weights, nint rowBytes, int k, int rowStart, int rowEnd, ref float x, ref sbyte xq, ref float xd, ref float xs, ref int xqs, int batch, ref float y, nint yStride)";
        w.WriteLine("/// <summary>The float kernel (f32 activations), for hardware without SIMD and as a cross-check.</summary>");
        w.OpenBlock("public static void RowsFloat" + signature);
        FloatDotEmitter.EmitBody(w, spec, codec);
        w.CloseBlock();
        foreach (int width in new[] { 256, 128 })
        {
            w.WriteLine();
            w.WriteLine($"/// <summary>The integer kernel with Vector{width} code{(width == 256 ? " (AVX2 byte multiply-adds)" : " (portable: SSE, ARM)")}.</summary>");
            w.OpenBlock($"public static void RowsV{width}" + signature);
            if (fixedK is null)
            {
                w.WriteLine("int blocks = k / BlockElementsOf;");
            }
            w.WriteLine("int r = rowStart;");
            // Four rows per pass share every activation load and run their scalar side in vector lanes; batches add
            // four activation rows per pass, so each unpacked weight chunk feeds sixteen products.
            w.OpenBlock("for (; r + 4 <= rowEnd; r += 4)");
            w.WriteLine("int b = 0;");
            w.OpenBlock("for (; b + 4 <= batch; b += 4)");
            EmitCall(w, width, 4, 4, "b", fixedK is not null);
            w.CloseBlock();
            w.OpenBlock("for (; b < batch; b++)");
            EmitCall(w, width, 4, 1, "b", fixedK is not null);
            w.CloseBlock();
            w.CloseBlock();
            w.OpenBlock("for (; r < rowEnd; r++)");
            w.OpenBlock("for (int b = 0; b < batch; b++)");
            EmitCall(w, width, 1, 1, "b", fixedK is not null);
            w.CloseBlock();
            w.CloseBlock();
            w.CloseBlock();
            foreach (var (rows, acts) in new[] { (4, 1), (4, 4), (1, 1) })
            {
                w.WriteLine();
                EmitTile(w, spec, plan, width, rows, acts, fixedK);
            }
        }
    }

    private static void EmitCall(SourceWriter w, int width, int rows, int acts, string b, bool fixedK)
    {
        string shape = fixedK ? "" : "blocks, k, ";
        var outs = new List<string>();
        for (int i = 0; i < rows; i++)
        {
            for (int j = 0; j < acts; j++)
            {
                outs.Add($"out float y{i}{j}");
            }
        }
        w.WriteLine($"Tile{rows}x{acts}V{width}(ref Unsafe.Add(ref weights, r * rowBytes), rowBytes, {shape}ref Unsafe.Add(ref xq, (nint){b} * k), ref Unsafe.Add(ref xd, (nint){b} * (k / 32)), ref Unsafe.Add(ref xs, (nint){b} * (k / 16)), ref Unsafe.Add(ref xqs, (nint){b} * (k / 4)), {string.Join(", ", outs)});");
        for (int i = 0; i < rows; i++)
        {
            for (int j = 0; j < acts; j++)
            {
                w.WriteLine($"Unsafe.Add(ref y, ({b} + {j}) * yStride + r + {i}) = y{i}{j};");
            }
        }
    }

    /// <summary>
    /// A register tile: <paramref name="rows"/> weight rows (rowBytes apart) against <paramref name="acts"/>
    /// activation rows (k apart). Per 32-element chunk, the activation vectors and offset corrections are loaded
    /// once and every row's unpacked chunk multiplies all of them.
    /// </summary>
    private static void EmitTile(SourceWriter w, FormatSpec spec, IntegerDotPlan plan, int width, int rows, int acts, int? fixedK)
    {
        string vec = width == 256 ? "Vector256" : "Vector128";
        var outs = new List<string>();
        for (int i = 0; i < rows; i++)
        {
            for (int j = 0; j < acts; j++)
            {
                outs.Add($"out float y{i}{j}");
            }
        }
        w.WriteLine("[MethodImpl(MethodImplOptions.AggressiveOptimization)]");
        string shape = fixedK is null ? "int blocks, int k, " : "";
        w.OpenBlock($"private static void Tile{rows}x{acts}V{width}(ref byte row, nint rowBytes, {shape}ref sbyte xq, ref float xd, ref float xs, ref int xqs, {string.Join(", ", outs)})");
        if (fixedK is int kConst)
        {
            w.WriteLine($"const int k = {kConst};");
            w.WriteLine($"const int blocks = {kConst / spec.BlockElements};");
        }
        // Row lanes: with four rows, the scalar side (block fields, sub-scales, S and M) runs as 4-lane vectors, one
        // lane per row, instead of four scalar copies; each row's scale is then one lane broadcast.
        bool rowLanes = rows == 4 && RowVector(plan.Scale, spec, 0) is not null && (plan.Bias is null || RowVector(plan.Bias, spec, 0) is not null);
        // With AVX2 and row lanes, the four rows' 8-lane partial sums are folded by three horizontal adds into one
        // vector (lanes 0-3: rows 0-3 over the first 16 elements, lanes 4-7: over the last 16), so one convert and one
        // FMA serve four rows.
        bool foldRows = rowLanes && width == 256;
        if (foldRows)
        {
            for (int j = 0; j < acts; j++)
            {
                w.WriteLine($"Vector256<float> acc{j} = Vector256<float>.Zero;");
            }
        }
        for (int i = 0; i < rows && !foldRows; i++)
        {
            for (int j = 0; j < acts; j++)
            {
                w.WriteLine($"{vec}<float> acc{i}{j} = {vec}<float>.Zero;");
                if (plan.Bias is not null && !rowLanes)
                {
                    w.WriteLine($"float m{i}{j} = 0f;");
                }
            }
        }
        // With row lanes the constant offset joins the bias lanes; otherwise it is an integer correction per row.
        bool laneBias = rowLanes && (plan.Bias is not null || plan.ConstantOffset != 0);
        bool intOffset = plan.ConstantOffset != 0 && !rowLanes;
        if (laneBias)
        {
            for (int j = 0; j < acts; j++)
            {
                w.WriteLine($"Vector128<float> mv{j} = Vector128<float>.Zero;");
            }
        }
        int chunks = spec.BlockElements / 32;
        int scalePeriod = plan.ScalePeriod(spec);
        int biasPeriod = plan.BiasPeriod(spec);
        bool biasPerBlock = plan.Bias is not null && biasPeriod >= spec.BlockElements;
        string dot = plan.SignedWeights ? "DotI8I8" : "DotU8I8";
        string asW = plan.SignedWeights ? ".AsSByte()" : "";
        // Running refs, advanced once per block: no index arithmetic in the loop.
        for (int j = 0; j < acts; j++)
        {
            w.WriteLine($"ref sbyte aq{j} = ref Unsafe.Add(ref xq, {j} * k);");
            w.WriteLine($"ref float ad{j} = ref Unsafe.Add(ref xd, {j} * (k / 32));");
            if (plan.Bias is not null || laneBias)
            {
                w.WriteLine($"ref float as{j} = ref Unsafe.Add(ref xs, {j} * (k / 16));");
            }
            if (intOffset)
            {
                w.WriteLine($"ref int aqs{j} = ref Unsafe.Add(ref xqs, {j} * (k / 4));");
            }
        }
        for (int i = 0; i < rows; i++)
        {
            w.WriteLine($"ref byte blk{i} = ref Unsafe.Add(ref row, {i} * rowBytes);");
        }
        if (rows == 4)
        {
            w.WriteLine("ref byte ahead = ref Unsafe.Add(ref row, 4 * rowBytes);");
        }
        void Advance()
        {
            for (int j = 0; j < acts; j++)
            {
                w.WriteLine($"aq{j} = ref Unsafe.Add(ref aq{j}, BlockElementsOf);");
                w.WriteLine($"ad{j} = ref Unsafe.Add(ref ad{j}, BlockElementsOf / 32);");
                if (plan.Bias is not null || laneBias)
                {
                    w.WriteLine($"as{j} = ref Unsafe.Add(ref as{j}, BlockElementsOf / 16);");
                }
                if (intOffset)
                {
                    w.WriteLine($"aqs{j} = ref Unsafe.Add(ref aqs{j}, BlockElementsOf / 4);");
                }
            }
            for (int i = 0; i < rows; i++)
            {
                w.WriteLine($"blk{i} = ref Unsafe.Add(ref blk{i}, BlockBytesOf);");
            }
            if (rows == 4)
            {
                w.WriteLine("ahead = ref Unsafe.Add(ref ahead, 4 * BlockBytesOf);");
            }
        }
        void Body()
        {
            if (rows == 4)
            {
                // The four rows are four short streams; sweep the next tile's bytes into the cache one block step at a
                // time, so DRAM latency overlaps this tile's arithmetic.
                w.WriteLine("KernelGenHelpers.Prefetch(ref ahead);");
                w.WriteLine("KernelGenHelpers.Prefetch(ref Unsafe.Add(ref ahead, 64));");
            }
            bool needsSpan = plan.GroupArrays(spec).Any(a => a.Runs.Any(r => r.Pieces.Any(p => p.Kind != PieceKind.Bits)));
            for (int i = 0; i < rows; i++)
            {
                if (needsSpan)
                {
                    w.WriteLine($"ReadOnlySpan<byte> block{i} = MemoryMarshal.CreateReadOnlySpan(ref blk{i}, BlockBytesOf);");
                }
                if (!rowLanes)
                {
                    EmitFieldLocals(w, spec, plan, i);
                }
            }
            if (rowLanes)
            {
                EmitFieldVectors(w, spec, plan);
                EmitGroupTranspose(w, spec, plan);
            }
            if (biasPerBlock)
            {
                for (int j = 0; j < acts; j++)
                {
                    w.WriteLine($"float xsum{j} = 0f;");
                }
            }
            string S(int i, int elem) => RowFields(FormatEmitter.Scalar(plan.Scale, spec, a => $"a_{a.Name}_{elem / a.GroupSize}_r{i}"), spec, i);
            string M(int i, int elem) => RowFields(FormatEmitter.Scalar(plan.Bias!, spec, a => $"a_{a.Name}_{elem / a.GroupSize}_r{i}"), spec, i);
            for (int c = 0; c < chunks; c++)
            {
                int e0 = c * 32;
                w.WriteLine($"// elements {e0}..{e0 + 31}");
                w.OpenBlock();
                for (int j = 0; j < acts; j++)
                {
                    w.WriteLine($"float d{j} = Unsafe.Add(ref ad{j}, {c});");
                    if (width == 256)
                    {
                        w.WriteLine($"Vector256<sbyte> a{j} = Vector256.LoadUnsafe(ref aq{j}, {e0});");
                        if (intOffset)
                        {
                            w.WriteLine($"Vector256<int> o{j} = {Times("Vector256", $"Vector256.LoadUnsafe(ref aqs{j}, {8 * c})", plan.ConstantOffset)};");
                        }
                    }
                    else
                    {
                        w.WriteLine($"Vector128<sbyte> al{j} = Vector128.LoadUnsafe(ref aq{j}, {e0});");
                        w.WriteLine($"Vector128<sbyte> ah{j} = Vector128.LoadUnsafe(ref aq{j}, {e0 + 16});");
                        if (intOffset)
                        {
                            w.WriteLine($"Vector128<int> ol{j} = {Times("Vector128", $"Vector128.LoadUnsafe(ref aqs{j}, {8 * c})", plan.ConstantOffset)};");
                            w.WriteLine($"Vector128<int> oh{j} = {Times("Vector128", $"Vector128.LoadUnsafe(ref aqs{j}, {8 * c + 4})", plan.ConstantOffset)};");
                        }
                    }
                    if (plan.Bias is not null)
                    {
                        string xsLo = $"Unsafe.Add(ref as{j}, {2 * c})";
                        string xsHi = $"Unsafe.Add(ref as{j}, {2 * c + 1})";
                        if (biasPerBlock)
                        {
                            w.WriteLine($"xsum{j} += {xsLo} + {xsHi};");
                        }
                        else if (biasPeriod >= 32)
                        {
                            w.WriteLine($"float xc{j} = {xsLo} + {xsHi};");
                        }
                        else
                        {
                            w.WriteLine($"float xl{j} = {xsLo};");
                            w.WriteLine($"float xh{j} = {xsHi};");
                        }
                    }
                }
                var loChunk = plan.Chunks.Chunks[2 * c];
                var hiChunk = plan.Chunks.Chunks[2 * c + 1];
                if (rowLanes)
                {
                    EmitGroupVectors(w, spec, plan, new[] { e0, e0 + 16 });
                    if (scalePeriod == 16)
                    {
                        w.WriteLine($"Vector128<float> sLo = {RowVector(plan.Scale, spec, e0)};");
                        w.WriteLine($"Vector128<float> sHi = {RowVector(plan.Scale, spec, e0 + 16)};");
                    }
                    else
                    {
                        w.WriteLine($"Vector128<float> sv = {RowVector(plan.Scale, spec, e0)};");
                    }
                    for (int j = 0; j < acts; j++)
                    {
                        if (scalePeriod == 16)
                        {
                            w.WriteLine($"Vector128<float> sdLo{j} = sLo * Vector128.Create(d{j});");
                            w.WriteLine($"Vector128<float> sdHi{j} = sHi * Vector128.Create(d{j});");
                        }
                        else
                        {
                            w.WriteLine($"Vector128<float> sd{j} = sv * Vector128.Create(d{j});");
                        }
                        if (plan.ConstantOffset != 0)
                        {
                            // S·f32(q − c): the −c·S·Σx part joins the per-row bias lanes (one FMA for four rows)
                            // instead of an integer correction per row.
                            string off = plan.ConstantOffset.ToString(CultureInfo.InvariantCulture);
                            w.WriteLine(scalePeriod == 16
                                ? $"mv{j} = Vector128.FusedMultiplyAdd(sLo, Vector128.Create(-{off}f * Unsafe.Add(ref as{j}, {2 * c})), Vector128.FusedMultiplyAdd(sHi, Vector128.Create(-{off}f * Unsafe.Add(ref as{j}, {2 * c + 1})), mv{j}));"
                                : $"mv{j} = Vector128.FusedMultiplyAdd(sv, Vector128.Create(-{off}f * (Unsafe.Add(ref as{j}, {2 * c}) + Unsafe.Add(ref as{j}, {2 * c + 1}))), mv{j});");
                        }
                        if (plan.Bias is not null && !biasPerBlock)
                        {
                            w.WriteLine(biasPeriod >= 32
                                ? $"mv{j} = Vector128.FusedMultiplyAdd({RowVector(plan.Bias, spec, e0)}, Vector128.Create(xc{j}), mv{j});"
                                : $"mv{j} = Vector128.FusedMultiplyAdd({RowVector(plan.Bias, spec, e0)}, Vector128.Create(xl{j}), Vector128.FusedMultiplyAdd({RowVector(plan.Bias, spec, e0 + 16)}, Vector128.Create(xh{j}), mv{j}));");
                        }
                    }
                }
                for (int i = 0; i < rows; i++)
                {
                    string blk = $"blk{i}";
                    string lo = "", hi = "", wq = $"wq{i}";
                    if (width == 256)
                    {
                        if (!TryEmitWide(w, plan, loChunk, hiChunk, $"{c}_{i}", blk, wq))
                        {
                            lo = EmitHalf(w, spec, plan, loChunk, $"{c}l{i}", blk);
                            hi = EmitHalf(w, spec, plan, hiChunk, $"{c}h{i}", blk);
                            w.WriteLine($"Vector256<byte> {wq} = Vector256.Create({lo}, {hi});");
                        }
                    }
                    else
                    {
                        lo = EmitHalf(w, spec, plan, loChunk, $"{c}l{i}", blk);
                        hi = EmitHalf(w, spec, plan, hiChunk, $"{c}h{i}", blk);
                    }
                    if (!rowLanes)
                    {
                        // Group values (sub-scales, mins) are unpacked where they are used: short live ranges keep
                        // the tile in registers.
                        EmitGroupValues(w, spec, plan, i, new[] { e0, e0 + 16 });
                        if (scalePeriod == 16)
                        {
                            w.WriteLine($"float sLo{i} = {S(i, e0)};");
                            w.WriteLine($"float sHi{i} = {S(i, e0 + 16)};");
                        }
                        else
                        {
                            w.WriteLine($"float s{i} = {S(i, e0)};");
                        }
                    }
                    for (int j = 0; j < acts; j++)
                    {
                        string acc = $"acc{i}{j}";
                        if (width == 256)
                        {
                            string p = $"p{i}{j}";
                            w.WriteLine($"Vector256<int> {p} = KernelGenHelpers.{dot}({wq}{asW}, a{j});");
                            if (intOffset)
                            {
                                w.WriteLine($"{p} -= o{j};");
                            }
                            if (foldRows)
                            {
                                continue;
                            }
                            string sv = rowLanes
                                ? (scalePeriod == 16 ? $"KernelGenHelpers.Lane8(sdLo{j}, sdHi{j}, {i})" : $"KernelGenHelpers.Lane8(sd{j}, {i})")
                                : scalePeriod == 16
                                ? $"Vector256.Create(Vector128.Create(sLo{i} * d{j}), Vector128.Create(sHi{i} * d{j}))"
                                : $"Vector256.Create(s{i} * d{j})";
                            w.WriteLine($"{acc} = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle({p}), {sv}, {acc});");
                        }
                        else
                        {
                            w.WriteLine($"Vector128<int> pl{i}{j} = KernelGenHelpers.{dot}({lo}{asW}, al{j});");
                            w.WriteLine($"Vector128<int> ph{i}{j} = KernelGenHelpers.{dot}({hi}{asW}, ah{j});");
                            if (intOffset)
                            {
                                w.WriteLine($"pl{i}{j} -= ol{j};");
                                w.WriteLine($"ph{i}{j} -= oh{j};");
                            }
                            string sl = rowLanes ? $"Vector128.Create({(scalePeriod == 16 ? $"sdLo{j}" : $"sd{j}")}.GetElement({i}))"
                                : $"Vector128.Create({(scalePeriod == 16 ? $"sLo{i}" : $"s{i}")} * d{j})";
                            string sh = rowLanes ? $"Vector128.Create({(scalePeriod == 16 ? $"sdHi{j}" : $"sd{j}")}.GetElement({i}))"
                                : $"Vector128.Create({(scalePeriod == 16 ? $"sHi{i}" : $"s{i}")} * d{j})";
                            w.WriteLine($"{acc} = Vector128.FusedMultiplyAdd(Vector128.ConvertToSingle(pl{i}{j}), {sl}, {acc});");
                            w.WriteLine($"{acc} = Vector128.FusedMultiplyAdd(Vector128.ConvertToSingle(ph{i}{j}), {sh}, {acc});");
                        }
                        if (plan.Bias is not null && !biasPerBlock && !rowLanes)
                        {
                            w.WriteLine(biasPeriod >= 32
                                ? $"m{i}{j} += {M(i, e0)} * xc{j};"
                                : $"m{i}{j} += {M(i, e0)} * xl{j} + {M(i, e0 + 16)} * xh{j};");
                        }
                    }
                }
                if (foldRows)
                {
                    for (int j = 0; j < acts; j++)
                    {
                        string scale8 = scalePeriod == 16 ? $"Vector256.Create(sdLo{j}, sdHi{j})" : $"Vector256.Create(sd{j}, sd{j})";
                        w.WriteLine($"Vector256<int> h{j} = System.Runtime.Intrinsics.X86.Avx2.HorizontalAdd(System.Runtime.Intrinsics.X86.Avx2.HorizontalAdd(p0{j}, p1{j}), System.Runtime.Intrinsics.X86.Avx2.HorizontalAdd(p2{j}, p3{j}));");
                        w.WriteLine($"acc{j} = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(h{j}), {scale8}, acc{j});");
                    }
                }
                w.CloseBlock();
            }
            if (biasPerBlock && rowLanes)
            {
                w.OpenBlock();
                EmitGroupVectors(w, spec, plan, new[] { 0 });
                w.WriteLine($"Vector128<float> mbv = {RowVector(plan.Bias!, spec, 0)};");
                for (int j = 0; j < acts; j++)
                {
                    w.WriteLine($"mv{j} = Vector128.FusedMultiplyAdd(mbv, Vector128.Create(xsum{j}), mv{j});");
                }
                w.CloseBlock();
            }
            else if (biasPerBlock)
            {
                for (int i = 0; i < rows; i++)
                {
                    w.OpenBlock();
                    EmitGroupValues(w, spec, plan, i, new[] { 0 });
                    w.WriteLine($"float mb{i} = {M(i, 0)};");
                    for (int j = 0; j < acts; j++)
                    {
                        w.WriteLine($"m{i}{j} += mb{i} * xsum{j};");
                    }
                    w.CloseBlock();
                }
            }
        }

        if (fixedK is int fk && fk / spec.BlockElements % 2 == 0)
        {
            // Shape-specialised: the block count is a constant; unroll the block loop by two.
            w.OpenBlock("for (int bb = 0; bb < blocks; bb += 2)");
            w.OpenBlock();
            Body();
            w.CloseBlock();
            Advance();
            w.OpenBlock();
            Body();
            w.CloseBlock();
            Advance();
            w.CloseBlock();
        }
        else
        {
            w.OpenBlock("for (int b = 0; b < blocks; b++)");
            w.OpenBlock();
            Body();
            w.CloseBlock();
            Advance();
            w.CloseBlock();
        }
        for (int i = 0; i < rows; i++)
        {
            for (int j = 0; j < acts; j++)
            {
                string bias = laneBias ? $" + mv{j}.GetElement({i})" : plan.Bias is null ? "" : $" + m{i}{j}";
                w.WriteLine(foldRows
                    ? $"y{i}{j} = acc{j}.GetElement({i}) + acc{j}.GetElement({i + 4}){bias};"
                    : $"y{i}{j} = {vec}.Sum(acc{i}{j}){bias};");
            }
        }
        w.CloseBlock();
    }

    /// <summary>
    /// S or M over the four rows of a tile as one Vector128 expression (lane i = row i), or null when the formula uses
    /// an operation the row-lane form does not cover (then the tile uses scalar code per row).
    /// </summary>
    private static string? RowVector(ExprSpec e, FormatSpec spec, int elem)
    {
        switch (e)
        {
            case FloatLiteral f:
                return $"Vector128.Create({FormatEmitter.FloatText(f.Value)})";
            case IntLiteral i:
                return $"Vector128.Create({(i.Value < 0 ? $"({i.Value})" : i.Value.ToString(CultureInfo.InvariantCulture))})";
            case NameRef { Kind: NameKind.Field } n:
                return $"vf_{n.Name}";
            case NameRef { Kind: NameKind.Packed } n:
                var a = spec.FindArray(n.Name)!;
                return a.IsPerElement ? null : $"va_{a.Name}_{elem / a.GroupSize}";
            case ToFloat c:
                return RowVector(c.Operand, spec, elem) is { } v ? $"Vector128.ConvertToSingle({v})" : null;
            case Negate neg:
                return RowVector(neg.Operand, spec, elem) is { } o ? $"(-{o})" : null;
            case Binary { Op: "+" or "-" or "*" } b:
                var l = RowVector(b.Left, spec, elem);
                var r = RowVector(b.Right, spec, elem);
                return l is null || r is null ? null : $"({l} {b.Op} {r})";
            default:
                return null;
        }
    }

    /// <summary>The block fields S and M read, gathered from the four rows into lanes (vf_name).</summary>
    private static void EmitFieldVectors(SourceWriter w, FormatSpec spec, IntegerDotPlan plan)
    {
        var used = new HashSet<string>();
        CollectFields(plan.Scale, used);
        if (plan.Bias is not null)
        {
            CollectFields(plan.Bias, used);
        }
        foreach (var f in spec.Fields.Where(f => used.Contains(f.Name)))
        {
            string Read(int i, string type) => $"Unsafe.ReadUnaligned<{type}>(ref Unsafe.Add(ref blk{i}, {f.Offset}))";
            string Lanes(System.Func<int, string> lane) => string.Join(", ", Enumerable.Range(0, 4).Select(lane));
            string value = f.Type switch
            {
                ScalarKind.F16 => $"KernelGenHelpers.HalfToSingle4(Vector128.Create({Lanes(i => $"(uint){Read(i, "ushort")}")}))",
                ScalarKind.BF16 => $"Vector128.ShiftLeft(Vector128.Create({Lanes(i => $"(uint){Read(i, "ushort")}")}), 16).AsSingle()",
                ScalarKind.F32 => $"Vector128.Create({Lanes(i => Read(i, "float"))})",
                ScalarKind.U8 => $"Vector128.Create({Lanes(i => $"(int)Unsafe.Add(ref blk{i}, {f.Offset})")})",
                ScalarKind.I8 => $"Vector128.Create({Lanes(i => $"(int)(sbyte)Unsafe.Add(ref blk{i}, {f.Offset})")})",
                ScalarKind.U16 => $"Vector128.Create({Lanes(i => $"(int){Read(i, "ushort")}")})",
                ScalarKind.I16 => $"Vector128.Create({Lanes(i => $"(int){Read(i, "short")}")})",
                _ => $"Vector128.Create({Lanes(i => $"unchecked((int){Read(i, "uint")})")})",
            };
            w.WriteLine($"Vector128<{(f.Type.IsFloat() ? "float" : "int")}> vf_{f.Name} = {value};");
        }
    }

    /// <summary>The group values of the given elements' groups, gathered from the four rows into lanes (va_name_g).</summary>
    private static void EmitGroupVectors(SourceWriter w, FormatSpec spec, IntegerDotPlan plan, int[] elements)
    {
        int window = GroupWindow(spec, plan);
        foreach (var a in plan.GroupArrays(spec))
        {
            foreach (int g in elements.Select(e => e / a.GroupSize).Distinct())
            {
                if (window >= 0)
                {
                    // From the per-block transpose: byte o of the four rows is dword lane o % 4 of gt{o / 4}.
                    var terms = new List<string>();
                    foreach (var pl in a.PlacementOf(g))
                    {
                        int o = pl.Byte - window;
                        string bytes = $"KernelGenHelpers.ByteLanes(gt{o / 4}, {o % 4})";
                        int mask = (1 << pl.Width) - 1;
                        string moved = pl.Shift == 0 ? bytes : $"Vector128.ShiftRightLogical({bytes}, {pl.Shift})";
                        string masked = pl.Shift + pl.Width == 8 && pl.Shift > 0 ? moved : $"({moved} & Vector128.Create({mask}))";
                        terms.Add(pl.DestShift == 0 ? masked : $"Vector128.ShiftLeft({masked}, {pl.DestShift})");
                    }
                    string value = string.Join(" | ", terms);
                    if (a.IsSigned && a.Bits < 32)
                    {
                        value = $"Vector128.ShiftRightArithmetic(Vector128.ShiftLeft({value}, {32 - a.Bits}), {32 - a.Bits})";
                    }
                    w.WriteLine($"Vector128<int> va_{a.Name}_{g} = {value};");
                    continue;
                }
                var (run, at) = a.Locate(g);
                var lanes = new List<string>();
                for (int i = 0; i < 4; i++)
                {
                    string value = RowRefs(string.Join(" | ", run.Pieces.Select(p => FormatEmitter.PieceReadConst(p, at))), i);
                    lanes.Add(a.IsSigned && a.Bits < 32 ? $"KernelGenHelpers.SignExtend({value}, {a.Bits})" : value);
                }
                w.WriteLine($"Vector128<int> va_{a.Name}_{g} = Vector128.Create({string.Join(", ", lanes)});");
            }
        }
    }

    /// <summary>
    /// The first byte of a 16-byte window holding every bit of every group value S and M read, or -1 when they do not
    /// fit one (or straddle bytes, or use base-3 digits): then group values are gathered with scalar reads.
    /// </summary>
    private static int GroupWindow(FormatSpec spec, IntegerDotPlan plan)
    {
        int lo = int.MaxValue, hi = int.MinValue;
        foreach (var a in plan.GroupArrays(spec))
        {
            for (int g = 0; g < a.Count; g++)
            {
                foreach (var pl in a.PlacementOf(g))
                {
                    if (pl.Kind == PieceKind.Trit || pl.Shift + pl.Width > 8)
                    {
                        return -1;
                    }
                    lo = System.Math.Min(lo, pl.Byte);
                    hi = System.Math.Max(hi, pl.Byte);
                }
            }
        }
        if (lo == int.MaxValue || hi - lo >= 16)
        {
            return -1;
        }
        return System.Math.Max(0, System.Math.Min(lo, spec.BlockBytes - 16));
    }

    /// <summary>
    /// Loads the group-value window of the four rows and transposes it once per block (six byte/word unpacks), so each
    /// group value of all four rows is then one byte shuffle plus its shifts and masks.
    /// </summary>
    private static void EmitGroupTranspose(SourceWriter w, FormatSpec spec, IntegerDotPlan plan)
    {
        int window = GroupWindow(spec, plan);
        if (window < 0)
        {
            return;
        }
        w.WriteLine($"KernelGenHelpers.Transpose4x16(KernelGenHelpers.Load16(ref blk0, {window}), KernelGenHelpers.Load16(ref blk1, {window}), KernelGenHelpers.Load16(ref blk2, {window}), KernelGenHelpers.Load16(ref blk3, {window}), out Vector128<byte> gt0, out Vector128<byte> gt1, out Vector128<byte> gt2, out Vector128<byte> gt3);");
    }

    /// <summary>Declares row <paramref name="i"/>'s group values (a_name_g_ri) for the groups of the given elements.</summary>
    private static void EmitGroupValues(SourceWriter w, FormatSpec spec, IntegerDotPlan plan, int i, int[] elements)
    {
        foreach (var a in plan.GroupArrays(spec))
        {
            foreach (int g in elements.Select(e => e / a.GroupSize).Distinct())
            {
                var (run, at) = a.Locate(g);
                string value = RowRefs(string.Join(" | ", run.Pieces.Select(p => FormatEmitter.PieceReadConst(p, at))), i);
                if (a.IsSigned && a.Bits < 32)
                {
                    value = $"KernelGenHelpers.SignExtend({value}, {a.Bits})";
                }
                w.WriteLine($"int a_{a.Name}_{g}_r{i} = {value};");
            }
        }
    }

    /// <summary>Renames the block-relative reads of a piece expression (blk, block) to row <paramref name="i"/>'s.</summary>
    private static string RowRefs(string code, int i) =>
        System.Text.RegularExpressions.Regex.Replace(code, @"\b(blk|block)\b", m => m.Value + i.ToString(CultureInfo.InvariantCulture));

    /// <summary>Renames field locals (f_name) in a rendered expression to row <paramref name="i"/>'s (f_name_i).</summary>
    private static string RowFields(string code, FormatSpec spec, int i)
    {
        foreach (var f in spec.Fields)
        {
            code = System.Text.RegularExpressions.Regex.Replace(code, $@"\bf_{f.Name}\b", $"f_{f.Name}_{i}");
        }
        return code;
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
    private static void EmitFieldLocals(SourceWriter w, FormatSpec spec, IntegerDotPlan plan, int row)
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
            string blk = $"blk{row}";
            string at = $"ref Unsafe.Add(ref {blk}, {f.Offset})";
            string value = f.Type switch
            {
                ScalarKind.F16 => $"KernelGenHelpers.HalfToSingleFast(Unsafe.ReadUnaligned<ushort>({at}))",
                ScalarKind.BF16 => $"KernelGenHelpers.BFloat16ToSingle(Unsafe.ReadUnaligned<ushort>({at}))",
                ScalarKind.F32 => $"Unsafe.ReadUnaligned<float>({at})",
                ScalarKind.U8 => $"Unsafe.Add(ref {blk}, {f.Offset})",
                ScalarKind.I8 => $"(sbyte)Unsafe.Add(ref {blk}, {f.Offset})",
                ScalarKind.U16 => $"Unsafe.ReadUnaligned<ushort>({at})",
                ScalarKind.I16 => $"Unsafe.ReadUnaligned<short>({at})",
                ScalarKind.U32 => $"unchecked((int)Unsafe.ReadUnaligned<uint>({at}))",
                _ => $"Unsafe.ReadUnaligned<int>({at})",
            };
            w.WriteLine($"{(f.Type.IsFloat() ? "float" : "int")} f_{f.Name}_{row} = {value};");
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
    private static bool TryEmitWide(SourceWriter w, IntegerDotPlan plan, FormatEmitter.ChunkPlan lo, FormatEmitter.ChunkPlan hi, string c, string blk, string wq)
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
                w.WriteLine($"Vector256<byte> {v} = {Move("Vector256", $"Vector256.LoadUnsafe(ref {blk}, {a.Offset})", sa - a.DestShift)};");
            }
            else
            {
                string ra = $"r{c}_{j}a";
                int ma = sa - a.DestShift, mb = sb - b.DestShift;
                if (b.Offset == a.Offset && ((ma >= 0 && mb >= 0) || (ma <= 0 && mb <= 0)))
                {
                    // Both halves from the same 16 bytes (nibble pairs): duplicate once, shift each half by its own
                    // count with one variable shift (the V256 path runs on AVX2 only).
                    string op = ma >= 0 ? "ShiftRightLogicalVariable" : "ShiftLeftLogicalVariable";
                    int na = System.Math.Abs(ma), nb = System.Math.Abs(mb);
                    w.WriteLine($"Vector256<byte> {v} = System.Runtime.Intrinsics.X86.Avx2.{op}(KernelGenHelpers.LoadDup16(ref Unsafe.Add(ref {blk}, {a.Offset})).AsUInt32(), Vector256.Create({na}u, {na}u, {na}u, {na}u, {nb}u, {nb}u, {nb}u, {nb}u)).AsByte();");
                    int maskSame = (((1 << a.Width) - 1) << a.DestShift) & 0xFF;
                    parts.Add(a.Width == 8 && a.DestShift == 0 ? v : $"({v} & Vector256.Create((byte)0x{maskSame:X2}))");
                    continue;
                }
                w.WriteLine($"Vector128<byte> {ra} = KernelGenHelpers.Load16(ref {blk}, {a.Offset});");
                string rb = ra;
                if (b.Offset != a.Offset)
                {
                    rb = $"r{c}_{j}b";
                    w.WriteLine($"Vector128<byte> {rb} = KernelGenHelpers.Load16(ref {blk}, {b.Offset});");
                }
                w.WriteLine($"Vector256<byte> {v} = Vector256.Create({Move("Vector128", ra, sa - a.DestShift)}, {Move("Vector128", rb, sb - b.DestShift)});");
            }
            int mask = (((1 << a.Width) - 1) << a.DestShift) & 0xFF;
            parts.Add(a.Width == 8 && a.DestShift == 0 ? v : $"({v} & Vector256.Create((byte)0x{mask:X2}))");
        }
        w.WriteLine($"Vector256<byte> {wq} = {string.Join(" | ", parts)};");
        if (plan.Codebook is { } cb)
        {
            var table = new int[16];
            for (int i = 0; i < cb.Values.Count; i++)
            {
                table[i] = (int)(cb.Values[i] & 0xFF);
            }
            w.WriteLine($"{wq} = KernelGenHelpers.Lookup32({FormatEmitter.ByteVector(table)}, {wq});");
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
    private static string EmitHalf(SourceWriter w, FormatSpec spec, IntegerDotPlan plan, FormatEmitter.ChunkPlan chunk, string tag, string blk)
    {
        var (array, slots) = chunk.Arrays.Single(a => a.Array.Name == plan.Quant.Name);
        var parts = new List<string>();
        for (int j = 0; j < slots.Count; j++)
        {
            var slot = slots[j];
            string g = $"g{tag}{j}";
            string off = slot.Offset.ToString(CultureInfo.InvariantCulture);
            w.WriteLine(slot.Contiguous
                ? $"Vector128<byte> {g} = KernelGenHelpers.Load16(ref {blk}, {off});"
                : $"Vector128<byte> {g} = Vector128.Shuffle(KernelGenHelpers.Load{slot.WindowSize}(ref {blk}, {off}), {FormatEmitter.ByteVector(slot.Indices)});");
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
