using System;
using System.Collections.Generic;
using System.Linq;
using KernelGen.Generators.Diagnostics;
using KernelGen.Generators.Helpers;
using KernelGen.Generators.Model;

namespace KernelGen.Generators.Parser;

/// <summary>Pass 2: name resolution, layout checks, formula type checking; builds the <see cref="FormatSpec"/>.</summary>
internal sealed partial class SpecParser
{
    private static readonly string[] s_activations = { "Q8_0", "Q8_1", "Q8_K", "F32", "F16", "BF16", "none" };

    private FormatSpec? Validate()
    {
        var fileStart = new SourcePos(0, 0, 0, 0);
        if (_formatName is null)
        {
            Report(DiagnosticDescriptors.MissingDirective, fileStart, "format", " (the first directive must be 'format NAME')");
            return null;
        }
        string name = _formatName.Value.Text;
        if (FirstTensorLevelDeclaration() is { } stray)
        {
            Report(DiagnosticDescriptors.SyntaxError, stray.Pos, $"{stray.What} belongs to a tensor-level spec; add 'layout linear' after 'format'");
            return null;
        }
        if (_blockElements is null || _blockBytes is null)
        {
            Report(DiagnosticDescriptors.MissingDirective, _formatName.Value.Pos, "block", " (write 'block N elements, M bytes')");
            return null;
        }
        if (_activation is null)
        {
            Report(DiagnosticDescriptors.MissingDirective, _formatName.Value.Pos, "activation", " (the format the integer dot product pairs with: Q8_0, Q8_1, Q8_K, F32, F16, BF16 or none)");
        }
        else if (Array.IndexOf(s_activations, _activation.Value.Text) < 0)
        {
            Report(DiagnosticDescriptors.UnknownActivation, _activation.Value.Pos, _activation.Value.Text);
        }
        if (_valuePos is null)
        {
            Report(DiagnosticDescriptors.MissingDirective, _formatName.Value.Pos, "value", " (the value formula, ending with 'y = ...')");
        }

        int blockElements = (int)ParseInteger(_blockElements.Value);
        int blockBytes = (int)ParseInteger(_blockBytes.Value);
        if (blockElements < 1 || blockElements > 65536)
        {
            Report(DiagnosticDescriptors.InvalidValue, _blockElements.Value.Pos, $"a block must hold 1..65536 elements, not {blockElements}");
            return null;
        }
        if (blockBytes < 1 || blockBytes > 65536)
        {
            Report(DiagnosticDescriptors.InvalidValue, _blockBytes.Value.Pos, $"a block must be 1..65536 bytes, not {blockBytes}");
            return null;
        }
        int? ggmlType = null;
        if (_ggmlType is not null)
        {
            ggmlType = (int)ParseInteger(_ggmlType.Value);
            if (ggmlType > 1023)
            {
                Report(DiagnosticDescriptors.InvalidValue, _ggmlType.Value.Pos, $"ggml type id {ggmlType} is out of range (0..1023)");
            }
        }

        var names = new Dictionary<string, SourcePos>(StringComparer.Ordinal);
        bool Declare(Token token)
        {
            if (names.TryGetValue(token.Text, out var previous))
            {
                Report(DiagnosticDescriptors.DuplicateName, token.Pos, token.Text, (previous.Line + 1).ToString());
                return false;
            }
            names.Add(token.Text, token.Pos);
            return true;
        }

        var fields = ValidateFields(blockBytes, Declare);
        var codebooks = ValidateCodebooks(Declare);
        var arrays = ValidateArrays(blockElements, blockBytes, fields, Declare);
        if (_diagnostics.Count > 0)
        {
            return null;
        }
        ValidateMemberNames(fields, arrays);
        if (_diagnostics.Count > 0)
        {
            return null;
        }
        var lets = ValidateFormula(blockElements, fields, arrays, codebooks, Declare);
        if (_diagnostics.Count > 0 || lets is null)
        {
            return null;
        }

        return new FormatSpec(
            name,
            _path,
            ggmlType,
            blockElements,
            blockBytes,
            _activation?.Text ?? "none",
            fields.ToEquatableArray(),
            arrays.ToEquatableArray(),
            codebooks.ToEquatableArray(),
            lets.ToEquatableArray(),
            _header.ToEquatableArray());
    }

