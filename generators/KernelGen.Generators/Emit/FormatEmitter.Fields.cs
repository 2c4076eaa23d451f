using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using KernelGen.Generators.Model;

namespace KernelGen.Generators.Emit;

/// <summary>The logical block struct, <c>DecodeFields</c> (bytes → logical values) and <c>Encode</c> (its exact inverse).</summary>
internal static partial class FormatEmitter
{
    /// <summary>Members of the logical block: scalar fields and raw arrays that hold no packed values, then the packed arrays.</summary>
    private static IEnumerable<FieldSpec> StructFields(FormatSpec spec) => spec.Fields.Where(f => !f.IsPackedStorage);

    private static void EmitBlockStruct(SourceWriter w, FormatSpec spec, string vis)
    {
        w.WriteLine("/// <summary>");
        w.WriteLine($"/// The logical contents of one {spec.Name} block: what <see cref=\"{spec.Name}Codec.DecodeFields\"/> produces and");
        w.WriteLine($"/// <see cref=\"{spec.Name}Codec.Encode\"/> packs. Half-precision fields are raw IEEE binary16 bits; packed values are unpacked.");
        w.WriteLine("/// </summary>");
        w.OpenBlock($"{vis} struct {spec.Name}Block");
        foreach (var f in StructFields(spec))
        {
            string doc = $"Field <c>{f.Name}</c> ({f.Type.SpecName()}{(f.IsArray ? $"[{f.Count}]" : "")} @{f.Offset}){(f.Type is ScalarKind.F16 ? ", raw binary16 bits" : f.Type is ScalarKind.BF16 ? ", raw bfloat16 bits" : "")}.";
            w.WriteLine($"/// <summary>{doc}</summary>");
            if (f.IsArray)
            {
                w.WriteLine($"public {Pascal(f.Name)}Array {Pascal(f.Name)};");
            }
            else
            {
                w.WriteLine($"public {f.Type.CSharpStorageType()} {Pascal(f.Name)};");
            }
        }
        foreach (var a in spec.Arrays)
        {
            w.WriteLine($"/// <summary>{(a.IsPerElement ? "Quant" : "Scale")} <c>{a.Name}</c> ({(a.IsSigned ? "i" : "u")}{a.Bits}{(a.IsPerElement ? ", one per element" : $", one per {a.GroupSize} elements")}).</summary>");
            w.WriteLine($"public {Pascal(a.Name)}Array {Pascal(a.Name)};");
        }
        foreach (var f in StructFields(spec).Where(f => f.IsArray))
        {
            EmitInlineArray(w, Pascal(f.Name) + "Array", f.Type.CSharpStorageType(), f.Count);
        }
        foreach (var a in spec.Arrays)
        {
            EmitInlineArray(w, Pascal(a.Name) + "Array", a.CSharpElementType, a.Count);
        }
        w.CloseBlock();
    }

    private static void EmitInlineArray(SourceWriter w, string name, string type, int count)
    {
        w.WriteLine();
        w.WriteLine($"/// <summary>{count} values of type <c>{type}</c>.</summary>");
        w.WriteLine($"[InlineArray({count})]");
        w.OpenBlock($"public struct {name}");
        w.WriteLine($"private {type} _element0;");
        w.CloseBlock();
    }

