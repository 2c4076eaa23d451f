using System.Collections.Generic;

namespace KernelGen.Generators.Parser;

/// <summary>Pass 1 for tensor-level specs (<c>layout linear</c>): param, tensor, guards and placement lines.</summary>
internal sealed partial class SpecParser
{
    // param NAME in { v, v, ... }            (ints, or names for an enum)
    // param NAME : int [>= MIN] [or S = expr] (S, e.g. -1, stands for the value of expr)
    private RawParam ParseParam(Cursor cursor, Token directive)
    {
        Token name = cursor.ExpectIdentifier("a parameter name");
        if (cursor.Accept("in"))
        {
            cursor.Expect("{");
            var values = new List<(Token, bool)>();
            while (true)
            {
                bool negative = cursor.Accept("-");
                Token v = cursor.Peek;
                if (v.Kind != TokenKind.Integer && v.Kind != TokenKind.Identifier)
                {
                    throw new SyntaxException($"expected a parameter value (an integer or a name) but found {v.Describe()}", v.Pos);
                }
                cursor.Next();
                values.Add((v, negative));
                if (cursor.Accept("}"))
                {
                    break;
                }
                cursor.Expect(",");
            }
            cursor.ExpectEnd();
            return new RawParam(directive, name, values, null, false, null, null);
        }
        cursor.Expect(":");
        cursor.ExpectWord("int");
        Token? min = null;
        bool minNegative = false;
        if (cursor.Accept(">="))
        {
            minNegative = cursor.Accept("-");
            min = cursor.ExpectInteger("the smallest allowed value");
        }
        Token? sentinel = null;
        RawExpr? sentinelValue = null;
        if (cursor.Accept("or"))
        {
            bool negative = cursor.Accept("-");
            sentinel = cursor.ExpectInteger("a special value such as -1");
            if (negative)
            {
                sentinel = sentinel.Value with { Text = "-" + sentinel.Value.Text };
            }
            cursor.Expect("=");
            sentinelValue = ParseExpr(cursor);
        }
        cursor.ExpectEnd();
        return new RawParam(directive, name, null, min, minNegative, sentinel, sentinelValue);
    }

    // tensor NAME : TYPE[d0, d1] [optional] [in BUFFER @ OFFSET]
    private RawTensor ParseTensor(Cursor cursor, Token directive)
    {
        Token name = cursor.ExpectIdentifier("a tensor name");
        cursor.Expect(":");
        Token type = cursor.ExpectIdentifier("the tensor's element type (u8, i8, u16le, i16le, u32le, i32le, f16, bf16, f32)");
        Token open = cursor.Expect("[");
        var shape = new List<RawExpr> { ParseExpr(cursor) };
        while (cursor.Accept(","))
        {
            shape.Add(ParseExpr(cursor));
        }
        Token close = cursor.Expect("]");
        bool optional = false;
        if (cursor.Peek.Is("optional"))
        {
            cursor.Next();
            optional = true;
        }
        Token? buffer = null;
        RawExpr? offset = null;
        if (cursor.Accept("in"))
        {
            buffer = cursor.ExpectIdentifier("the name of the buffer that holds the tensor");
            cursor.Expect("@");
            offset = ParseExpr(cursor);
        }
        cursor.ExpectEnd();
        return new RawTensor(directive, name, type, shape, Span(open.Pos, close.Pos), optional, buffer, offset);
    }

    // [when PARAM == VALUE]
    private RawGuard? ParseGuard(Cursor cursor)
    {
        if (!cursor.Peek.Is("when"))
        {
            return null;
        }
        cursor.Next();
        Token param = cursor.ExpectIdentifier("a parameter name");
        cursor.Expect("==");
        bool negative = cursor.Accept("-");
        Token value = cursor.Peek;
        if (value.Kind != TokenKind.Integer && value.Kind != TokenKind.Identifier)
        {
            throw new SyntaxException($"expected a parameter value but found {value.Describe()}", value.Pos);
        }
        cursor.Next();
        return new RawGuard(param, value, negative);
    }

    // NAME[v, v] = TENSOR[sel, sel] [as uW[slot]] [interleave {p, p, ...}]      (per tensor: NAME = TENSOR[...])
    private RawPlacement ParsePlacement(Cursor cursor)
    {
        Token name = cursor.ExpectIdentifier("the name of the value being placed, as in 'q[n, k] = ...'");
        var vars = new List<Token>();
        SourcePos varsPos = name.Pos;
        if (cursor.Peek.Is("["))
        {
            Token open = cursor.Next();
            vars.Add(cursor.ExpectIdentifier("an index variable (n, k or the group variable)"));
            while (cursor.Accept(","))
            {
                vars.Add(cursor.ExpectIdentifier("an index variable (n, k or the group variable)"));
            }
            Token close = cursor.Expect("]");
            varsPos = Span(open.Pos, close.Pos);
        }
        cursor.Expect("=");
        Token tensor = cursor.ExpectIdentifier("a tensor name");
        Token selOpen = cursor.Expect("[");
        var selectors = new List<RawExpr?>();
        while (true)
        {
            if (cursor.Accept(":"))
            {
                selectors.Add(null);
            }
            else
            {
                selectors.Add(ParseExpr(cursor));
            }
            if (!cursor.Accept(","))
            {
                break;
            }
        }
        Token selClose = cursor.Expect("]");
        Token? slotType = null;
        Token? slotParam = null;
        RawExpr? slot = null;
        if (cursor.Peek.Is("as"))
        {
            cursor.Next();
            slotType = cursor.ExpectIdentifier("a slot type such as u2, u4 or u{bits}");
            if (slotType.Value.Text == "u" && cursor.Peek.Is("{"))
            {
                cursor.Next();
                slotParam = cursor.ExpectIdentifier("the parameter that gives the width, as in u{bits}");
                cursor.Expect("}");
            }
            cursor.Expect("[");
            slot = ParseExpr(cursor);
            cursor.Expect("]");
        }
        List<(long, SourcePos)>? interleave = null;
        SourcePos interleavePos = default;
        if (cursor.Peek.Is("interleave"))
        {
            Token kw = cursor.Next();
            interleavePos = kw.Pos;
            cursor.Expect("{");
            interleave = new List<(long, SourcePos)>();
            while (true)
            {
                Token v = cursor.ExpectInteger("a slot position");
                interleave.Add((ParseInteger(v), v.Pos));
                if (cursor.Accept("}"))
                {
                    break;
                }
                cursor.Expect(",");
            }
        }
        cursor.ExpectEnd();
        return new RawPlacement(name, vars, varsPos, tensor, selectors, Span(selOpen.Pos, selClose.Pos), slotType, slotParam, slot, interleave, interleavePos);
    }
}
