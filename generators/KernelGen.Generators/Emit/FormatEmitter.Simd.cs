using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using KernelGen.Generators.Model;

namespace KernelGen.Generators.Emit;

/// <summary>
/// SIMD decoders. A block is decoded in chunks of W elements (W = 4, 8, 16 float lanes for Vector128/256/512).
/// For each chunk the packed bytes of every quant are gathered into one Vector128&lt;byte&gt; (a contiguous load, or
/// a load plus a constant pshufb-style shuffle computed here at generation time), their bits are extracted with
/// byte-wide masks/shifts (per-lane bit masks for bit planes, a 16-bit multiply for base-3 digits), codebooks are
/// looked up with a byte shuffle, and the result is widened to int lanes. The formula then runs in float lanes with
/// per-block and per-group values computed by the same scalar code as the reference path and broadcast, so every
/// lane performs exactly the scalar path's operations in the same order: SIMD results equal scalar bit for bit.
/// Consecutive chunks whose plans differ only by constant byte offsets are folded into loops.
/// </summary>
internal static partial class FormatEmitter
{
    private static string VectorType(int lanes) => lanes switch { 4 => "Vector128", 8 => "Vector256", _ => "Vector512" };

    private static string EntryName(int lanes) => lanes switch { 4 => "DecodeRowV128", 8 => "DecodeRowV256", _ => "DecodeRowV512" };

    private static string Narrower(int lanes) => lanes switch { 4 => "DecodeRowScalar", 8 => "DecodeRowV128", _ => "DecodeRowV256" };

    /// <summary>How one piece-slot of one chunk is gathered and extracted.</summary>
    internal sealed class SlotPlan
    {
        public PieceKind Kind;
        public int Width;
        public int DestShift;
        public bool Contiguous;
        public int Offset;        // first byte (contiguous) or window start (shuffled)
        public int WindowSize;    // 4, 8 or 16 (shuffled)
        public int[] Indices = Array.Empty<int>();
        public int[] Shifts = Array.Empty<int>();
        public int[] Digits = Array.Empty<int>();

        public string Signature() =>
            $"{Kind}/{Width}/{DestShift}/{Contiguous}/{WindowSize}/{string.Join(",", Indices)}/{string.Join(",", Shifts)}/{string.Join(",", Digits)}";
    }

    internal sealed class ChunkPlan
    {
        public int Start;
        public List<(PackedArraySpec Array, List<SlotPlan> Slots)> Arrays = new();

        public string Signature() => string.Join(";", Arrays.Select(a => a.Array.Name + ":" + string.Join("|", a.Slots.Select(s => s.Signature()))));

        public int[] Offsets() => Arrays.SelectMany(a => a.Slots.Select(s => s.Offset)).ToArray();
    }

    internal sealed class SimdPlan
    {
        public List<PackedArraySpec> ElementArrays = new();
        public HashSet<string> DirectArrays = new();
        public List<(CodebookSpec Codebook, PackedArraySpec Array)> Lookups = new();
        public List<ChunkPlan> Chunks = new();
    }

