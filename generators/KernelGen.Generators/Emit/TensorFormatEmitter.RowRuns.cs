using System.Collections.Generic;
using System.Linq;
using KernelGen.Generators.Model;

namespace KernelGen.Generators.Emit;

/// <summary>
/// Row runs: the fast shape of the tiled decoder (<c>DecodeTiles8</c>) for the two layouts that dominate real
/// checkpoints. The plain tile path produces 8 rows x 8 inputs per step in lanes along n and transposes the results,
/// so every store lands in a different row; here the storage elements of a run of chunks (up to 8 tiles) are first
/// gathered into an L1 scratch in lanes along k, then each output row is decoded and stored contiguously, run by run,
/// with streaming stores when the caller's destination is large and aligned. Two element plans qualify, checked at
/// run time from the same per-tile plan the tile path computes:
/// <list type="bullet">
/// <item>kind 1, "one element per row": the 8 inputs of a chunk of a row share one element and the 8 rows of a tile sit
/// in consecutive elements (GPTQ 2/4-bit: <c>qweight[k / 8, n]</c>); a row's codes are that element broadcast and
/// shifted per lane;</item>
/// <item>kind 2, "one element per input": the 8 rows of a tile share one element per input and the tiles' elements
/// are consecutive (AWQ GEMM: <c>qweight[k, n / 8]</c>); the elements of 8 tiles x 8 inputs are one 8x8 transpose
/// away from lanes along k.</item>
/// </list>
/// Every chunk must sit in one group (no act-order map). The per-element formula is the tile path's, with the
/// per-group values broadcast per row, so results stay equal to the scalar decoder bit for bit.
/// </summary>
internal static partial class TensorFormatEmitter
{
    private sealed partial class Emitter
    {
        /// <summary>Emits the run-time choice of the row-run kind (0 = plain tiles) from the tile plans.</summary>
        private void EmitRowRunPlan(List<TensorArraySpec> arrays, bool grouped)
        {
            var w = _w;
            const int T = Tile;
            w.WriteLine("// Row runs (see RowRuns8): kind 1 = one element per row and chunk, kind 2 = one element per input and tile.");
            w.WriteLine("bool kind1 = true, kind2 = true;");
            foreach (var a in arrays)
            {
                string n = a.Name;
                int size = _spec.FindTensor(a.Placement.Tensor)!.Type.Size();
                w.WriteLine($"Span<uint> rs_{n} = stackalloc uint[{T * T}];");
                w.WriteLine($"Span<uint> rm_{n} = stackalloc uint[{T * T}];");
                w.WriteLine($"Span<uint> scratch_{n} = stackalloc uint[{TileBlockChunks * T * T}];");
                w.OpenBlock($"for (int x = 0; x < {T * T}; x++)");
                w.WriteLine($"int ti = x & {T - 1}, tj = x >> 3;");
                w.WriteLine($"rs_{n}[ti * {T} + tj] = ls_{n}[x];");
                w.WriteLine($"rm_{n}[ti * {T} + tj] = lm_{n}[x];");
                w.WriteLine($"kind1 &= pa_{n}[x] == pa_{n}[ti];");
                w.CloseBlock();
                w.WriteLine($"kind1 &= cont_{n};");
                w.WriteLine($"kind2 &= same_{n} && stepN_{n} == {size};");
            }
            w.WriteLine("int runKind = kind1 ? 1 : kind2 ? 2 : 0;");
            if (grouped)
            {
                w.OpenBlock("for (int c = 0; c < chunkCount && runKind != 0; c++)");
                w.OpenBlock("if (chunkGroup[c] < 0)");
                w.WriteLine("runKind = 0;");
                w.CloseBlock();
                w.CloseBlock();
            }
            w.WriteLine("stream &= kCount % 8 == 0;");
        }

        /// <summary>Inside a run of a row block: row runs first; <c>nRest</c> = the first row left to the plain tiles.</summary>
        private void EmitRowRunCall(List<TensorArraySpec> arrays, List<(string Code, bool IsFloat)> staged, bool grouped)
        {
            var w = _w;
            const int T = Tile;
            w.WriteLine("int nRest = sb;");
            w.OpenBlock("if (runKind != 0)");
            var args = new List<string> { "layout", BufferArgs, "kCount", "cb", "ce", "(sbEnd - sb) / 8", "runKind", "stream", "ref Unsafe.Add(ref dstRef, (nint)(sb - firstOutRow) * kCount)" };
            foreach (var a in arrays)
            {
                string n = a.Name;
                args.Add($"(nint)(base_{n} + (long)((sb - nStart) / {T}) * stepN_{n}), stepN_{n}, stepK_{n}, ref o_{n}, ref MemoryMarshal.GetReference(rs_{n}), ref MemoryMarshal.GetReference(rm_{n}), sr_{n}, ref MemoryMarshal.GetReference(scratch_{n})");
            }
            if (grouped)
            {
                args.Add("ref MemoryMarshal.GetArrayDataReference(chunkGroup)");
                args.AddRange(staged.Select((_, i) => $"ref tr_{i}"));
            }
            w.WriteLine($"nRest = sb + {T} * RowRuns{T}({string.Join(", ", args)});");
            w.CloseBlock();
        }