    // ---- fields -------------------------------------------------------------------------------------------------

    private List<FieldSpec> ValidateFields(int blockBytes, Func<Token, bool> declare)
    {
        var result = new List<FieldSpec>();
        var positions = new Dictionary<string, SourcePos>();
        foreach (var raw in _fields)
        {
            if (!declare(raw.Name))
            {
                continue;
            }
            if (!ScalarKindExtensions.TryParse(raw.Type.Text, out var kind))
            {
                Report(DiagnosticDescriptors.InvalidType, raw.Type.Pos, raw.Type.Text, "field types are f16, bf16, f32, u8, i8, u16le, i16le, u32le, i32le (optionally [N])");
                continue;
            }
            int count = 1;
            if (raw.Count is not null)
            {
                count = (int)ParseInteger(raw.Count.Value);
                if (count < 1)
                {
                    Report(DiagnosticDescriptors.InvalidValue, raw.Count.Value.Pos, "an array field needs at least one element");
                    continue;
                }
            }
            int offset = (int)ParseInteger(raw.Offset);
            var field = new FieldSpec(raw.Name.Text, kind, count, raw.Count is not null, offset);
            if (field.End > blockBytes)
            {
                Report(DiagnosticDescriptors.FieldLayout, raw.Offset.Pos,
                    $"field '{field.Name}' occupies bytes {offset}..{field.End - 1}, past the end of the {blockBytes}-byte block");
                continue;
            }
            positions[field.Name] = raw.Name.Pos;
            result.Add(field);
        }
        if (_diagnostics.Count > 0)
        {
            return result;
        }
        // The field table must tile the block exactly: no gaps, no overlaps.
        var sorted = new List<FieldSpec>(result);
        sorted.Sort((a, b) => a.Offset.CompareTo(b.Offset));
        int next = 0;
        FieldSpec? previous = null;
        foreach (var f in sorted)
        {
            if (f.Offset < next)
            {
                Report(DiagnosticDescriptors.FieldLayout, positions[f.Name],
                    $"field '{f.Name}' (bytes {f.Offset}..{f.End - 1}) overlaps field '{previous!.Name}' (bytes {previous.Offset}..{previous.End - 1})");
            }
            else if (f.Offset > next)
            {
                Report(DiagnosticDescriptors.FieldLayout, positions[f.Name],
                    $"bytes {next}..{f.Offset - 1} of the block are not covered by any field (field '{f.Name}' starts at {f.Offset})");
            }
            next = Math.Max(next, f.End);
            previous = f;
        }
        if (next < blockBytes && _diagnostics.Count == 0)
        {
            var pos = _blockBytes!.Value.Pos;
            Report(DiagnosticDescriptors.FieldLayout, pos, $"bytes {next}..{blockBytes - 1} of the {blockBytes}-byte block are not covered by any field");
        }
        return result;
    }

    // ---- codebooks ----------------------------------------------------------------------------------------------

    private List<CodebookSpec> ValidateCodebooks(Func<Token, bool> declare)
    {
        var result = new List<CodebookSpec>();
        foreach (var raw in _codebooks)
        {
            if (!declare(raw.Name))
            {
                continue;
            }
            if (!ScalarKindExtensions.TryParse(raw.Type.Text, out var kind) || kind.IsFloat())
            {
                Report(DiagnosticDescriptors.InvalidType, raw.Type.Pos, raw.Type.Text, "codebook entries are integers: i8, u8, i16le, u16le, i32le or u32le");
                continue;
            }
            int count = (int)ParseInteger(raw.Count);
            if (count != raw.Values.Count)
            {
                Report(DiagnosticDescriptors.InvalidCodebook, raw.Count.Pos, raw.Name.Text, $"declared with {count} entries but {raw.Values.Count} values are listed");
                continue;
            }
            long min = kind switch { ScalarKind.I8 => sbyte.MinValue, ScalarKind.I16 => short.MinValue, ScalarKind.I32 => int.MinValue, _ => 0 };
            long max = kind switch { ScalarKind.I8 => sbyte.MaxValue, ScalarKind.U8 => byte.MaxValue, ScalarKind.I16 => short.MaxValue, ScalarKind.U16 => ushort.MaxValue, ScalarKind.I32 => int.MaxValue, _ => uint.MaxValue };
            bool ok = true;
            var values = new List<long>();
            foreach (var (value, pos) in raw.Values)
            {
                if (value < min || value > max)
                {
                    Report(DiagnosticDescriptors.InvalidCodebook, pos, raw.Name.Text, $"value {value} does not fit in {raw.Type.Text}");
                    ok = false;
                }
                values.Add(value);
            }
            if (ok)
            {
                result.Add(new CodebookSpec(raw.Name.Text, kind, values.ToEquatableArray()));
            }
        }
        return result;
    }