    /// <summary>Plans the W-lane decoder, or returns why this width cannot be vectorized.</summary>
    internal static string? TryPlan(FormatSpec spec, int lanes, out SimdPlan plan)
    {
        plan = new SimdPlan();
        if (spec.BlockElements % lanes != 0)
        {
            return $"the {spec.BlockElements}-element block is not a multiple of {lanes} lanes";
        }
        foreach (var let in spec.Lets)
        {
            int p = let.Value.Period;
            if (p != 1 && p % lanes != 0)
            {
                return $"'{let.Name}' changes every {p} elements, which is not a multiple of {lanes} lanes";
            }
            string? reason = CheckVectorizable(let.Value, spec, lanes, plan);
            if (reason is not null)
            {
                return reason;
            }
        }
        foreach (var array in plan.ElementArrays)
        {
            if (array.Bits > 8)
            {
                return $"quant '{array.Name}' has {array.Bits} bits; the byte-lane extractor handles at most 8";
            }
        }
        for (int start = 0; start < spec.BlockElements; start += lanes)
        {
            var chunk = new ChunkPlan { Start = start };
            foreach (var array in plan.ElementArrays)
            {
                var slots = new List<SlotPlan>();
                var lanesPlacements = new BitPlacement[lanes][];
                for (int k = 0; k < lanes; k++)
                {
                    lanesPlacements[k] = array.PlacementOf(start + k);
                }
                int pieceCount = lanesPlacements[0].Length;
                if (lanesPlacements.Any(p => p.Length != pieceCount))
                {
                    return $"elements {start}..{start + lanes - 1} of '{array.Name}' mix runs with different numbers of pieces";
                }
                for (int j = 0; j < pieceCount; j++)
                {
                    var first = lanesPlacements[0][j];
                    if (lanesPlacements.Any(p => p[j].Kind != first.Kind || p[j].Width != first.Width || p[j].DestShift != first.DestShift))
                    {
                        return $"elements {start}..{start + lanes - 1} of '{array.Name}' mix pieces of different kinds or widths";
                    }
                    if (first.Kind != PieceKind.Trit && lanesPlacements.Any(p => p[j].Shift + p[j].Width > 8))
                    {
                        return $"a piece of '{array.Name}' straddles a byte boundary";
                    }
                    var slot = new SlotPlan { Kind = first.Kind == PieceKind.Stream ? PieceKind.Bits : first.Kind, Width = first.Width, DestShift = first.DestShift };
                    var bytes = lanesPlacements.Select(p => p[j].Byte).ToArray();
                    bool contiguous = true;
                    for (int k = 1; k < lanes; k++)
                    {
                        contiguous &= bytes[k] == bytes[0] + k;
                    }
                    if (contiguous)
                    {
                        slot.Contiguous = true;
                        slot.Offset = bytes[0];
                    }
                    else
                    {
                        int min = bytes.Min(), max = bytes.Max();
                        int span = max - min + 1;
                        int size = span <= 4 ? 4 : span <= 8 ? 8 : span <= 16 ? 16 : 0;
                        if (size == 0)
                        {
                            return $"elements {start}..{start + lanes - 1} of '{array.Name}' read bytes {min}..{max}, more than one 16-byte shuffle window";
                        }
                        if (size > spec.BlockBytes)
                        {
                            return $"the {spec.BlockBytes}-byte block is smaller than a {size}-byte shuffle window";
                        }
                        int windowStart = Math.Min(min, spec.BlockBytes - size);
                        slot.Offset = windowStart;
                        slot.WindowSize = size;
                        slot.Indices = bytes.Select(b => b - windowStart).ToArray();
                    }
                    if (slot.Kind == PieceKind.Trit)
                    {
                        slot.Digits = lanesPlacements.Select(p => p[j].Digit).ToArray();
                    }
                    else
                    {
                        slot.Shifts = lanesPlacements.Select(p => p[j].Shift).ToArray();
                    }
                    slots.Add(slot);
                }
                chunk.Arrays.Add((array, slots));
            }
            plan.Chunks.Add(chunk);
        }
        return null;
    }

    /// <summary>Collects the per-element arrays and codebook lookups a formula node needs in vector form.</summary>
    private static string? CheckVectorizable(ExprSpec e, FormatSpec spec, int lanes, SimdPlan plan)
    {
        if (e.Period != 1)
        {
            return null; // evaluated by scalar code and broadcast
        }
        switch (e)
        {
            case NameRef { Kind: NameKind.Packed } n:
            {
                var array = spec.FindArray(n.Name)!;
                AddElementArray(plan, array);
                plan.DirectArrays.Add(array.Name);
                return null;
            }
            case NameRef:
                return null;
            case CodebookLookup l:
            {
                var cb = spec.FindCodebook(l.Codebook)!;
                if (l.Index is not NameRef { Kind: NameKind.Packed } idx || spec.FindArray(idx.Name)!.GroupSize != 1)
                {
                    return $"codebook '{l.Codebook}' is indexed by an expression; only 'codebook[quant]' is vectorized";
                }
                var array = spec.FindArray(idx.Name)!;
                if (cb.Values.Count > 16 || array.Bits > 4 || array.IsSigned || cb.Type is not (ScalarKind.I8 or ScalarKind.U8))
                {
                    return $"codebook '{l.Codebook}' needs a 16-entry byte table indexed by an unsigned quant of at most 4 bits";
                }
                AddElementArray(plan, array);
                if (!plan.Lookups.Any(x => x.Codebook.Name == cb.Name && x.Array.Name == array.Name))
                {
                    plan.Lookups.Add((cb, array));
                }
                return null;
            }
            case ToFloat c:
                return CheckVectorizable(c.Operand, spec, lanes, plan);
            case Negate n:
                return CheckVectorizable(n.Operand, spec, lanes, plan);
            case Binary b:
                if (b.Op is "<<" or ">>" && b.Right.Period == 1)
                {
                    return $"a shift by a per-element amount is not vectorized";
                }
                return CheckVectorizable(b.Left, spec, lanes, plan) ?? CheckVectorizable(b.Right, spec, lanes, plan);
            default:
                return null;
        }
    }

