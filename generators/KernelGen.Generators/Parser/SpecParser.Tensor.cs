using System;
using System.Collections.Generic;
using System.Linq;
using KernelGen.Generators.Diagnostics;
using KernelGen.Generators.Helpers;
using KernelGen.Generators.Model;

namespace KernelGen.Generators.Parser;

/// <summary>
/// Pass 2 for tensor-level specs (<c>layout linear</c>): resolves parameters, sizes, tensors, the group map and the
/// placements of every logical array, type-checks the value formula (with <c>when</c> guards) and the warnings, and
/// builds the <see cref="TensorFormatSpec"/>.
/// </summary>
internal sealed partial class SpecParser
{
    private static readonly string[] s_dims = { "N", "K" };

    private Dictionary<string, ParamSpec> _tParams = new(StringComparer.Ordinal);
    private Dictionary<string, ExprSpec> _tIndices = new(StringComparer.Ordinal);
    private HashSet<string> _tSizes = new(StringComparer.Ordinal);
    private Dictionary<string, TensorSpec> _tTensors = new(StringComparer.Ordinal);
    private Dictionary<string, TensorArraySpec> _tArrays = new(StringComparer.Ordinal);
    private string? _tGroupVar;

    private TensorFormatSpec? ValidateTensorFormat()
    {
        var fileStart = _formatName?.Pos ?? new SourcePos(0, 0, 0, 0);
        if (_formatName is null)
        {
            Report(DiagnosticDescriptors.MissingDirective, fileStart, "format", " (the first directive must be 'format NAME')");
            return null;
        }
        if (_blockElements is not null)
        {
            Report(DiagnosticDescriptors.SyntaxError, _blockElements.Value.Pos, "a tensor-level spec (layout linear) has no 'block'; its geometry comes from its tensors");
            return null;
        }
        if (_fields.Count > 0)
        {
            Report(DiagnosticDescriptors.SyntaxError, _fields[0].Name.Pos, "'field' belongs to block specs; a tensor-level spec declares 'tensor's");
            return null;
        }
        if (_codebooks.Count > 0)
        {
            Report(DiagnosticDescriptors.SyntaxError, _codebooks[0].Name.Pos, "codebooks are not supported in tensor-level specs");
            return null;
        }
        if (_activation is not null && Array.IndexOf(s_activations, _activation.Value.Text) < 0)
        {
            Report(DiagnosticDescriptors.UnknownActivation, _activation.Value.Pos, _activation.Value.Text);
            return null;
        }
        if (_valuePos is null)
        {
            Report(DiagnosticDescriptors.MissingDirective, _formatName.Value.Pos, "value", " (the value formula, ending with 'y = ...')");
            return null;
        }
        if (_tensors.Count == 0)
        {
            Report(DiagnosticDescriptors.MissingDirective, _formatName.Value.Pos, "tensor", " (a tensor-level spec stores its values in tensors: 'tensor NAME : TYPE[rows, columns]')");
            return null;
        }

        var names = new Dictionary<string, SourcePos>(StringComparer.Ordinal);
        foreach (var reserved in new[] { "n", "k", "N", "K" })
        {
            names[reserved] = _layout!.Value.Pos;
        }
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

        var parameters = ValidateParams(Declare);
        if (_diagnostics.Count > 0)
        {
            return null;
        }
        var sizes = new List<SizeSpec>();
        foreach (var raw in _sizes)
        {
            if (!Declare(raw.Name))
            {
                return null;
            }
            var value = CheckIndex(raw.Value, Array.Empty<string>());
            if (value is null)
            {
                return null;
            }
            sizes.Add(new SizeSpec(raw.Name.Text, value));
            _tSizes.Add(raw.Name.Text);
        }
        var tensors = ValidateTensors(Declare);
        if (_diagnostics.Count > 0)
        {
            return null;
        }
        var indices = new List<SizeSpec>();
        foreach (var raw in _indices)
        {
            if (!Declare(raw.Name))
            {
                return null;
            }
            var value = CheckIndex(raw.Value, new[] { "n", "k" });
            if (value is null)
            {
                return null;
            }
            indices.Add(new SizeSpec(raw.Name.Text, value));
            _tIndices[raw.Name.Text] = value;
        }
        GroupSpec? group = null;
        if (_groups.Count > 1)
        {
            Report(DiagnosticDescriptors.SyntaxError, _groups[1].Directive.Pos, $"'group' is declared twice (first on line {_groups[0].Directive.Pos.Line + 1})");
            return null;
        }
        if (_groups.Count == 1)
        {
            group = ValidateGroup(_groups[0], Declare);
            if (group is null)
            {
                return null;
            }
        }
        var arrays = ValidateTensorArrays(Declare);
        if (_diagnostics.Count > 0)
        {
            return null;
        }
        var lets = ValidateTensorFormula(Declare);
        if (lets is null || _diagnostics.Count > 0)
        {
            return null;
        }
        var warns = new List<WarnSpec>();
        var letTypes = lets.ToDictionary(l => l.Name, l => l.Value, StringComparer.Ordinal);
        foreach (var raw in _warns)
        {
            var condition = CheckValue(raw.Condition, letTypes);
            if (condition is null)
            {
                return null;
            }
            if (condition.IsFloat)
            {
                Report(DiagnosticDescriptors.FormulaType, raw.Condition.Pos, "a warning condition is an integer (non-zero = the checkpoint is damaged)");
                return null;
            }
            if (raw.Guard is not null)
            {
                var (param, value) = ResolveGuard(raw.Guard);
                if (param is null)
                {
                    return null;
                }
                condition = new Select(param.Name, value, condition, new IntLiteral(0) { Period = TensorFormatSpec.TensorPeriod })
                {
                    IsFloat = false,
                    Period = condition.Period,
                };
            }
            warns.Add(new WarnSpec(condition, raw.Message.Text, raw.Directive.Pos.Line));
        }

        return new TensorFormatSpec(
            _formatName.Value.Text,
            _path,
            parameters.ToEquatableArray(),
            sizes.ToEquatableArray(),
            indices.ToEquatableArray(),
            tensors.ToEquatableArray(),
            group,
            arrays.ToEquatableArray(),
            lets.ToEquatableArray(),
            warns.ToEquatableArray(),
            _header.ToEquatableArray());
    }