    // ---- packed arrays (quants and scales) ----------------------------------------------------------------------

    private List<PackedArraySpec> ValidateArrays(int blockElements, int blockBytes, List<FieldSpec> fields, Func<Token, bool> declare)
    {
        var result = new List<PackedArraySpec>();
        // Owner of every stored bit (byte*8+bit), and of every base-3 digit (byte*5+digit), to reject overlaps.
        var bitOwner = new string?[blockBytes * 8];
        var tritOwner = new string?[blockBytes * 5];
        var byteMode = new int[blockBytes]; // 0 unused, 1 bit-packed, 2 base-3 digits
        var packedFields = new HashSet<string>();
        foreach (var raw in _arrays)
        {
            if (!declare(raw.Name))
            {
                continue;
            }
            string kindWord = raw.IsQuant ? "quant" : "scale";
            if (!TryParsePackedType(raw.Type.Text, out bool signed, out int bits))
            {
                Report(DiagnosticDescriptors.InvalidType, raw.Type.Pos, raw.Type.Text, $"a {kindWord} type is u1..u32 or i2..i32 (the number of stored bits)");
                continue;
            }
            int group = 1;
            if (raw.Group is not null)
            {
                group = (int)ParseInteger(raw.Group.Value);
                if (group < 1 || blockElements % group != 0)
                {
                    Report(DiagnosticDescriptors.InvalidGroup, raw.Group.Value.Pos, $"'{raw.Name.Text}' covers {group} elements per value, which does not divide the {blockElements}-element block");
                    continue;
                }
            }
            int count = blockElements / group;
            string indexName = raw.IsQuant ? "element" : "group";
            var assigned = new int[count];
            var runs = new List<RunSpec>();
            if (raw.Runs.Count == 0)
            {
                Report(DiagnosticDescriptors.Coverage, raw.Name.Pos, $"{kindWord} '{raw.Name.Text}' has no placement runs; add indented lines such as '{(raw.IsQuant ? "e" : "g")}[0..{count - 1}] = field[0..{count - 1}] bits 0..{Math.Min(bits, 8) - 1}'");
                continue;
            }
            foreach (var run in raw.Runs)
            {
                if (run.Last >= count)
                {
                    Report(DiagnosticDescriptors.InvalidRun, run.RangePos, $"{indexName} {run.Last} is out of range; '{raw.Name.Text}' has {count} values (0..{count - 1})");
                    continue;
                }
                int runCount = run.Last - run.First + 1;
                var pieces = new List<PieceSpec>();
                long destMask = 0;
                bool ok = true;
                foreach (var p in run.Pieces)
                {
                    var piece = ValidatePiece(p, runCount, bits, fields, ref destMask);
                    if (piece is null)
                    {
                        ok = false;
                        continue;
                    }
                    pieces.Add(piece);
                }
                if (!ok)
                {
                    continue;
                }
                for (int i = run.First; i <= run.Last; i++)
                {
                    if (assigned[i] != 0)
                    {
                        Report(DiagnosticDescriptors.Coverage, run.RangePos, $"{indexName} {i} of '{raw.Name.Text}' is assigned twice (also on line {assigned[i]})");
                        ok = false;
                        break;
                    }
                    assigned[i] = run.Line + 1;
                }
                if (!ok)
                {
                    continue;
                }
                var runSpec = new RunSpec(run.First, runCount, pieces.ToEquatableArray(), run.Line);
                // Storage overlap: no stored bit (or base-3 digit) may feed two values.
                for (int pi = 0; pi < pieces.Count && ok; pi++)
                {
                    var piece = pieces[pi];
                    packedFields.Add(piece.Field);
                    for (int i = 0; i < runCount && ok; i++)
                    {
                        var place = piece.PlacementOf(i);
                        string owner = $"{raw.Name.Text}[{run.First + i}]";
                        if (place.Kind == PieceKind.Trit)
                        {
                            int slot = place.Byte * 5 + place.Digit;
                            if (byteMode[place.Byte] == 1)
                            {
                                Report(DiagnosticDescriptors.BitOverlap, run.Pieces[pi].SelectorPos, $"block byte {place.Byte} holds base-3 digits for {owner} but bits for other values");
                                ok = false;
                            }
                            else if (tritOwner[slot] is not null)
                            {
                                Report(DiagnosticDescriptors.BitOverlap, run.Pieces[pi].SelectorPos, $"digit {place.Digit} of block byte {place.Byte} is used by {owner} and by {tritOwner[slot]}");
                                ok = false;
                            }
                            tritOwner[slot] = owner;
                            byteMode[place.Byte] = 2;
                        }
                        else
                        {
                            for (int b = 0; b < place.Width && ok; b++)
                            {
                                int bit = place.Byte * 8 + place.Shift + b;
                                if (byteMode[bit / 8] == 2)
                                {
                                    Report(DiagnosticDescriptors.BitOverlap, run.Pieces[pi].SelectorPos, $"block byte {bit / 8} holds bits for {owner} but base-3 digits for other values");
                                    ok = false;
                                }
                                else if (bitOwner[bit] is not null)
                                {
                                    Report(DiagnosticDescriptors.BitOverlap, run.Pieces[pi].SelectorPos, $"bit {bit % 8} of block byte {bit / 8} is used by {owner} and by {bitOwner[bit]}");
                                    ok = false;
                                }
                                bitOwner[bit] = owner;
                                byteMode[bit / 8] = 1;
                            }
                        }
                    }
                }
                runs.Add(runSpec);
            }
            if (runs.Count != raw.Runs.Count)
            {
                continue;
            }
            int missingFirst = Array.IndexOf(assigned, 0);
            if (missingFirst >= 0)
            {
                int missingLast = missingFirst;
                while (missingLast + 1 < count && assigned[missingLast + 1] == 0)
                {
                    missingLast++;
                }
                Report(DiagnosticDescriptors.Coverage, raw.Name.Pos, $"{indexName}s {missingFirst}..{missingLast} of '{raw.Name.Text}' are never assigned by a run");
                continue;
            }
            runs.Sort((a, b) => a.First.CompareTo(b.First));
            result.Add(new PackedArraySpec(raw.Name.Text, signed, bits, group, count, runs.ToEquatableArray()));
        }
        for (int i = 0; i < fields.Count; i++)
        {
            if (packedFields.Contains(fields[i].Name))
            {
                fields[i] = fields[i] with { IsPackedStorage = true };
            }
        }
        return result;
    }

