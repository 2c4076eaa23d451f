using System;
using System.Collections.Generic;
using System.Globalization;
using System.Threading;
using KernelGen.Generators.Diagnostics;
using KernelGen.Generators.Helpers;
using KernelGen.Generators.Model;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;

namespace KernelGen.Generators.Parser;

/// <summary>The outcome of parsing one spec file: the model (null when any error was found) and its diagnostics.</summary>
internal sealed record ParseResult(FormatSpec? Spec, EquatableArray<DiagnosticInfo> Diagnostics)
{
    /// <summary>The model of a tensor-level spec (<c>layout linear</c>); null for block specs and specs with errors.</summary>
    public TensorFormatSpec? Tensor { get; init; }

    /// <summary>The format name of whichever model was produced.</summary>
    public string? Name => Spec?.Name ?? Tensor?.Name;
}

/// <summary>
/// Parses a <c>.kgspec</c> file into a <see cref="FormatSpec"/>. Pass 1 reads the lines into raw declarations (with
/// source positions); pass 2 (<c>SpecParser.Validation.cs</c>) resolves names, checks the layout and the formula,
/// and builds the model. Every mistake becomes a KG1xxx diagnostic at its file/line/column; nothing throws out.
/// </summary>
internal sealed partial class SpecParser
{
    private readonly string _path;
    private readonly List<DiagnosticInfo> _diagnostics = new();

    // ---- pass-1 state -------------------------------------------------------------------------------------------
    private Token? _formatName;
    private Token? _ggmlType;
    private Token? _blockElements;
    private Token? _blockBytes;
    private Token? _activation;
    private SourcePos? _valuePos;
    private readonly List<RawField> _fields = new();
    private readonly List<RawArray> _arrays = new();
    private readonly List<RawCodebook> _codebooks = new();
    private readonly List<RawLet> _lets = new();
    private readonly List<string> _header = new();

    // tensor-level (layout linear) declarations
    private Token? _layout;
    private readonly List<RawParam> _params = new();
    private readonly List<RawNamed> _sizes = new();
    private readonly List<RawNamed> _indices = new();
    private readonly List<RawTensor> _tensors = new();
    private readonly List<RawGroup> _groups = new();
    private readonly List<RawWarn> _warns = new();

    private SpecParser(string path) => _path = path;

    public static ParseResult Parse(string path, string text, CancellationToken cancellationToken)
    {
        var parser = new SpecParser(path);
        parser.ReadLines(text, cancellationToken);
        FormatSpec? spec = null;
        TensorFormatSpec? tensor = null;
        if (parser._diagnostics.Count == 0)
        {
            if (parser._layout is not null)
            {
                tensor = parser.ValidateTensorFormat();
            }
            else
            {
                spec = parser.Validate();
            }
        }
        bool ok = parser._diagnostics.Count == 0;
        return new ParseResult(ok ? spec : null, parser._diagnostics.ToEquatableArray()) { Tensor = ok ? tensor : null };
    }

    // ---- diagnostics --------------------------------------------------------------------------------------------

    private void Report(DiagnosticDescriptor descriptor, SourcePos pos, params string[] args)
    {
        var lineSpan = new LinePositionSpan(new LinePosition(pos.Line, pos.Column), new LinePosition(pos.Line, pos.Column + pos.Length));
        _diagnostics.Add(DiagnosticInfo.Create(descriptor, _path, new TextSpan(pos.Start, pos.Length), lineSpan, args));
    }

    /// <summary>Thrown inside pass 1 to abandon the rest of a malformed line; always caught and reported.</summary>
    private sealed class SyntaxException : Exception
    {
        public SyntaxException(string message, SourcePos pos)
            : base(message) => Pos = pos;

        public SourcePos Pos { get; }
    }

    // ---- pass 1: lines ------------------------------------------------------------------------------------------

    private enum Section
    {
        None,
        Array,
        Value,
    }