    // ---- parameters ---------------------------------------------------------------------------------------------

    private List<ParamSpec> ValidateParams(Func<Token, bool> declare)
    {
        var result = new List<ParamSpec>();
        foreach (var raw in _params)
        {
            if (!declare(raw.Name))
            {
                continue;
            }
            ParamSpec spec;
            if (raw.Values is not null)
            {
                bool allInts = raw.Values.All(v => v.Value.Kind == TokenKind.Integer);
                bool allNames = raw.Values.All(v => v.Value.Kind == TokenKind.Identifier && !v.Negative);
                if (!allInts && !allNames)
                {
                    Report(DiagnosticDescriptors.InvalidValue, raw.Values[0].Value.Pos, $"the values of parameter '{raw.Name.Text}' must be all integers or all names");
                    continue;
                }
                var seen = new HashSet<string>(StringComparer.Ordinal);
                bool ok = true;
                foreach (var (v, neg) in raw.Values)
                {
                    if (!seen.Add((neg ? "-" : "") + v.Text))
                    {
                        Report(DiagnosticDescriptors.InvalidValue, v.Pos, $"parameter '{raw.Name.Text}' lists the value {v.Text} twice");
                        ok = false;
                        break;
                    }
                }
                if (!ok)
                {
                    continue;
                }
                spec = allInts
                    ? new ParamSpec(raw.Name.Text, ParamKind.IntSet, raw.Values.Select(v => v.Negative ? -ParseInteger(v.Value) : ParseInteger(v.Value)).ToEquatableArray(), EquatableArray<string>.Empty, 0, null, null)
                    : new ParamSpec(raw.Name.Text, ParamKind.Enum, EquatableArray<long>.Empty, raw.Values.Select(v => v.Value.Text).ToEquatableArray(), 0, null, null);
            }
            else
            {
                long min = raw.Min is null ? int.MinValue : (raw.MinNegative ? -ParseInteger(raw.Min.Value) : ParseInteger(raw.Min.Value));
                long? sentinel = null;
                ExprSpec? sentinelValue = null;
                if (raw.Sentinel is not null)
                {
                    string text = raw.Sentinel.Value.Text;
                    bool negative = text.StartsWith("-", StringComparison.Ordinal);
                    long value = ParseInteger(raw.Sentinel.Value with { Text = negative ? text.Substring(1) : text });
                    sentinel = negative ? -value : value;
                    if (sentinel >= min)
                    {
                        Report(DiagnosticDescriptors.InvalidValue, raw.Sentinel.Value.Pos, $"the special value {sentinel} of '{raw.Name.Text}' is also an ordinary value (>= {min})");
                        continue;
                    }
                    sentinelValue = CheckIndex(raw.SentinelValue!, Array.Empty<string>());
                    if (sentinelValue is null)
                    {
                        continue;
                    }
                }
                spec = new ParamSpec(raw.Name.Text, ParamKind.IntRange, EquatableArray<long>.Empty, EquatableArray<string>.Empty, min, sentinel, sentinelValue);
            }
            result.Add(spec);
            _tParams[spec.Name] = spec;
        }
        return result;
    }