    private PieceSpec? ValidatePiece(RawPiece p, int runCount, int arrayBits, List<FieldSpec> fields, ref long destMask)
    {
        var field = fields.Find(f => f.Name == p.Field.Text);
        if (field is null)
        {
            Report(DiagnosticDescriptors.UnknownName, p.Field.Pos, "field", p.Field.Text);
            return null;
        }
        if (field.Type.IsFloat())
        {
            Report(DiagnosticDescriptors.InvalidRun, p.Field.Pos, $"field '{field.Name}' is {field.Type.SpecName()}; packed values can only be read from integer fields");
            return null;
        }
        int sourceCount = p.Last - p.First + 1;
        if (sourceCount != runCount)
        {
            Report(DiagnosticDescriptors.InvalidRun, p.RangePos, $"the run has {runCount} values but {field.Name}[{p.First}..{p.Last}] has {sourceCount}");
            return null;
        }
        if (p.Kind == PieceKind.Stream)
        {
            int totalBits = field.ByteLength * 8;
            if ((p.Last + 1) * p.Width > totalBits)
            {
                Report(DiagnosticDescriptors.InvalidRun, p.RangePos, $"slot {p.Last} of '{field.Name} as u{p.Width}' ends at bit {(p.Last + 1) * p.Width - 1}, but the field has {totalBits} bits");
                return null;
            }
        }
        else
        {
            if (field.Type.Size() != 1)
            {
                Report(DiagnosticDescriptors.InvalidRun, p.Field.Pos, $"field '{field.Name}' is {field.Type.SpecName()}, not a byte array; read its bits with '{field.Name} as uN[first..last]'");
                return null;
            }
            if (p.Last >= field.Count)
            {
                Report(DiagnosticDescriptors.InvalidRun, p.RangePos, $"byte {p.Last} is outside field '{field.Name}' ({field.Count} bytes, 0..{field.Count - 1})");
                return null;
            }
            if (p.Kind == PieceKind.Bits && p.BitLow + p.Width > 8)
            {
                Report(DiagnosticDescriptors.InvalidRun, p.SelectorPos, $"bits {p.BitLow}..{p.BitLow + p.Width - 1} do not fit in a byte (bits 0..7)");
                return null;
            }
            if (p.Kind == PieceKind.Trit && (p.Digit < 0 || p.Digit > 4))
            {
                Report(DiagnosticDescriptors.InvalidRun, p.SelectorPos, $"a byte holds base-3 digits 0..4, not digit {p.Digit}");
                return null;
            }
        }
        if (p.DestShift + p.Width > arrayBits)
        {
            Report(DiagnosticDescriptors.InvalidRun, p.SelectorPos, $"the piece lands on bits {p.DestShift}..{p.DestShift + p.Width - 1} of the value, which has only {arrayBits} bits");
            return null;
        }
        long mask = ((1L << p.Width) - 1) << p.DestShift;
        if ((destMask & mask) != 0)
        {
            Report(DiagnosticDescriptors.InvalidRun, p.SelectorPos, $"the piece lands on value bits {p.DestShift}..{p.DestShift + p.Width - 1}, already set by an earlier piece of this run");
            return null;
        }
        destMask |= mask;
        return new PieceSpec(p.Kind, field.Name, field.Offset, p.First, p.BitLow, p.Width, p.DestShift, p.Digit);
    }