    private static void AddElementArray(SimdPlan plan, PackedArraySpec array)
    {
        if (!plan.ElementArrays.Contains(array))
        {
            plan.ElementArrays.Add(array);
        }
    }

    private static void EmitSimd(SourceWriter w, FormatSpec spec, int lanes)
    {
        string vec = VectorType(lanes);
        string name = EntryName(lanes);
        string? reason = TryPlan(spec, lanes, out var plan);
        w.WriteLine("/// <summary>");
        w.WriteLine($"/// Decodes a row with {vec} code ({lanes} float lanes). Callable on any hardware (software fallback when");
        w.WriteLine($"/// <c>{vec}.IsHardwareAccelerated</c> is false); results equal <see cref=\"DecodeRowScalar\"/> bit for bit.");
        w.WriteLine("/// </summary>");
        w.WriteLine("[MethodImpl(MethodImplOptions.AggressiveOptimization)] // one call decodes a whole row: the loop must not wait for tiering (OSR code ran at half speed)");
        w.OpenBlock($"public static void {name}(ReadOnlySpan<byte> src, Span<float> dst)");
        if (reason is not null)
        {
            w.WriteLine($"// Not vectorized at {lanes} lanes: {reason}.");
            w.WriteLine($"{Narrower(lanes)}(src, dst);");
            w.CloseBlock();
            w.WriteLine();
            return;
        }
        w.OpenBlock("if (!BitConverter.IsLittleEndian)");
        w.WriteLine("DecodeRowScalar(src, dst);");
        w.WriteLine("return;");
        w.CloseBlock();
        w.WriteLine("int blocks = CheckRow(src, dst);");
        w.WriteLine("ref byte s0 = ref MemoryMarshal.GetReference(src);");
        w.WriteLine("ref float y0 = ref MemoryMarshal.GetReference(dst);");
        var groupArrays = spec.Arrays.Where(a => !a.IsPerElement && spec.Lets.Any(l => References(l.Value, a.Name))).ToList();
        w.OpenBlock("for (int b = 0; b < blocks; b++)");
        w.WriteLine("ref byte blk = ref Unsafe.Add(ref s0, (nint)b * BlockBytes);");
        w.WriteLine("ref float yb = ref Unsafe.Add(ref y0, (nint)b * BlockElements);");
        w.WriteLine("ReadOnlySpan<byte> block = MemoryMarshal.CreateReadOnlySpan(ref blk, BlockBytes);");
        EmitFieldLocals(w, spec, "block", fastHalf: true);
        // Per-group values (sub-scales, mins) unpacked once per block into locals.
        foreach (var a in groupArrays)
        {
            for (int k = 0; k < a.Count; k++)
            {
                var (run, at) = a.Locate(k);
                string value = string.Join(" | ", run.Pieces.Select(p => PieceReadConst(p, at)));
                if (a.IsSigned && a.Bits < 32)
                {
                    value = $"KernelGenHelpers.SignExtend({value}, {a.Bits})";
                }
                w.WriteLine($"int a_{a.Name}_{k} = {value};");
            }
        }
        foreach (var let in spec.Lets)
        {
            if (let.Value.Period == spec.BlockElements && let.Name != "y")
            {
                w.WriteLine($"{(let.Value.IsFloat ? "float" : "int")} l_{let.Name} = {Scalar(let.Value, spec, "e0")};");
            }
        }

        // Fold consecutive chunks with equal plans and constant byte-offset steps into loops; a loop never crosses a
        // group boundary, so per-group values are computed once before it.
        int groupSpan = spec.BlockElements;
        foreach (var let in spec.Lets)
        {
            groupSpan = Gcd(groupSpan, SmallestGroupPeriod(let.Value, spec.BlockElements));
        }
        int i = 0;
        while (i < plan.Chunks.Count)
        {
            string sig = plan.Chunks[i].Signature();
            int[] offsets = plan.Chunks[i].Offsets();
            int count = 1;
            int[]? deltas = null;
            while (i + count < plan.Chunks.Count && plan.Chunks[i + count].Signature() == sig
                && plan.Chunks[i + count].Start / groupSpan == plan.Chunks[i].Start / groupSpan)
            {
                int[] next = plan.Chunks[i + count].Offsets();
                int[] prev = plan.Chunks[i + count - 1].Offsets();
                int[] d = next.Select((o, k) => o - prev[k]).ToArray();
                if (deltas is null)
                {
                    deltas = d;
                }
                else if (!deltas.SequenceEqual(d))
                {
                    break;
                }
                count++;
            }
            EmitChunks(w, spec, plan, plan.Chunks[i], count, deltas ?? new int[offsets.Length], lanes);
            i += count;
        }
        w.CloseBlock();
        w.CloseBlock();
        w.WriteLine();
    }