    private void ReadLines(string text, CancellationToken cancellationToken)
    {
        Section section = Section.None;
        RawArray? currentArray = null;
        List<Token>? pendingCodebook = null;
        bool seenDirective = false;
        int offset = 0;
        int lineNo = 0;
        while (offset <= text.Length)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int nl = text.IndexOf('\n', offset);
            int end = nl < 0 ? text.Length : nl;
            string line = text.Substring(offset, end - offset);
            int lineStart = offset;
            offset = end + 1;
            int thisLine = lineNo++;

            int hash = line.IndexOf('#');
            string code = hash >= 0 ? line.Substring(0, hash) : line;
            if (code.Trim().Length == 0)
            {
                if (!seenDirective && hash >= 0)
                {
                    _header.Add(line.Substring(hash + 1).TrimEnd('\r'));
                }
                if (nl < 0)
                {
                    break;
                }
                continue;
            }
            seenDirective = true;
            bool indented = code[0] == ' ' || code[0] == '\t';

            var tokens = SpecLexer.Tokenize(code, thisLine, lineStart, out string? lexError, out SourcePos lexPos);
            if (lexError is not null)
            {
                Report(DiagnosticDescriptors.SyntaxError, lexPos, lexError);
                if (nl < 0)
                {
                    break;
                }
                continue;
            }

            try
            {
                if (pendingCodebook is not null)
                {
                    // A codebook's { ... } list may continue over several lines.
                    pendingCodebook.AddRange(tokens.GetRange(0, tokens.Count - 1));
                    if (tokens.Exists(t => t.Is("}")))
                    {
                        pendingCodebook.Add(tokens[tokens.Count - 1]);
                        var all = pendingCodebook;
                        pendingCodebook = null;
                        ParseCodebook(new Cursor(all));
                    }
                }
                else if (indented)
                {
                    var cursor = new Cursor(tokens);
                    switch (section)
                    {
                        case Section.Array:
                            if (_layout is not null)
                            {
                                currentArray!.Placements.Add(ParsePlacement(cursor));
                            }
                            else
                            {
                                currentArray!.Runs.Add(ParseRun(cursor, currentArray));
                            }
                            break;
                        case Section.Value:
                            _lets.Add(ParseLet(cursor));
                            break;
                        default:
                            throw new SyntaxException("an indented line must follow a 'quant', 'scale' or 'value' line", tokens[0].Pos);
                    }
                }
                else
                {
                    section = Section.None;
                    currentArray = null;
                    var cursor = new Cursor(tokens);
                    Token directive = cursor.Peek;
                    if (directive.Kind != TokenKind.Identifier)
                    {
                        throw new SyntaxException($"expected a directive but found {directive.Describe()}", directive.Pos);
                    }
                    switch (directive.Text)
                    {
                        case "format":
                            cursor.Next();
                            _formatName = SetOnce(_formatName, cursor.ExpectIdentifier("a format name"), directive);
                            cursor.ExpectEnd();
                            break;
                        case "ggml_type":
                            cursor.Next();
                            _ggmlType = SetOnce(_ggmlType, cursor.ExpectInteger("a ggml type id"), directive);
                            cursor.ExpectEnd();
                            break;
                        case "block":
                            cursor.Next();
                            _blockElements = SetOnce(_blockElements, cursor.ExpectInteger("the number of elements per block"), directive);
                            cursor.ExpectWord("elements");
                            cursor.Accept(",");
                            _blockBytes = cursor.ExpectInteger("the number of bytes per block");
                            cursor.ExpectWord("bytes");
                            cursor.ExpectEnd();
                            break;
                        case "activation":
                            cursor.Next();
                            _activation = SetOnce(_activation, cursor.ExpectIdentifier("an activation format (Q8_0, Q8_1, Q8_K, F32, F16, BF16 or none)"), directive);
                            cursor.ExpectEnd();
                            break;
                        case "field":
                            cursor.Next();
                            _fields.Add(ParseField(cursor));
                            break;
                        case "codebook":
                            if (tokens.Exists(t => t.Is("}")))
                            {
                                cursor.Next();
                                ParseCodebook(cursor);
                            }
                            else
                            {
                                pendingCodebook = tokens.GetRange(1, tokens.Count - 2);
                            }
                            break;
                        case "quant":
                        case "scale":
                            cursor.Next();
                            currentArray = ParseArrayHeader(cursor, directive);
                            _arrays.Add(currentArray);
                            section = Section.Array;
                            break;
                        case "value":
                            cursor.Next();
                            cursor.ExpectEnd();
                            if (_valuePos is not null)
                            {
                                throw new SyntaxException("the 'value' section is declared twice", directive.Pos);
                            }
                            _valuePos = directive.Pos;
                            section = Section.Value;
                            break;
                        case "layout":
                            cursor.Next();
                            _layout = SetOnce(_layout, cursor.ExpectIdentifier("a layout kind ('linear')"), directive);
                            if (_layout.Value.Text != "linear")
                            {
                                throw new SyntaxException($"unknown layout '{_layout.Value.Text}'; the tensor-level layout is 'linear' (an nn.Linear weight W[n, k])", _layout.Value.Pos);
                            }
                            cursor.ExpectEnd();
                            break;
                        case "param":
                            cursor.Next();
                            _params.Add(ParseParam(cursor, directive));
                            break;
                        case "size":
                        case "index":
                        {
                            cursor.Next();
                            Token sname = cursor.ExpectIdentifier($"a {directive.Text} name");
                            cursor.Expect("=");
                            var sexpr = ParseExpr(cursor);
                            cursor.ExpectEnd();
                            (directive.Text == "size" ? _sizes : _indices).Add(new RawNamed(directive, sname, sexpr));
                            break;
                        }
                        case "tensor":
                            cursor.Next();
                            _tensors.Add(ParseTensor(cursor, directive));
                            break;
                        case "group":
                        {
                            cursor.Next();
                            Token gname = cursor.ExpectIdentifier("the group variable's name");
                            cursor.Expect("=");
                            var primary = ParseExpr(cursor);
                            RawExpr? fallback = null;
                            if (cursor.Peek.Is("else"))
                            {
                                cursor.Next();
                                fallback = ParseExpr(cursor);
                            }
                            cursor.Expect(",");
                            var count = ParseExpr(cursor);
                            cursor.ExpectWord("groups");
                            cursor.ExpectEnd();
                            _groups.Add(new RawGroup(directive, gname, primary, fallback, count));
                            break;
                        }
                        case "warn":
                        {
                            cursor.Next();
                            var condition = ParseExpr(cursor);
                            var guard = ParseGuard(cursor);
                            if (cursor.Peek.Kind != TokenKind.String)
                            {
                                throw new SyntaxException($"expected the warning message as a \"string\" but found {cursor.Peek.Describe()}", cursor.Peek.Pos);
                            }
                            Token message = cursor.Next();
                            cursor.ExpectEnd();
                            _warns.Add(new RawWarn(directive, condition, guard, message));
                            break;
                        }
                        default:
                            Report(DiagnosticDescriptors.UnknownDirective, directive.Pos, directive.Text);
                            break;
                    }
                }
            }
            catch (SyntaxException ex)
            {
                Report(DiagnosticDescriptors.SyntaxError, ex.Pos, ex.Message);
            }
            if (nl < 0)
            {
                break;
            }
        }
        if (pendingCodebook is not null && pendingCodebook.Count > 0)
        {
            Report(DiagnosticDescriptors.SyntaxError, pendingCodebook[pendingCodebook.Count - 1].Pos, "the codebook's value list is not closed with '}'");
        }
    }

    private Token SetOnce(Token? existing, Token value, Token directive)
    {
        if (existing is not null)
        {
            throw new SyntaxException($"'{directive.Text}' is declared twice (first on line {existing.Value.Pos.Line + 1})", directive.Pos);
        }
        return value;
    }

    // field NAME TYPE[COUNT] @OFFSET
    private RawField ParseField(Cursor cursor)
    {
        Token name = cursor.ExpectIdentifier("a field name");
        Token type = cursor.ExpectIdentifier("a field type (f16, bf16, f32, u8, i8, u16le, i16le, u32le, i32le)");
        Token? count = null;
        if (cursor.Accept("["))
        {
            count = cursor.ExpectInteger("the array length");
            cursor.Expect("]");
        }
        cursor.Expect("@");
        Token offset = cursor.ExpectInteger("the field's byte offset");
        cursor.ExpectEnd();
        return new RawField(name, type, count, offset);
    }

    // codebook NAME : TYPE[N] = { v, v, ... }
    private void ParseCodebook(Cursor cursor)
    {
        Token name = cursor.ExpectIdentifier("a codebook name");
        cursor.Expect(":");
        Token type = cursor.ExpectIdentifier("the codebook's element type");
        cursor.Expect("[");
        Token count = cursor.ExpectInteger("the number of codebook entries");
        cursor.Expect("]");
        cursor.Expect("=");
        cursor.Expect("{");
        var values = new List<(long Value, SourcePos Pos)>();
        while (true)
        {
            bool negative = cursor.Accept("-");
            Token v = cursor.ExpectInteger("a codebook value");
            long value = ParseInteger(v);
            values.Add((negative ? -value : value, v.Pos));
            if (cursor.Accept("}"))
            {
                break;
            }
            cursor.Expect(",");
        }
        cursor.ExpectEnd();
        _codebooks.Add(new RawCodebook(name, type, count, values));
    }

    // quant NAME : uN            |  scale NAME : uN per G
    private RawArray ParseArrayHeader(Cursor cursor, Token directive)
    {
        Token name = cursor.ExpectIdentifier($"a {directive.Text} name");
        cursor.Expect(":");
        Token type = cursor.ExpectIdentifier("a packed type such as u4, u6 or i8");
        Token? widthParam = null;
        if ((type.Text == "u" || type.Text == "i") && cursor.Peek.Is("{"))
        {
            cursor.Next();
            widthParam = cursor.ExpectIdentifier("the parameter that gives the width, as in u{bits}");
            cursor.Expect("}");
        }
        Token? group = null;
        Token? per = null;
        if (directive.Text == "scale")
        {
            cursor.ExpectWord("per");
            if (cursor.Peek.Is("group") || cursor.Peek.Is("tensor"))
            {
                per = cursor.Next();
            }
            else
            {
                group = cursor.ExpectInteger("the number of elements each scale covers ('group' or 'tensor' in a tensor-level spec)");
                cursor.Accept("elements");
            }
        }
        else if (cursor.Peek.Is("per"))
        {
            throw new SyntaxException("a 'quant' has one value per element; use 'scale NAME : TYPE per N' for per-group values", cursor.Peek.Pos);
        }
        cursor.ExpectEnd();
        return new RawArray(directive.Text == "quant", name, type, group) { WidthParam = widthParam, Per = per };
    }

    // e[a..b] = piece | piece << s ...
    private RawRun ParseRun(Cursor cursor, RawArray array)
    {
        Token index = cursor.ExpectIdentifier(array.IsQuant ? "'e' (element index)" : "'g' (group index)");
        string expected = array.IsQuant ? "e" : "g";
        if (index.Text != expected)
        {
            throw new SyntaxException(array.IsQuant
                ? $"quant runs are written 'e[first..last] = ...' (element indices), found '{index.Text}'"
                : $"scale runs are written 'g[first..last] = ...' (group indices), found '{index.Text}'", index.Pos);
        }
        var (first, last, rangePos) = ParseRange(cursor);
        cursor.Expect("=");
        var pieces = new List<RawPiece> { ParsePiece(cursor) };
        while (cursor.Accept("|"))
        {
            pieces.Add(ParsePiece(cursor));
        }
        cursor.ExpectEnd();
        return new RawRun(first, last, rangePos, pieces, index.Pos.Line);
    }

    private (int First, int Last, SourcePos Pos) ParseRange(Cursor cursor)
    {
        Token open = cursor.Expect("[");
        Token a = cursor.ExpectInteger("a range start");
        int first = (int)ParseInteger(a);
        int last = first;
        if (cursor.Accept(".."))
        {
            last = (int)ParseInteger(cursor.ExpectInteger("a range end"));
        }
        Token close = cursor.Expect("]");
        if (last < first)
        {
            throw new SyntaxException($"range [{first}..{last}] is empty (ranges are inclusive: first..last)", a.Pos);
        }
        return (first, last, Span(open.Pos, close.Pos));
    }

    private RawPiece ParsePiece(Cursor cursor)
    {
        Token field = cursor.ExpectIdentifier("a field name");
        RawPiece piece;
        if (cursor.Peek.Is("as"))
        {
            cursor.Next();
            Token type = cursor.ExpectIdentifier("a slot type such as u1, u2 or u4");
            if (!TryParsePackedType(type.Text, out bool signed, out int bits) || signed)
            {
                throw new SyntaxException($"'{type.Text}' is not a bit-slot type; write u1..u32", type.Pos);
            }
            var (first, last, pos) = ParseRange(cursor);
            piece = new RawPiece(field, PieceKind.Stream, first, last, pos, 0, bits, 0, field.Pos);
        }
        else
        {
            var (first, last, pos) = ParseRange(cursor);
            if (cursor.Peek.Is("bits"))
            {
                Token kw = cursor.Next();
                int lo = (int)ParseInteger(cursor.ExpectInteger("the lowest bit"));
                cursor.Expect("..");
                int hi = (int)ParseInteger(cursor.ExpectInteger("the highest bit"));
                if (hi < lo)
                {
                    throw new SyntaxException($"bits {lo}..{hi}: the highest bit comes second (bits lo..hi)", kw.Pos);
                }
                piece = new RawPiece(field, PieceKind.Bits, first, last, pos, lo, hi - lo + 1, 0, kw.Pos);
            }
            else if (cursor.Peek.Is("bit"))
            {
                Token kw = cursor.Next();
                int b = (int)ParseInteger(cursor.ExpectInteger("a bit index"));
                piece = new RawPiece(field, PieceKind.Bits, first, last, pos, b, 1, 0, kw.Pos);
            }
            else if (cursor.Peek.Is("trit"))
            {
                Token kw = cursor.Next();
                int digit = (int)ParseInteger(cursor.ExpectInteger("a base-3 digit index (0..4)"));
                piece = new RawPiece(field, PieceKind.Trit, first, last, pos, 0, 2, digit, kw.Pos);
            }
            else
            {
                piece = new RawPiece(field, PieceKind.Bits, first, last, pos, 0, 8, 0, field.Pos);
            }
        }
        if (cursor.Accept("<<"))
        {
            Token s = cursor.ExpectInteger("a shift count");
            piece = piece with { DestShift = (int)ParseInteger(s) };
        }
        return piece;
    }

    // NAME = expr
    private RawLet ParseLet(Cursor cursor)
    {
        Token name = cursor.ExpectIdentifier("a value name");
        cursor.Expect("=");
        RawExpr expr = ParseExpr(cursor);
        var guard = ParseGuard(cursor);
        cursor.ExpectEnd();
        return new RawLet(name, expr) { Guard = guard };
    }

    // ---- expressions (C precedence: * > + - > << >> > & > |) ----------------------------------------------------

    private RawExpr ParseExpr(Cursor c) => ParseBinary(c, 0);

    private static readonly string[][] s_levels =
    {
        new[] { "|" },
        new[] { "&" },
        new[] { "<<", ">>" },
        new[] { "+", "-" },
        new[] { "*", "/", "%" },
    };

    private RawExpr ParseBinary(Cursor c, int level)
    {
        if (level == s_levels.Length)
        {
            return ParseUnary(c);
        }
        RawExpr left = ParseBinary(c, level + 1);
        while (c.Peek.Kind == TokenKind.Punct && Array.IndexOf(s_levels[level], c.Peek.Text) >= 0)
        {
            Token op = c.Next();
            RawExpr right = ParseBinary(c, level + 1);
            left = new RawExpr.Bin(op.Text, left, right, op.Pos);
        }
        return left;
    }

    private RawExpr ParseUnary(Cursor c)
    {
        if (c.Peek.Is("-"))
        {
            Token op = c.Next();
            if (c.Peek.Kind is TokenKind.Integer or TokenKind.Float)
            {
                RawExpr lit = ParsePrimary(c);
                return lit switch
                {
                    RawExpr.Int i => i with { Value = -i.Value },
                    RawExpr.Flt f => f with { Value = -f.Value },
                    _ => lit,
                };
            }
            return new RawExpr.Neg(ParseUnary(c), op.Pos);
        }
        return ParsePrimary(c);
    }

    private RawExpr ParsePrimary(Cursor c)
    {
        Token t = c.Next();
        switch (t.Kind)
        {
            case TokenKind.Integer:
                return new RawExpr.Int(ParseInteger(t), t.Pos);
            case TokenKind.Float:
                string text = t.Text.TrimEnd('f', 'F');
                if (!float.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out float f))
                {
                    throw new SyntaxException($"malformed float literal '{t.Text}'", t.Pos);
                }
                return new RawExpr.Flt(f, t.Pos);
            case TokenKind.Identifier:
                if (t.Text == "f32" && c.Peek.Is("("))
                {
                    c.Next();
                    RawExpr inner = ParseExpr(c);
                    c.Expect(")");
                    return new RawExpr.Conv(inner, t.Pos);
                }
                if (c.Peek.Is("("))
                {
                    throw new SyntaxException($"unknown function '{t.Text}'; the only conversion is f32(int expression)", t.Pos);
                }
                if (c.Peek.Is("["))
                {
                    c.Next();
                    RawExpr index = ParseExpr(c);
                    c.Expect("]");
                    return new RawExpr.Lookup(t.Text, index, t.Pos);
                }
                return new RawExpr.Name(t.Text, t.Pos);
            default:
                if (t.Is("("))
                {
                    RawExpr inner = ParseExpr(c);
                    c.Expect(")");
                    return inner;
                }
                throw new SyntaxException($"expected a value (number, name, f32(...) or '(') but found {t.Describe()}", t.Pos);
        }
    }

    // ---- helpers ------------------------------------------------------------------------------------------------

    private static SourcePos Span(SourcePos from, SourcePos to) =>
        new(from.Line, from.Column, from.Start, to.Start + to.Length - from.Start);

    private static long ParseInteger(Token t)
    {
        if (t.Text.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            if (long.TryParse(t.Text.Substring(2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out long hex) && hex <= int.MaxValue)
            {
                return hex;
            }
        }
        else if (long.TryParse(t.Text, NumberStyles.None, CultureInfo.InvariantCulture, out long dec) && dec <= int.MaxValue)
        {
            return dec;
        }
        throw new SyntaxException($"number {t.Text} is too large", t.Pos);
    }

    internal static bool TryParsePackedType(string text, out bool signed, out int bits)
    {
        signed = false;
        bits = 0;
        if (text.Length < 2 || (text[0] != 'u' && text[0] != 'i'))
        {
            return false;
        }
        if (!int.TryParse(text.Substring(1), NumberStyles.None, CultureInfo.InvariantCulture, out bits) || bits < 1 || bits > 32)
        {
            return false;
        }
        signed = text[0] == 'i';
        return !(signed && bits < 2);
    }

    /// <summary>A cursor over one line's tokens; mismatches throw <see cref="SyntaxException"/> with a clear message.</summary>
    private sealed class Cursor
    {
        private readonly List<Token> _tokens;
        private int _index;

        public Cursor(List<Token> tokens) => _tokens = tokens;

        public Token Peek => _tokens[Math.Min(_index, _tokens.Count - 1)];

        public Token Next()
        {
            Token t = Peek;
            if (_index < _tokens.Count - 1)
            {
                _index++;
            }
            return t;
        }

        public bool Accept(string text)
        {
            if (Peek.Is(text))
            {
                _index++;
                return true;
            }
            return false;
        }

        public Token Expect(string punct)
        {
            if (!Peek.Is(punct))
            {
                throw new SyntaxException($"expected '{punct}' but found {Peek.Describe()}", Peek.Pos);
            }
            return Next();
        }

        public void ExpectWord(string word)
        {
            if (!Peek.Is(word))
            {
                throw new SyntaxException($"expected '{word}' but found {Peek.Describe()}", Peek.Pos);
            }
            Next();
        }

        public Token ExpectIdentifier(string what)
        {
            if (Peek.Kind != TokenKind.Identifier)
            {
                throw new SyntaxException($"expected {what} but found {Peek.Describe()}", Peek.Pos);
            }
            return Next();
        }

        public Token ExpectInteger(string what)
        {
            if (Peek.Kind != TokenKind.Integer)
            {
                throw new SyntaxException($"expected {what} but found {Peek.Describe()}", Peek.Pos);
            }
            return Next();
        }

        public void ExpectEnd()
        {
            if (Peek.Kind != TokenKind.End)
            {
                throw new SyntaxException($"unexpected {Peek.Describe()} at the end of the line", Peek.Pos);
            }
        }
    }

    // ---- raw (pass-1) declarations ------------------------------------------------------------------------------

    private sealed record RawField(Token Name, Token Type, Token? Count, Token Offset);

    private sealed record RawCodebook(Token Name, Token Type, Token Count, List<(long Value, SourcePos Pos)> Values);

    private sealed record RawArray(bool IsQuant, Token Name, Token Type, Token? Group)
    {
        public List<RawRun> Runs { get; } = new();

        public List<RawPlacement> Placements { get; } = new();

        public Token? WidthParam { get; init; }

        public Token? Per { get; init; }
    }

    private sealed record RawParam(Token Directive, Token Name, List<(Token Value, bool Negative)>? Values, Token? Min, bool MinNegative, Token? Sentinel, RawExpr? SentinelValue);

    private sealed record RawNamed(Token Directive, Token Name, RawExpr Value);

    private sealed record RawTensor(Token Directive, Token Name, Token Type, List<RawExpr> Shape, SourcePos ShapePos, bool Optional, Token? Buffer, RawExpr? Offset);

    private sealed record RawGroup(Token Directive, Token Name, RawExpr Primary, RawExpr? Fallback, RawExpr Count);

    private sealed record RawGuard(Token Param, Token Value, bool Negative);

    private sealed record RawWarn(Token Directive, RawExpr Condition, RawGuard? Guard, Token Message);

    private sealed record RawPlacement(Token Name, List<Token> Vars, SourcePos VarsPos, Token Tensor, List<RawExpr?> Selectors, SourcePos SelectorsPos,
        Token? SlotType, Token? SlotParam, RawExpr? Slot, List<(long Value, SourcePos Pos)>? Interleave, SourcePos InterleavePos);

    private sealed record RawRun(int First, int Last, SourcePos RangePos, List<RawPiece> Pieces, int Line);

    private sealed record RawPiece(Token Field, PieceKind Kind, int First, int Last, SourcePos RangePos, int BitLow, int Width, int Digit, SourcePos SelectorPos)
    {
        public int DestShift { get; init; }
    }

    private sealed record RawLet(Token Name, RawExpr Expr)
    {
        public RawGuard? Guard { get; init; }
    }

    private abstract record RawExpr(SourcePos Pos)
    {
        public sealed record Int(long Value, SourcePos P) : RawExpr(P);

        public sealed record Flt(float Value, SourcePos P) : RawExpr(P);

        public sealed record Name(string Text, SourcePos P) : RawExpr(P);

        public sealed record Lookup(string Codebook, RawExpr Index, SourcePos P) : RawExpr(P);

        public sealed record Conv(RawExpr Operand, SourcePos P) : RawExpr(P);

        public sealed record Neg(RawExpr Operand, SourcePos P) : RawExpr(P);

        public sealed record Bin(string Op, RawExpr Left, RawExpr Right, SourcePos P) : RawExpr(P);
    }
}