    /// <summary>Spec names become PascalCase members of the block struct; two names must not collide there.</summary>
    private void ValidateMemberNames(List<FieldSpec> fields, List<PackedArraySpec> arrays)
    {
        var members = new Dictionary<string, string>(StringComparer.Ordinal);
        var names = new List<string>();
        names.AddRange(fields.Where(f => !f.IsPackedStorage).Select(f => f.Name));
        names.AddRange(arrays.Select(a => a.Name));
        foreach (var name in names)
        {
            string member = Emit.FormatEmitter.Pascal(name);
            if (members.TryGetValue(member, out var other) || members.TryGetValue(member + "Array", out other))
            {
                var pos = _fields.Find(f => f.Name.Text == name)?.Name.Pos ?? _arrays.Find(a => a.Name.Text == name)!.Name.Pos;
                Report(DiagnosticDescriptors.DuplicateName, pos, name, $"{pos.Line + 1} (as the C# member '{member}', which '{other}' also becomes)");
                continue;
            }
            members[member] = name;
            members[member + "Array"] = name;
        }
    }

    // ---- formula ------------------------------------------------------------------------------------------------

    private List<LetSpec>? ValidateFormula(int blockElements, List<FieldSpec> fields, List<PackedArraySpec> arrays, List<CodebookSpec> codebooks, Func<Token, bool> declare)
    {
        if (_valuePos is null)
        {
            return null;
        }
        if (_lets.Count == 0)
        {
            Report(DiagnosticDescriptors.InvalidFormula, _valuePos.Value, "the value section is empty; it must end with 'y = ...'");
            return null;
        }
        var lets = new List<LetSpec>();
        var letTypes = new Dictionary<string, ExprSpec>();
        for (int i = 0; i < _lets.Count; i++)
        {
            var raw = _lets[i];
            bool isLast = i == _lets.Count - 1;
            if (raw.Name.Text == "y" && !isLast)
            {
                Report(DiagnosticDescriptors.InvalidFormula, raw.Name.Pos, "'y' must be the last line of the value section");
                return null;
            }
            if (!declare(raw.Name))
            {
                return null;
            }
            var expr = Check(raw.Expr, blockElements, fields, arrays, codebooks, letTypes);
            if (expr is null)
            {
                return null;
            }
            letTypes[raw.Name.Text] = expr;
            lets.Add(new LetSpec(raw.Name.Text, expr, raw.Name.Pos.Line));
        }
        var last = _lets[_lets.Count - 1];
        if (last.Name.Text != "y")
        {
            Report(DiagnosticDescriptors.InvalidFormula, last.Name.Pos, $"the last line of the value section must define 'y' (the decoded float), not '{last.Name.Text}'");
            return null;
        }
        if (!lets[lets.Count - 1].Value.IsFloat)
        {
            Report(DiagnosticDescriptors.FormulaType, last.Expr.Pos, "'y' is an integer; convert with f32(...) and scale it");
            return null;
        }
        if (blockElements == 1 && (lets.Count != 1 || lets[0].Value is not NameRef { Kind: NameKind.Field }))
        {
            Report(DiagnosticDescriptors.InvalidFormula, last.Expr.Pos, "a one-element format must be a plain conversion 'y = FIELD' of its single float field");
            return null;
        }
        if (blockElements == 1 && arrays.Count > 0)
        {
            Report(DiagnosticDescriptors.InvalidFormula, last.Expr.Pos, "a one-element format cannot have quant or scale arrays");
            return null;
        }
        return lets;
    }