    /// <summary>The gcd of the periods (other than 1) of every node: the span within which all group values are constant.</summary>
    private static int SmallestGroupPeriod(ExprSpec e, int blockElements)
    {
        int own = e.Period > 1 ? e.Period : blockElements;
        return e switch
        {
            CodebookLookup l => Gcd(own, SmallestGroupPeriod(l.Index, blockElements)),
            ToFloat c => Gcd(own, SmallestGroupPeriod(c.Operand, blockElements)),
            Negate n => Gcd(own, SmallestGroupPeriod(n.Operand, blockElements)),
            Binary b => Gcd(own, Gcd(SmallestGroupPeriod(b.Left, blockElements), SmallestGroupPeriod(b.Right, blockElements))),
            NameRef => own,
            _ => own,
        };
    }

    private static int Gcd(int a, int b)
    {
        while (b != 0)
        {
            (a, b) = (b, a % b);
        }
        return a;
    }

    private static bool References(ExprSpec e, string name) => e switch
    {
        NameRef n => n.Name == name,
        CodebookLookup l => References(l.Index, name),
        ToFloat c => References(c.Operand, name),
        Negate n => References(n.Operand, name),
        Binary b => References(b.Left, name) || References(b.Right, name),
        _ => false,
    };

    private static void EmitChunks(SourceWriter w, FormatSpec spec, SimdPlan plan, ChunkPlan first, int count, int[] deltas, int lanes)
    {
        string vec = VectorType(lanes);
        int end = first.Start + count * lanes - 1;
        w.WriteLine($"// elements {first.Start}..{end}");
        bool loop = count > 1;
        Func<PackedArraySpec, string> groupRef = a => $"a_{a.Name}_{first.Start / a.GroupSize}";
        w.OpenBlock();
        // Per-group formula values: every element of this run of chunks is in the same group.
        foreach (var let in spec.Lets)
        {
            int p = let.Value.Period;
            if (p != 1 && (p != spec.BlockElements || let.Name == "y"))
            {
                w.WriteLine($"{(let.Value.IsFloat ? "float" : "int")} l_{let.Name} = {Scalar(let.Value, spec, groupRef)};");
            }
        }
        if (loop)
        {
            w.OpenBlock($"for (int c = 0; c < {count}; c++)");
            w.WriteLine($"int e0 = {first.Start} + c * {lanes};");
        }
        else
        {
            w.WriteLine($"int e0 = {first.Start};");
        }
        int slotIndex = 0;
        foreach (var (array, slots) in first.Arrays)
        {
            var parts = new List<string>();
            for (int j = 0; j < slots.Count; j++)
            {
                var slot = slots[j];
                int delta = deltas[slotIndex++];
                string off = !loop || delta == 0 ? slot.Offset.ToString(CultureInfo.InvariantCulture) : $"{slot.Offset} + c * {delta}";
                string g = $"g_{array.Name}{j}";
                if (slot.Contiguous)
                {
                    w.WriteLine($"Vector128<byte> {g} = KernelGenHelpers.Load{lanes}(ref blk, {off});");
                }
                else
                {
                    w.WriteLine($"Vector128<byte> {g} = Vector128.Shuffle(KernelGenHelpers.Load{slot.WindowSize}(ref blk, {off}), {ByteVector(slot.Indices)});");
                }
                parts.Add(EmitExtract(w, slot, g, $"t_{array.Name}{j}", lanes));
            }
            w.WriteLine($"Vector128<byte> b_{array.Name} = {string.Join(" | ", parts)};");
            if (plan.DirectArrays.Contains(array.Name))
            {
                string widened = array.IsSigned && array.Bits == 8
                    ? $"KernelGenHelpers.WidenSigned{lanes}(b_{array.Name})"
                    : $"KernelGenHelpers.WidenUnsigned{lanes}(b_{array.Name})";
                if (array.IsSigned && array.Bits < 8)
                {
                    widened = $"{vec}.ShiftRightArithmetic({vec}.ShiftLeft({widened}, {32 - array.Bits}), {32 - array.Bits})";
                }
                w.WriteLine($"{vec}<int> vq_{array.Name} = {widened};");
            }
            foreach (var (cb, a) in plan.Lookups.Where(x => x.Array.Name == array.Name))
            {
                var table = new int[16];
                for (int k = 0; k < cb.Values.Count; k++)
                {
                    table[k] = (int)(cb.Values[k] & 0xFF);
                }
                string widen = cb.Type == ScalarKind.I8 ? "WidenSigned" : "WidenUnsigned";
                w.WriteLine($"{vec}<int> vk_{cb.Name}_{a.Name} = KernelGenHelpers.{widen}{lanes}(KernelGenHelpers.Lookup16({ByteVector(table)}, b_{a.Name}));");
            }
        }
        foreach (var let in spec.Lets)
        {
            int p = let.Value.Period;
            if (p == spec.BlockElements && let.Name != "y")
            {
                continue; // hoisted per block
            }
            if (p != 1)
            {
                continue; // computed before the loop
            }
            else
            {
                w.WriteLine($"{vec}<{(let.Value.IsFloat ? "float" : "int")}> vl_{let.Name} = {Vector(let.Value, spec, lanes, groupRef).Code};");
            }
        }
        var y = spec.Result;
        string store = y.Value.Period == 1 ? "vl_y" : $"{vec}.Create(l_y)";
        w.WriteLine($"{store}.StoreUnsafe(ref yb, (nuint)e0);");
        if (loop)
        {
            w.CloseBlock();
        }
        w.CloseBlock();
    }