    private static void EmitFieldsAndEncode(SourceWriter w, FormatSpec spec)
    {
        string blockType = spec.Name + "Block";
        w.WriteLine("/// <summary>Unpacks one block into its logical fields (the inverse of <see cref=\"Encode\"/>).</summary>");
        w.OpenBlock($"public static void DecodeFields(ReadOnlySpan<byte> block, out {blockType} fields)");
        w.WriteLine("CheckBlock(block);");
        w.WriteLine("fields = default;");
        foreach (var f in StructFields(spec))
        {
            if (f.IsArray)
            {
                w.OpenBlock($"for (int i = 0; i < {f.Count}; i++)");
                w.WriteLine($"fields.{Pascal(f.Name)}[i] = {RawRead(f, "block", "i")};");
                w.CloseBlock();
            }
            else
            {
                w.WriteLine($"fields.{Pascal(f.Name)} = {RawRead(f, "block", "0")};");
            }
        }
        foreach (var a in spec.Arrays)
        {
            w.WriteLine($"Span<int> a_{a.Name} = stackalloc int[{a.Count}];");
            w.WriteLine($"Unpack_{a.Name}(block, a_{a.Name});");
            w.OpenBlock($"for (int i = 0; i < {a.Count}; i++)");
            w.WriteLine($"fields.{Pascal(a.Name)}[i] = unchecked(({a.CSharpElementType})a_{a.Name}[i]);");
            w.CloseBlock();
        }
        w.CloseBlock();
        w.WriteLine();

        w.WriteLine("/// <summary>");
        w.WriteLine("/// Packs logical fields into one block: the exact inverse of <see cref=\"DecodeFields\"/>. Packed values are masked");
        w.WriteLine("/// to their declared width (base-3 digits must be 0..2).");
        w.WriteLine("/// </summary>");
        w.OpenBlock($"public static void Encode(in {blockType} fields, Span<byte> block)");
        w.WriteLine("CheckBlock(block);");
        w.WriteLine("block.Slice(0, BlockBytes).Clear();");
        foreach (var f in StructFields(spec))
        {
            if (f.IsArray)
            {
                w.OpenBlock($"for (int i = 0; i < {f.Count}; i++)");
                w.WriteLine(RawWrite(f, "block", "i", $"fields.{Pascal(f.Name)}[i]"));
                w.CloseBlock();
            }
            else
            {
                w.WriteLine(RawWrite(f, "block", "0", $"fields.{Pascal(f.Name)}"));
            }
        }
        bool hasTrits = spec.Arrays.Any(a => a.Runs.Any(r => r.Pieces.Any(p => p.Kind == PieceKind.Trit)));
        if (hasTrits)
        {
            w.WriteLine("// Base-3 bytes: accumulate v = sum(t_n * 3^(4-n)) per byte, then store ggml's fixed-point ceil(v * 256 / 243).");
            w.WriteLine($"Span<int> trits = stackalloc int[{spec.BlockBytes}];");
            w.WriteLine("trits.Clear();");
        }
        var tritBytes = new SortedSet<int>();
        foreach (var a in spec.Arrays)
        {
            foreach (var run in a.Runs)
            {
                w.WriteLine("// " + RenderRun(a, run));
                w.OpenBlock($"for (int i = 0; i < {run.Count}; i++)");
                w.WriteLine($"int v = fields.{Pascal(a.Name)}[{run.First} + i];");
                foreach (var p in run.Pieces)
                {
                    int mask = (int)((1L << p.Width) - 1);
                    string bits = p.DestShift == 0 ? $"(v & 0x{mask:X})" : $"((v >> {p.DestShift}) & 0x{mask:X})";
                    switch (p.Kind)
                    {
                        case PieceKind.Trit:
                            int weight = 1;
                            for (int k = 0; k < 4 - p.Digit; k++)
                            {
                                weight *= 3;
                            }
                            w.WriteLine($"trits[{p.FieldOffset + p.First} + i] += {bits} * {weight};");
                            for (int i = 0; i < run.Count; i++)
                            {
                                tritBytes.Add(p.FieldOffset + p.First + i);
                            }
                            break;
                        case PieceKind.Stream:
                            w.WriteLine($"KernelGenHelpers.WriteBits(block, {p.FieldOffset * 8} + ({p.First} + i) * {p.Width}, {p.Width}, {bits});");
                            break;
                        default:
                            w.WriteLine(p.BitLow == 0
                                ? $"block[{p.FieldOffset + p.First} + i] |= (byte){bits};"
                                : $"block[{p.FieldOffset + p.First} + i] |= (byte)({bits} << {p.BitLow});");
                            break;
                    }
                }
                w.CloseBlock();
            }
        }
        foreach (var (start, end) in Ranges(tritBytes))
        {
            w.OpenBlock($"for (int i = {start}; i <= {end}; i++)");
            w.WriteLine("block[i] = KernelGenHelpers.TritPack(trits[i]);");
            w.CloseBlock();
        }
        w.CloseBlock();
    }

    private static IEnumerable<(int Start, int End)> Ranges(SortedSet<int> values)
    {
        int start = -1, prev = -2;
        foreach (int v in values)
        {
            if (v != prev + 1)
            {
                if (start >= 0)
                {
                    yield return (start, prev);
                }
                start = v;
            }
            prev = v;
        }
        if (start >= 0)
        {
            yield return (start, prev);
        }
    }
}