    // ---- tensors ------------------------------------------------------------------------------------------------

    private List<TensorSpec> ValidateTensors(Func<Token, bool> declare)
    {
        var result = new List<TensorSpec>();
        var buffers = new HashSet<string>(StringComparer.Ordinal);
        foreach (var raw in _tensors)
        {
            if (!declare(raw.Name))
            {
                continue;
            }
            if (!ScalarKindExtensions.TryParse(raw.Type.Text, out var kind))
            {
                Report(DiagnosticDescriptors.InvalidType, raw.Type.Pos, raw.Type.Text, "tensor element types are u8, i8, u16le, i16le, u32le, i32le, f16, bf16, f32");
                continue;
            }
            if (raw.Shape.Count > 2)
            {
                Report(DiagnosticDescriptors.InvalidValue, raw.ShapePos, $"tensor '{raw.Name.Text}' has {raw.Shape.Count} dimensions; tensors have 1 or 2");
                continue;
            }
            var shape = new List<ExprSpec>();
            foreach (var d in raw.Shape)
            {
                var e = CheckIndex(d, Array.Empty<string>());
                if (e is null)
                {
                    break;
                }
                shape.Add(e);
            }
            if (shape.Count != raw.Shape.Count)
            {
                continue;
            }
            string buffer = raw.Name.Text;
            ExprSpec? offset = null;
            if (raw.Buffer is not null)
            {
                if (raw.Optional)
                {
                    Report(DiagnosticDescriptors.SyntaxError, raw.Buffer.Value.Pos, "an optional tensor is its own buffer; it cannot live 'in' another buffer");
                    continue;
                }
                if (_tensors.Exists(t => t.Name.Text == raw.Buffer.Value.Text))
                {
                    Report(DiagnosticDescriptors.DuplicateName, raw.Buffer.Value.Pos, raw.Buffer.Value.Text, (_tensors.First(t => t.Name.Text == raw.Buffer.Value.Text).Name.Pos.Line + 1).ToString());
                    continue;
                }
                buffer = raw.Buffer.Value.Text;
                offset = CheckIndex(raw.Offset!, Array.Empty<string>());
                if (offset is null)
                {
                    continue;
                }
            }
            buffers.Add(buffer);
            var spec = new TensorSpec(raw.Name.Text, kind, shape.ToEquatableArray(), raw.Optional, buffer, offset);
            result.Add(spec);
            _tTensors[spec.Name] = spec;
        }
        return result;
    }

    // ---- the group map ------------------------------------------------------------------------------------------

    private GroupSpec? ValidateGroup(RawGroup raw, Func<Token, bool> declare)
    {
        if (!declare(raw.Name))
        {
            return null;
        }
        string? tensorName = null;
        ExprSpec? primary;
        if (raw.Primary is RawExpr.Lookup lookup)
        {
            if (!_tTensors.TryGetValue(lookup.Codebook, out var tensor))
            {
                Report(DiagnosticDescriptors.UnknownName, lookup.Pos, "tensor", lookup.Codebook);
                return null;
            }
            if (tensor.Shape.Count != 1 || tensor.Type.IsFloat())
            {
                Report(DiagnosticDescriptors.InvalidType, lookup.Pos, tensor.Type.SpecName(), $"the group map '{tensor.Name}' must be a 1-D integer tensor");
                return null;
            }
            if (lookup.Index is not RawExpr.Name { Text: "k" })
            {
                Report(DiagnosticDescriptors.SyntaxError, lookup.Index.Pos, $"the group map is read as {tensor.Name}[k]");
                return null;
            }
            tensorName = tensor.Name;
            primary = new TensorLookup(tensor.Name, new TensorName("k", TensorNameKind.Var));
        }
        else
        {
            primary = CheckIndex(raw.Primary, new[] { "k" });
        }
        if (primary is null)
        {
            return null;
        }
        ExprSpec? fallback = null;
        if (raw.Fallback is not null)
        {
            if (tensorName is null || !_tTensors[tensorName].Optional)
            {
                Report(DiagnosticDescriptors.SyntaxError, raw.Fallback.Pos, "'else' gives the group when an optional group-map tensor is absent; this group has no optional tensor");
                return null;
            }
            fallback = CheckIndex(raw.Fallback, new[] { "k" });
            if (fallback is null)
            {
                return null;
            }
        }
        else if (tensorName is not null && _tTensors[tensorName].Optional)
        {
            Report(DiagnosticDescriptors.SyntaxError, raw.Primary.Pos, $"tensor '{tensorName}' is optional: add 'else EXPR' for the group when it is absent");
            return null;
        }
        var count = CheckIndex(raw.Count, Array.Empty<string>());
        if (count is null)
        {
            return null;
        }
        _tGroupVar = raw.Name.Text;
        return new GroupSpec(raw.Name.Text, tensorName, primary, fallback) { Count = count };
    }