    /// <summary>Emits the bit extraction of one slot and returns the variable holding its bits at their value position.</summary>
    internal static string EmitExtract(SourceWriter w, SlotPlan slot, string g, string t, int lanes)
    {
        if (slot.Kind == PieceKind.Trit)
        {
            var mul = new int[16];
            for (int k = 0; k < lanes; k++)
            {
                int m = 1;
                for (int n = 0; n < slot.Digits[k]; n++)
                {
                    m *= 3;
                }
                mul[k] = m;
            }
            string call = lanes == 16
                ? $"KernelGenHelpers.TritDigits({g}, {UShortVector(mul, 0)}, {UShortVector(mul, 8)})"
                : $"KernelGenHelpers.TritDigits8({g}, {UShortVector(mul, 0)})";
            w.WriteLine($"Vector128<byte> {t} = {call};");
            return slot.DestShift == 0 ? t : $"Vector128.ShiftLeft({t}, {slot.DestShift})";
        }
        int width = slot.Width;
        int mask = (1 << width) - 1;
        var shifts = slot.Shifts.Take(lanes).Distinct().ToList();
        if (width == 8)
        {
            w.WriteLine($"Vector128<byte> {t} = {g};");
            return t;
        }
        if (shifts.Count == 1)
        {
            w.WriteLine($"Vector128<byte> {t} = {MoveField(g, mask, shifts[0], slot.DestShift)};");
            return t;
        }
        if (width == 1)
        {
            // Bit plane: each lane tests its own bit, then the lanes that are set become 1 << DestShift.
            var bits = new int[16];
            for (int k = 0; k < lanes; k++)
            {
                bits[k] = 1 << slot.Shifts[k];
            }
            w.WriteLine($"Vector128<byte> {t} = Vector128.AndNot(Vector128.Create((byte)0x{1 << slot.DestShift:X2}), Vector128.Equals({g} & {ByteVector(bits)}, Vector128<byte>.Zero));");
            return t;
        }
        // Several distinct shifts of multi-bit fields: extract per shift and blend by constant lane masks.
        var terms = new List<string>();
        foreach (int s in shifts)
        {
            var sel = new int[16];
            for (int k = 0; k < lanes; k++)
            {
                sel[k] = slot.Shifts[k] == s ? 0xFF : 0;
            }
            terms.Add($"({MoveField(g, mask, s, slot.DestShift)} & {ByteVector(sel)})");
        }
        w.WriteLine($"Vector128<byte> {t} = {string.Join(" | ", terms)};");
        return t;
    }