        /// <summary>The <c>RowRuns8</c> method: one run of chunks over the tiles of a row block; returns the tiles it did.</summary>
        private void EmitRowRuns(List<TensorArraySpec> arrays, List<(string Code, bool IsFloat)> staged, bool grouped)
        {
            var w = _w;
            const int T = Tile;
            var ps = new List<string> { $"in {_layout} layout", BufferParams(false), "int kCount", "int cFirst", "int cEnd", "int tiles", "int runKind", "bool stream", "ref float blockRef" };
            foreach (var a in arrays)
            {
                string n = a.Name;
                ps.Add($"nint block_{n}, long stepN_{n}, long stepK_{n}, ref nint o_{n}, ref uint rs_{n}, ref uint rm_{n}, int sr_{n}, ref uint sc_{n}");
            }
            if (grouped)
            {
                ps.Add("ref int cg");
                ps.AddRange(staged.Select((st, i) => $"ref {(st.IsFloat ? "float" : "int")} tr_{i}"));
            }
            w.WriteLine($"/// <summary>");
            w.WriteLine($"/// Row runs of <see cref=\"DecodeTiles{T}\"/>: inputs chunks [cFirst, cEnd) of up to 8 tiles at a time, storage elements gathered");
            w.WriteLine("/// into scratch in lanes along k (kind 1: a tile's 8 consecutive elements; kind 2: 8 tiles x 8 inputs, transposed), then");
            w.WriteLine("/// every row decoded and stored contiguously. Returns the number of tiles done (kind 2 does whole groups of 8 only).");
            w.WriteLine("/// </summary>");
            w.OpenBlock($"private static int RowRuns{T}({string.Join(", ", ps)})");
            EmitPrologue();
            EmitTensorLevel();
            foreach (var a in arrays)
            {
                var t = _spec.FindTensor(a.Placement.Tensor)!;
                w.WriteLine($"ref byte rb_{a.Name} = ref MemoryMarshal.GetReference({Buffer(t)});");
            }
            w.WriteLine("int done = 0;");
            w.OpenBlock("while (done < tiles)");
            w.WriteLine($"int st = Math.Min({T}, tiles - done);");
            w.OpenBlock($"if (runKind == 2 && st < {T})");
            w.WriteLine("break;");
            w.CloseBlock();
            // 1. Gather: scratch[(c - cFirst) * 64 + t * 8 + lane] = element of tile t (lane = row for kind 1, input for kind 2).
            w.OpenBlock("for (int c = cFirst; c < cEnd; c++)");
            w.WriteLine("nint cs = (nint)(c - cFirst) * 64;");
            foreach (var a in arrays)
            {
                var t = _spec.FindTensor(a.Placement.Tensor)!;
                string n = a.Name;
                int size = t.Type.Size();
                w.WriteLine($"nint at_{n} = block_{n} + (nint)(done * stepN_{n}) + (nint)(c * stepK_{n});");
                w.OpenBlock("if (runKind == 1)");
                w.OpenBlock("for (int t = 0; t < st; t++)");
                w.WriteLine($"{LoadContiguous(t, T, $"rb_{n}", $"(at_{n} + (nint)(t * stepN_{n}) + o_{n})")}.StoreUnsafe(ref sc_{n}, (nuint)(cs + t * 8));");
                w.CloseBlock();
                w.CloseBlock();
                w.OpenBlock("else if (System.Runtime.Intrinsics.X86.Avx2.IsSupported)");
                for (int j = 0; j < T; j++)
                {
                    w.WriteLine($"Vector256<uint> e{j} = {LoadContiguous(t, T, $"rb_{n}", $"(at_{n} + Unsafe.Add(ref o_{n}, {j}))")};");
                }
                w.WriteLine($"KernelGenHelpers.Transpose8x8(ref e0, ref e1, ref e2, ref e3, ref e4, ref e5, ref e6, ref e7);");
                for (int j = 0; j < T; j++)
                {
                    w.WriteLine($"e{j}.StoreUnsafe(ref sc_{n}, (nuint)(cs + {j * T}));");
                }
                w.CloseBlock();
                w.OpenBlock("else");
                w.OpenBlock($"for (int x = 0; x < {T * T}; x++)");
                w.WriteLine($"Unsafe.Add(ref sc_{n}, cs + x) = {LoadElement(t, $"rb_{n}", $"(at_{n} + Unsafe.Add(ref o_{n}, x & 7) + (x >> 3) * {size})")};");
                w.CloseBlock();
                w.CloseBlock();
            }
            w.CloseBlock();
            // 2. Rows: codes in lanes along k, the formula, one contiguous store per chunk; per-group values read once
            // per row when the whole run sits in one group (runs of 128 inputs and groups of 128: always).
            bool hoist = grouped && staged.Count > 0;
            if (hoist)
            {
                w.WriteLine("bool oneGroup = true;");
                w.OpenBlock("for (int c = cFirst + 1; c < cEnd; c++)");
                w.WriteLine("oneGroup &= Unsafe.Add(ref cg, c) == Unsafe.Add(ref cg, cFirst);");
                w.CloseBlock();
            }
            foreach (bool broadcast in new[] { true, false })
            {
                w.OpenBlock(broadcast ? "if (runKind == 1)" : "else");
                if (hoist)
                {
                    w.OpenBlock("if (oneGroup)");
                    EmitRowRunRows(arrays, staged, grouped, broadcast, hoistGroups: true);
                    w.CloseBlock();
                    w.OpenBlock("else");
                    EmitRowRunRows(arrays, staged, grouped, broadcast, hoistGroups: false);
                    w.CloseBlock();
                }
                else
                {
                    EmitRowRunRows(arrays, staged, grouped, broadcast, hoistGroups: false);
                }
                w.CloseBlock();
            }
            w.WriteLine("done += st;");
            w.CloseBlock();
            w.WriteLine("return done;");
            w.CloseBlock();
            w.WriteLine();
        }