    // ---- logical arrays and their placements --------------------------------------------------------------------

    private List<TensorArraySpec> ValidateTensorArrays(Func<Token, bool> declare)
    {
        var result = new List<TensorArraySpec>();
        foreach (var raw in _arrays)
        {
            if (!declare(raw.Name))
            {
                continue;
            }
            ArrayLevel level;
            if (raw.IsQuant)
            {
                level = ArrayLevel.Element;
            }
            else if (raw.Per is null)
            {
                Report(DiagnosticDescriptors.InvalidGroup, raw.Group!.Value.Pos, $"in a tensor-level spec a scale is 'per group' or 'per tensor', not per {raw.Group.Value.Text} elements");
                continue;
            }
            else
            {
                level = raw.Per.Value.Text == "group" ? ArrayLevel.Group : ArrayLevel.Tensor;
            }
            if (level == ArrayLevel.Group && _tGroupVar is null)
            {
                Report(DiagnosticDescriptors.MissingDirective, raw.Per!.Value.Pos, "group", $" ('{raw.Name.Text}' is per group: declare 'group g = EXPR, COUNT groups')");
                continue;
            }
            bool isFloat = false, signed = false;
            ScalarKind floatType = ScalarKind.F32;
            int bits = 0;
            string? bitsParam = null;
            if (raw.WidthParam is not null)
            {
                if (!_tParams.TryGetValue(raw.WidthParam.Value.Text, out var wp))
                {
                    Report(DiagnosticDescriptors.UnknownName, raw.WidthParam.Value.Pos, "parameter", raw.WidthParam.Value.Text);
                    continue;
                }
                if (wp.Kind != ParamKind.IntSet || wp.IntValues.Any(v => v < 1 || v > 32))
                {
                    Report(DiagnosticDescriptors.InvalidType, raw.WidthParam.Value.Pos, raw.Type.Text + "{" + wp.Name + "}", "a parameter width must be a parameter 'in {…}' whose values are 1..32");
                    continue;
                }
                bitsParam = wp.Name;
                signed = raw.Type.Text == "i";
            }
            else if (ScalarKindExtensions.TryParse(raw.Type.Text, out var fk) && fk.IsFloat())
            {
                if (raw.IsQuant)
                {
                    Report(DiagnosticDescriptors.InvalidType, raw.Type.Pos, raw.Type.Text, "a quant is an integer code (uN, iN or u{param})");
                    continue;
                }
                isFloat = true;
                floatType = fk;
            }
            else if (TryParsePackedType(raw.Type.Text, out signed, out bits))
            {
            }
            else
            {
                Report(DiagnosticDescriptors.InvalidType, raw.Type.Pos, raw.Type.Text, "a tensor-level quant or scale is uN, iN, u{param}, or (scales) f16, bf16, f32");
                continue;
            }
            if (raw.Runs.Count > 0)
            {
                Report(DiagnosticDescriptors.SyntaxError, raw.Name.Pos, "block runs ('e[..] = ...') are not used in tensor-level specs");
                continue;
            }
            if (raw.Placements.Count == 0)
            {
                Report(DiagnosticDescriptors.Coverage, raw.Name.Pos, $"'{raw.Name.Text}' has no placement; add an indented line such as '{raw.Name.Text}{(level == ArrayLevel.Element ? "[n, k]" : level == ArrayLevel.Group ? $"[n, {_tGroupVar}]" : "")} = TENSOR[...]'");
                continue;
            }
            if (raw.Placements.Count > 1)
            {
                Report(DiagnosticDescriptors.Coverage, raw.Placements[1].Name.Pos, $"'{raw.Name.Text}' is placed twice (also on line {raw.Placements[0].Name.Pos.Line + 1}); one placement line covers every value");
                continue;
            }
            var array = new TensorArraySpec(raw.Name.Text, level, isFloat, floatType, signed, bits, bitsParam, null!);
            var placement = ValidatePlacement(raw.Placements[0], array);
            if (placement is null)
            {
                continue;
            }
            array = array with { Placement = placement };
            result.Add(array);
            _tArrays[array.Name] = array;
        }
        return result;
    }