    /// <summary>
    /// The field at bit <paramref name="shift"/> of each byte of <paramref name="g"/>, moved to bit <paramref name="dest"/>.
    /// A field that reaches bit 7 and lands at bit 0 needs no mask: the logical shift clears the bits above it.
    /// </summary>
    private static string MoveField(string g, int mask, int shift, int dest)
    {
        if (dest == 0 && shift > 0 && ((mask << shift) & 0xFF) == ((0xFF << shift) & 0xFF))
        {
            return $"Vector128.ShiftRightLogical({g}, {shift})";
        }
        string masked = $"({g} & Vector128.Create((byte)0x{(mask << shift) & 0xFF:X2}))";
        return shift > dest ? $"Vector128.ShiftRightLogical({masked}, {shift - dest})"
            : shift < dest ? $"Vector128.ShiftLeft({masked}, {dest - shift})"
            : masked;
    }

    internal static string ByteVector(int[] values)
    {
        var sb = new StringBuilder("Vector128.Create(");
        for (int k = 0; k < 16; k++)
        {
            int v = k < values.Length ? values[k] : 0;
            sb.Append(k == 0 ? $"(byte){v}" : $", {v}");
        }
        return sb.Append(')').ToString();
    }

    private static string UShortVector(int[] values, int start)
    {
        var sb = new StringBuilder("Vector128.Create(");
        for (int k = 0; k < 8; k++)
        {
            int v = start + k < values.Length ? values[start + k] : 0;
            sb.Append(k == 0 ? $"(ushort){v}" : $", {v}");
        }
        return sb.Append(')').ToString();
    }

    /// <summary>Vector C# for a per-element formula node; block/group-level operands are scalar code broadcast with Create.</summary>
    private static (string Code, bool IsVector) Vector(ExprSpec e, FormatSpec spec, int lanes, Func<PackedArraySpec, string> packed)
    {
        string vec = VectorType(lanes);
        if (e.Period != 1)
        {
            return (Scalar(e, spec, packed), false);
        }
        switch (e)
        {
            case NameRef { Kind: NameKind.Packed } n:
                return ("vq_" + n.Name, true);
            case NameRef n:
                return ("vl_" + n.Name, true);
            case CodebookLookup l:
                return ($"vk_{l.Codebook}_{((NameRef)l.Index).Name}", true);
            case ToFloat c:
                return ($"{vec}.ConvertToSingle({Vector(c.Operand, spec, lanes, packed).Code})", true);
            case Negate n:
                return ($"(-{Vector(n.Operand, spec, lanes, packed).Code})", true);
            case Binary b:
            {
                var l = Vector(b.Left, spec, lanes, packed);
                var r = Vector(b.Right, spec, lanes, packed);
                if (b.Op is "<<" or ">>")
                {
                    string fn = b.Op == "<<" ? "ShiftLeft" : "ShiftRightArithmetic";
                    return ($"{vec}.{fn}({l.Code}, {r.Code})", true);
                }
                string lc = l.IsVector ? l.Code : $"{vec}.Create({l.Code})";
                string rc = r.IsVector ? r.Code : $"{vec}.Create({r.Code})";
                return ($"({lc} {b.Op} {rc})", true);
            }
            default:
                throw new InvalidOperationException("unexpected per-element node");
        }
    }
}