    private ExprSpec? Check(RawExpr raw, int blockElements, List<FieldSpec> fields, List<PackedArraySpec> arrays, List<CodebookSpec> codebooks, Dictionary<string, ExprSpec> lets)
    {
        switch (raw)
        {
            case RawExpr.Int i:
                return new IntLiteral(i.Value) { IsFloat = false, Period = blockElements };
            case RawExpr.Flt f:
                return new FloatLiteral(f.Value) { IsFloat = true, Period = blockElements };
            case RawExpr.Name n:
            {
                var field = fields.Find(x => x.Name == n.Text);
                if (field is not null)
                {
                    if (field.IsArray || field.IsPackedStorage)
                    {
                        Report(DiagnosticDescriptors.FormulaType, n.Pos, $"field '{n.Text}' holds packed or array data; read it through a quant or scale");
                        return null;
                    }
                    return new NameRef(n.Text, NameKind.Field) { IsFloat = field.Type.IsFloat(), Period = blockElements };
                }
                var array = arrays.Find(x => x.Name == n.Text);
                if (array is not null)
                {
                    return new NameRef(n.Text, NameKind.Packed) { IsFloat = false, Period = array.GroupSize };
                }
                if (lets.TryGetValue(n.Text, out var let))
                {
                    return new NameRef(n.Text, NameKind.Let) { IsFloat = let.IsFloat, Period = let.Period };
                }
                if (codebooks.Exists(x => x.Name == n.Text))
                {
                    Report(DiagnosticDescriptors.FormulaType, n.Pos, $"codebook '{n.Text}' must be indexed: {n.Text}[q]");
                    return null;
                }
                Report(DiagnosticDescriptors.UnknownName, n.Pos, "name", n.Text);
                return null;
            }
            case RawExpr.Lookup l:
            {
                var codebook = codebooks.Find(x => x.Name == l.Codebook);
                if (codebook is null)
                {
                    Report(DiagnosticDescriptors.UnknownName, l.Pos, "codebook", l.Codebook);
                    return null;
                }
                var index = Check(l.Index, blockElements, fields, arrays, codebooks, lets);
                if (index is null)
                {
                    return null;
                }
                if (index.IsFloat)
                {
                    Report(DiagnosticDescriptors.FormulaType, l.Index.Pos, $"the index of codebook '{l.Codebook}' must be an integer");
                    return null;
                }
                if (index is NameRef { Kind: NameKind.Packed } packedIndex)
                {
                    var indexArray = arrays.Find(x => x.Name == packedIndex.Name)!;
                    long reach = indexArray.IsSigned ? -1 : (1L << indexArray.Bits) - 1;
                    if (reach < 0 || reach >= codebook.Values.Count)
                    {
                        Report(DiagnosticDescriptors.InvalidCodebook, l.Index.Pos, l.Codebook,
                            indexArray.IsSigned
                                ? $"its index '{indexArray.Name}' is signed"
                                : $"its index '{indexArray.Name}' can reach {reach} but there are only {codebook.Values.Count} entries");
                        return null;
                    }
                }
                return new CodebookLookup(l.Codebook, index) { IsFloat = false, Period = index.Period };
            }
            case RawExpr.Conv c:
            {
                var operand = Check(c.Operand, blockElements, fields, arrays, codebooks, lets);
                if (operand is null)
                {
                    return null;
                }
                if (operand.IsFloat)
                {
                    Report(DiagnosticDescriptors.FormulaType, c.Pos, "f32(...) converts an integer, but its operand is already a float");
                    return null;
                }
                return new ToFloat(operand) { IsFloat = true, Period = operand.Period };
            }
            case RawExpr.Neg ng:
            {
                var operand = Check(ng.Operand, blockElements, fields, arrays, codebooks, lets);
                return operand is null ? null : new Negate(operand) { IsFloat = operand.IsFloat, Period = operand.Period };
            }
            case RawExpr.Bin b:
            {
                var left = Check(b.Left, blockElements, fields, arrays, codebooks, lets);
                var right = Check(b.Right, blockElements, fields, arrays, codebooks, lets);
                if (left is null || right is null)
                {
                    return null;
                }
                if (left.IsFloat != right.IsFloat)
                {
                    Report(DiagnosticDescriptors.FormulaType, b.Pos,
                        $"'{b.Op}' mixes an integer and a float; convert the integer explicitly with f32(...) so the order of float operations is explicit");
                    return null;
                }
                if (b.Op is "/" or "%")
                {
                    Report(DiagnosticDescriptors.SyntaxError, b.Pos, "division is not part of the block value language (ggml's dequantizers only multiply, add and subtract)");
                    return null;
                }
                if (left.IsFloat && b.Op is "|" or "&" or "<<" or ">>")
                {
                    Report(DiagnosticDescriptors.FormulaType, b.Pos, $"'{b.Op}' is an integer operator; its operands here are floats");
                    return null;
                }
                return new Binary(b.Op, left, right) { IsFloat = left.IsFloat, Period = Gcd(left.Period, right.Period) };
            }
            default:
                return null;
        }
    }