    private PlacementSpec? ValidatePlacement(RawPlacement raw, TensorArraySpec array)
    {
        if (raw.Name.Text != array.Name)
        {
            Report(DiagnosticDescriptors.SyntaxError, raw.Name.Pos, $"a placement line under '{array.Name}' starts with '{array.Name}', not '{raw.Name.Text}'");
            return null;
        }
        string[] vars = array.Level switch
        {
            ArrayLevel.Element => new[] { "n", "k" },
            ArrayLevel.Group => new[] { "n", _tGroupVar! },
            _ => Array.Empty<string>(),
        };
        if (!raw.Vars.Select(v => v.Text).SequenceEqual(vars))
        {
            Report(DiagnosticDescriptors.InvalidRun, raw.VarsPos, vars.Length == 0
                ? $"'{array.Name}' is one value per tensor: write '{array.Name} = TENSOR[...]'"
                : $"'{array.Name}' is indexed [{string.Join(", ", vars)}]: write '{array.Name}[{string.Join(", ", vars)}] = ...'");
            return null;
        }
        if (!_tTensors.TryGetValue(raw.Tensor.Text, out var tensor))
        {
            Report(DiagnosticDescriptors.UnknownName, raw.Tensor.Pos, "tensor", raw.Tensor.Text);
            return null;
        }
        if (tensor.Optional)
        {
            Report(DiagnosticDescriptors.InvalidRun, raw.Tensor.Pos, $"tensor '{tensor.Name}' is optional; only the group map may read an optional tensor");
            return null;
        }
        if (raw.Selectors.Count != tensor.Shape.Count)
        {
            Report(DiagnosticDescriptors.InvalidRun, raw.SelectorsPos, $"tensor '{tensor.Name}' has {tensor.Shape.Count} dimension(s) but {raw.Selectors.Count} index(es) are given");
            return null;
        }
        int streams = raw.Selectors.Count(s => s is null);
        if (streams > 1)
        {
            Report(DiagnosticDescriptors.InvalidRun, raw.SelectorsPos, "a bit stream runs along one dimension: at most one ':'");
            return null;
        }
        var selectors = new List<ExprSpec>();
        foreach (var sel in raw.Selectors)
        {
            if (sel is null)
            {
                selectors.Add(new StreamSelector());
                continue;
            }
            var e = CheckIndex(sel, vars);
            if (e is null)
            {
                return null;
            }
            selectors.Add(e);
        }
        int elementBits = tensor.Type.Size() * 8;
        if (array.IsFloat)
        {
            if (raw.SlotType is not null || streams > 0)
            {
                Report(DiagnosticDescriptors.InvalidRun, raw.SlotType?.Pos ?? raw.SelectorsPos, $"float scale '{array.Name}' reads whole {tensor.Type.SpecName()} elements: no ':' and no 'as'");
                return null;
            }
            if (tensor.Type != array.FloatType)
            {
                Report(DiagnosticDescriptors.InvalidType, raw.Tensor.Pos, tensor.Type.SpecName(), $"'{array.Name}' is {array.FloatType.SpecName()} but tensor '{tensor.Name}' holds {tensor.Type.SpecName()}");
                return null;
            }
            return new PlacementSpec(tensor.Name, selectors.ToEquatableArray(), 0, null, null, EquatableArray<int>.Empty, raw.Name.Pos.Line);
        }
        if (raw.SlotType is null)
        {
            Report(DiagnosticDescriptors.InvalidRun, raw.SelectorsPos, $"integer '{array.Name}' is a bit field: read it with 'as u{(array.BitsParam is null ? array.Bits.ToString() : "{" + array.BitsParam + "}")}[slot]'");
            return null;
        }
        if (tensor.Type.IsFloat())
        {
            Report(DiagnosticDescriptors.InvalidRun, raw.Tensor.Pos, $"tensor '{tensor.Name}' is {tensor.Type.SpecName()}; bit fields can only be read from integer tensors");
            return null;
        }
        int width = 0;
        string? widthParam = null;
        if (raw.SlotParam is not null)
        {
            widthParam = raw.SlotParam.Value.Text;
            if (!_tParams.ContainsKey(widthParam))
            {
                Report(DiagnosticDescriptors.UnknownName, raw.SlotParam.Value.Pos, "parameter", widthParam);
                return null;
            }
        }
        else if (!TryParsePackedType(raw.SlotType.Value.Text, out bool slotSigned, out width) || slotSigned)
        {
            Report(DiagnosticDescriptors.InvalidRun, raw.SlotType.Value.Pos, $"'{raw.SlotType.Value.Text}' is not a bit-slot type; write u1..u32 or u{{param}}");
            return null;
        }
        if (width != array.Bits || widthParam != array.BitsParam)
        {
            string read = widthParam is null ? $"u{width}" : $"u{{{widthParam}}}";
            string decl = array.BitsParam is null ? $"{(array.IsSigned ? "i" : "u")}{array.Bits}" : $"{(array.IsSigned ? "i" : "u")}{{{array.BitsParam}}}";
            Report(DiagnosticDescriptors.InvalidRun, raw.SlotType.Value.Pos, $"the placement reads {read} slots but '{array.Name}' is {decl}");
            return null;
        }
        long maxWidth = widthParam is null ? width : _tParams[widthParam].MaxIntValue;
        if (streams == 0 && maxWidth > elementBits)
        {
            Report(DiagnosticDescriptors.InvalidRun, raw.SlotType.Value.Pos, $"a {maxWidth}-bit slot does not fit in one {tensor.Type.SpecName()} element; use ':' to read a bit stream along a dimension");
            return null;
        }
        var slot = CheckIndex(raw.Slot!, vars);
        if (slot is null)
        {
            return null;
        }
        var interleave = new List<int>();
        if (raw.Interleave is not null)
        {
            int p = raw.Interleave.Count;
            var seen = new bool[p];
            foreach (var (value, pos) in raw.Interleave)
            {
                if (value < 0 || value >= p || seen[value])
                {
                    Report(DiagnosticDescriptors.InvalidRun, pos, $"interleave {{…}} must list each of 0..{p - 1} once (a permutation of the {p} slots of a run)");
                    return null;
                }
                seen[value] = true;
                interleave.Add((int)value);
            }
            if (p < 2)
            {
                Report(DiagnosticDescriptors.InvalidRun, raw.InterleavePos, "an interleave needs at least two slots");
                return null;
            }
        }
        return new PlacementSpec(tensor.Name, selectors.ToEquatableArray(), width, widthParam, slot, interleave.ToEquatableArray(), raw.Name.Pos.Line);
    }