        private void EmitRowRunRows(List<TensorArraySpec> arrays, List<(string Code, bool IsFloat)> staged, bool grouped, bool broadcast, bool hoistGroups)
        {
            var w = _w;
            const int T = Tile;
            string vec = VectorType(T);
            w.OpenBlock("for (int t = 0; t < st; t++)");
            w.OpenBlock($"for (int ti = 0; ti < {T}; ti++)");
            w.WriteLine($"ref float rowRef = ref Unsafe.Add(ref blockRef, (nint)((done + t) * {T} + ti) * kCount);");
            foreach (var a in arrays)
            {
                string n = a.Name;
                w.WriteLine($"{vec}<uint> sh_{n} = {vec}.LoadUnsafe(ref rs_{n}, (nuint)(ti * {T}));");
                w.WriteLine($"{vec}<uint> mu_{n} = {vec}.LoadUnsafe(ref rm_{n}, (nuint)(ti * {T}));");
            }
            if (grouped)
            {
                w.WriteLine($"nint tOff = (nint)((done + t) * groupCount * {T} + ti);");
            }
            if (hoistGroups)
            {
                EmitRowRunGroupValues(staged, "cFirst");
            }
            w.OpenBlock("for (int c = cFirst; c < cEnd; c++)");
            w.WriteLine($"nint cs = (nint)(c - cFirst) * 64 + t * {T};");
            foreach (var a in arrays)
            {
                string n = a.Name;
                w.WriteLine(broadcast
                    ? $"{vec}<uint> raw_{n} = {vec}.Create(Unsafe.Add(ref sc_{n}, cs + ti));"
                    : $"{vec}<uint> raw_{n} = {vec}.LoadUnsafe(ref sc_{n}, (nuint)cs);");
                string top = $"(System.Runtime.Intrinsics.X86.Avx2.IsSupported ? System.Runtime.Intrinsics.X86.Avx2.ShiftLeftLogicalVariable(raw_{n}, sh_{n}) : raw_{n} * mu_{n})";
                w.WriteLine(a.IsSigned
                    ? $"{vec}<int> vq_{n} = {vec}.ShiftRightArithmetic({top}.AsInt32(), sr_{n});"
                    : $"{vec}<int> vq_{n} = {vec}.ShiftRightLogical({top}, sr_{n}).AsInt32();");
            }
            if (grouped && staged.Count > 0 && !hoistGroups)
            {
                EmitRowRunGroupValues(staged, "c");
            }
            foreach (var l in _spec.Lets.Where(l => l.Value.Period == TensorFormatSpec.ElementPeriod))
            {
                w.WriteLine($"{vec}<{LetType(l)}> vl_{l.Name} = {Vec(l.Value, T, staged)};");
            }
            w.WriteLine($"KernelGenHelpers.Store8(vl_y, ref Unsafe.Add(ref rowRef, c * {T}), stream);");
            w.CloseBlock();
            w.CloseBlock();
            w.CloseBlock();
        }

        /// <summary>The per-group values of the row (<c>tOff</c>) at the group of chunk <paramref name="chunk"/>, broadcast.</summary>
        private void EmitRowRunGroupValues(List<(string Code, bool IsFloat)> staged, string chunk)
        {
            const int T = Tile;
            string vec = VectorType(T);
            _w.WriteLine($"nint gi = (nint)Unsafe.Add(ref cg, {chunk}) * {T} + tOff;");
            for (int i = 0; i < staged.Count; i++)
            {
                _w.WriteLine($"{vec}<{(staged[i].IsFloat ? "float" : "int")}> vg_{i} = {vec}.Create(Unsafe.Add(ref tr_{i}, gi));");
            }
        }
    }
}