    /// <summary>The first declaration that only a tensor-level spec may have, for a block spec's error message.</summary>
    private (SourcePos Pos, string What)? FirstTensorLevelDeclaration()
    {
        var candidates = new List<(SourcePos Pos, string What)>();
        candidates.AddRange(_params.Select(p => (p.Directive.Pos, "'param'")));
        candidates.AddRange(_sizes.Select(p => (p.Directive.Pos, "'size'")));
        candidates.AddRange(_indices.Select(p => (p.Directive.Pos, "'index'")));
        candidates.AddRange(_tensors.Select(p => (p.Directive.Pos, "'tensor'")));
        candidates.AddRange(_groups.Select(p => (p.Directive.Pos, "'group'")));
        candidates.AddRange(_warns.Select(p => (p.Directive.Pos, "'warn'")));
        candidates.AddRange(_arrays.Where(a => a.Per is not null).Select(a => (a.Per!.Value.Pos, $"'per {a.Per!.Value.Text}'")));
        candidates.AddRange(_arrays.Where(a => a.WidthParam is not null).Select(a => (a.WidthParam!.Value.Pos, "a parameter width")));
        candidates.AddRange(_lets.Where(l => l.Guard is not null).Select(l => (l.Guard!.Param.Pos, "a 'when' guard")));
        if (candidates.Count == 0)
        {
            return null;
        }
        return candidates.OrderBy(c => c.Pos.Start).First();
    }

    private static int Gcd(int a, int b)
    {
        while (b != 0)
        {
            (a, b) = (b, a % b);
        }
        return a;
    }
}