    // ---- formula ------------------------------------------------------------------------------------------------

    private List<LetSpec>? ValidateTensorFormula(Func<Token, bool> declare)
    {
        if (_lets.Count == 0)
        {
            Report(DiagnosticDescriptors.InvalidFormula, _valuePos!.Value, "the value section is empty; it must end with 'y = ...'");
            return null;
        }
        var lets = new List<LetSpec>();
        var letTypes = new Dictionary<string, ExprSpec>(StringComparer.Ordinal);
        int i = 0;
        while (i < _lets.Count)
        {
            // Consecutive lines defining the same name with 'when' guards form one definition.
            int j = i + 1;
            while (j < _lets.Count && _lets[j].Name.Text == _lets[i].Name.Text && _lets[i].Guard is not null)
            {
                j++;
            }
            var raw = _lets[i];
            bool isLast = j == _lets.Count;
            if (raw.Name.Text == "y" && !isLast)
            {
                Report(DiagnosticDescriptors.InvalidFormula, raw.Name.Pos, "'y' must be the last line of the value section");
                return null;
            }
            if (!declare(raw.Name))
            {
                return null;
            }
            ExprSpec? value;
            if (raw.Guard is null)
            {
                value = CheckValue(raw.Expr, letTypes);
            }
            else
            {
                value = CheckGuarded(i, j, letTypes);
            }
            if (value is null)
            {
                return null;
            }
            letTypes[raw.Name.Text] = value;
            lets.Add(new LetSpec(raw.Name.Text, value, raw.Name.Pos.Line));
            i = j;
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
        return lets;
    }

    /// <summary>Lines <paramref name="from"/>..<paramref name="to"/>-1 define one name under 'when P == V' guards covering every value of P.</summary>
    private ExprSpec? CheckGuarded(int from, int to, Dictionary<string, ExprSpec> letTypes)
    {
        var branches = new List<(long Value, ExprSpec Expr, RawLet Raw)>();
        ParamSpec? param = null;
        for (int i = from; i < to; i++)
        {
            var raw = _lets[i];
            if (raw.Guard is null)
            {
                Report(DiagnosticDescriptors.InvalidFormula, raw.Name.Pos, $"'{raw.Name.Text}' is defined under 'when' guards above; every line defining it needs one");
                return null;
            }
            var (p, v) = ResolveGuard(raw.Guard);
            if (p is null)
            {
                return null;
            }
            if (param is not null && p.Name != param.Name)
            {
                Report(DiagnosticDescriptors.InvalidFormula, raw.Guard.Param.Pos, $"the guards of '{raw.Name.Text}' must all test the same parameter ('{param.Name}')");
                return null;
            }
            param = p;
            if (branches.Any(b => b.Value == v))
            {
                Report(DiagnosticDescriptors.InvalidFormula, raw.Guard.Value.Pos, $"'{raw.Name.Text}' is defined twice for {p.Name} == {raw.Guard.Value.Text}");
                return null;
            }
            var e = CheckValue(raw.Expr, letTypes);
            if (e is null)
            {
                return null;
            }
            if (branches.Count > 0 && branches[0].Expr.IsFloat != e.IsFloat)
            {
                Report(DiagnosticDescriptors.FormulaType, raw.Expr.Pos, $"the definitions of '{raw.Name.Text}' mix integer and float");
                return null;
            }
            branches.Add((v, e, raw));
        }
        int needed = param!.Kind == ParamKind.Enum ? param.EnumValues.Count : param.IntValues.Count;
        if (param.Kind == ParamKind.IntRange || branches.Count != needed)
        {
            var missing = param.Kind == ParamKind.Enum
                ? string.Join(", ", param.EnumValues.Where((_, ix) => !branches.Any(b => b.Value == ix)))
                : param.Kind == ParamKind.IntSet ? string.Join(", ", param.IntValues.Where(v => !branches.Any(b => b.Value == v))) : "other values";
            Report(DiagnosticDescriptors.InvalidFormula, _lets[from].Name.Pos, $"'{_lets[from].Name.Text}' is not defined when {param.Name} is {missing}");
            return null;
        }
        ExprSpec result = branches[branches.Count - 1].Expr;
        for (int b = branches.Count - 2; b >= 0; b--)
        {
            result = new Select(param.Name, branches[b].Value, branches[b].Expr, result)
            {
                IsFloat = result.IsFloat,
                Period = Gcd(branches[b].Expr.Period, result.Period),
            };
        }
        return result;
    }

    private (ParamSpec? Param, long Value) ResolveGuard(RawGuard guard)
    {
        if (!_tParams.TryGetValue(guard.Param.Text, out var param))
        {
            Report(DiagnosticDescriptors.UnknownName, guard.Param.Pos, "parameter", guard.Param.Text);
            return (null, 0);
        }
        if (param.Kind == ParamKind.Enum)
        {
            int ordinal = guard.Value.Kind == TokenKind.Identifier && !guard.Negative ? param.EnumValues.AsArray().ToList().IndexOf(guard.Value.Text) : -1;
            if (ordinal < 0)
            {
                Report(DiagnosticDescriptors.UnknownName, guard.Value.Pos, $"value of parameter '{param.Name}' ({string.Join(", ", param.EnumValues)})", guard.Value.Text);
                return (null, 0);
            }
            return (param, ordinal);
        }
        if (param.Kind == ParamKind.IntSet && guard.Value.Kind == TokenKind.Integer)
        {
            long v = ParseInteger(guard.Value) * (guard.Negative ? -1 : 1);
            if (!param.IntValues.Contains(v))
            {
                Report(DiagnosticDescriptors.InvalidValue, guard.Value.Pos, $"{v} is not a value of parameter '{param.Name}'");
                return (null, 0);
            }
            return (param, v);
        }
        Report(DiagnosticDescriptors.InvalidFormula, guard.Param.Pos, $"'when' tests a parameter declared 'in {{…}}'; '{param.Name}' is not");
        return (null, 0);
    }

    /// <summary>An integer index/size expression over parameters, N, K, sizes and the given index variables.</summary>
    private ExprSpec? CheckIndex(RawExpr raw, string[] vars)
    {
        switch (raw)
        {
            case RawExpr.Int i:
                return new IntLiteral(i.Value) { Period = TensorFormatSpec.TensorPeriod };
            case RawExpr.Flt f:
                Report(DiagnosticDescriptors.FormulaType, f.Pos, "sizes and indices are integers");
                return null;
            case RawExpr.Name n:
            {
                if (Array.IndexOf(vars, n.Text) >= 0)
                {
                    return new TensorName(n.Text, TensorNameKind.Var) { Period = TensorFormatSpec.ElementPeriod };
                }
                if (Array.IndexOf(s_dims, n.Text) >= 0)
                {
                    return new TensorName(n.Text, TensorNameKind.Dim) { Period = TensorFormatSpec.TensorPeriod };
                }
                if (_tParams.TryGetValue(n.Text, out var p))
                {
                    if (p.Kind == ParamKind.Enum)
                    {
                        Report(DiagnosticDescriptors.FormulaType, n.Pos, $"parameter '{n.Text}' is a choice of names, not a number; test it with 'when {n.Text} == VALUE'");
                        return null;
                    }
                    return new TensorName(n.Text, TensorNameKind.Param) { Period = TensorFormatSpec.TensorPeriod };
                }
                if (_tSizes.Contains(n.Text))
                {
                    return new TensorName(n.Text, TensorNameKind.Size) { Period = TensorFormatSpec.TensorPeriod };
                }
                if (_tIndices.ContainsKey(n.Text) && Array.IndexOf(vars, "k") >= 0)
                {
                    return new TensorName(n.Text, TensorNameKind.Index) { Period = TensorFormatSpec.ElementPeriod };
                }
                Report(DiagnosticDescriptors.UnknownName, n.Pos, vars.Length == 0 ? "name (sizes may use parameters, N, K and earlier sizes)" : $"name (usable here: {string.Join(", ", vars)}, parameters, N, K, sizes{(Array.IndexOf(vars, "k") >= 0 ? ", indices" : "")})", n.Text);
                return null;
            }
            case RawExpr.Neg ng:
            {
                var operand = CheckIndex(ng.Operand, vars);
                return operand is null ? null : new Negate(operand) { Period = operand.Period };
            }
            case RawExpr.Bin b:
            {
                var left = CheckIndex(b.Left, vars);
                var right = CheckIndex(b.Right, vars);
                if (left is null || right is null)
                {
                    return null;
                }
                return new Binary(b.Op, left, right) { Period = Gcd(left.Period, right.Period) };
            }
            case RawExpr.Conv c:
                Report(DiagnosticDescriptors.FormulaType, c.Pos, "sizes and indices are integers; f32(...) belongs to the value formula");
                return null;
            case RawExpr.Lookup l:
                Report(DiagnosticDescriptors.SyntaxError, l.Pos, $"'{l.Codebook}[...]' cannot be read here; only 'group' reads a tensor directly");
                return null;
            default:
                return null;
        }
    }

    /// <summary>A value-formula node over the logical arrays, earlier lets, parameters, N, K and sizes.</summary>
    private ExprSpec? CheckValue(RawExpr raw, Dictionary<string, ExprSpec> lets)
    {
        const int T = TensorFormatSpec.TensorPeriod;
        switch (raw)
        {
            case RawExpr.Int i:
                return new IntLiteral(i.Value) { Period = T };
            case RawExpr.Flt f:
                return new FloatLiteral(f.Value) { IsFloat = true, Period = T };
            case RawExpr.Name n:
            {
                if (_tArrays.TryGetValue(n.Text, out var array))
                {
                    return new NameRef(n.Text, NameKind.Packed) { IsFloat = array.IsFloat, Period = array.Period };
                }
                if (lets.TryGetValue(n.Text, out var let))
                {
                    return new NameRef(n.Text, NameKind.Let) { IsFloat = let.IsFloat, Period = let.Period };
                }
                if (Array.IndexOf(s_dims, n.Text) >= 0 || _tParams.ContainsKey(n.Text) || _tSizes.Contains(n.Text))
                {
                    return CheckIndex(raw, Array.Empty<string>());
                }
                if (n.Text is "n" or "k" || n.Text == _tGroupVar || _tIndices.ContainsKey(n.Text) || _tTensors.ContainsKey(n.Text))
                {
                    Report(DiagnosticDescriptors.FormulaType, n.Pos, $"'{n.Text}' is a position, not a value; the formula reads quants and scales (their placements say where)");
                    return null;
                }
                Report(DiagnosticDescriptors.UnknownName, n.Pos, "name", n.Text);
                return null;
            }
            case RawExpr.Lookup l:
                Report(DiagnosticDescriptors.FormulaType, l.Pos, $"'{l.Codebook}[...]': the formula reads quants and scales by name; their placements say where they are stored");
                return null;
            case RawExpr.Conv c:
            {
                var operand = CheckValue(c.Operand, lets);
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
                var operand = CheckValue(ng.Operand, lets);
                return operand is null ? null : new Negate(operand) { IsFloat = operand.IsFloat, Period = operand.Period };
            }
            case RawExpr.Bin b:
            {
                var left = CheckValue(b.Left, lets);
                var right = CheckValue(b.Right, lets);
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
                if (left.IsFloat && b.Op is "|" or "&" or "<<" or ">>" or "%")
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
}
