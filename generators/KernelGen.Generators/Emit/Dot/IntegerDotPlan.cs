using System.Collections.Generic;
using System.Linq;
using KernelGen.Generators.Model;

namespace KernelGen.Generators.Emit.Dot;

/// <summary>
/// The algebra behind the integer kernel. A format qualifies when its value formula factors, per sub-block, as
/// <c>y = S·f32(W) + M</c> where W is the per-element integer (<c>q</c>, <c>q − c</c> with c a literal or any
/// block/group integer such as a zero point, or <c>codebook[q]</c>) and S, M are floats that depend only on block
/// and group values. Then Σ y·x = S·Σ W·x + M·Σ x: with x quantized to int8 (x ≈ d·xq) the first sum is an integer
/// dot product and the second uses the activation block sums. Offsets fold into M (S·f32(q − c) = S·q − S·c), so
/// unsigned quants feed the unsigned×signed byte multiply directly.
/// </summary>
internal sealed class IntegerDotPlan
{
    private IntegerDotPlan(ExprSpec scale, ExprSpec? bias, PackedArraySpec quant, CodebookSpec? codebook, bool signed, FormatEmitter.SimdPlan chunks, int constantOffset)
    {
        ConstantOffset = constantOffset;
        Scale = scale;
        Bias = bias;
        Quant = quant;
        Codebook = codebook;
        SignedWeights = signed;
        Chunks = chunks;
    }

    /// <summary>
    /// A literal c in W = q − c (Q4_0's 8, Q6_K's 32, TQ2_0's 1): applied in the integer domain as − c·Σxq per four
    /// lanes from the activation's quad sums, instead of a float bias term. 0 when none.
    /// </summary>
    public int ConstantOffset { get; }

    /// <summary>S: multiplies the integer dot product of a sub-block.</summary>
    public ExprSpec Scale { get; }

    /// <summary>M (offsets folded in): multiplies the activation sum of a sub-block; null when zero.</summary>
    public ExprSpec? Bias { get; }

    /// <summary>The per-element quant array W is built from.</summary>
    public PackedArraySpec Quant { get; }

    /// <summary>W = codebook[q] when set.</summary>
    public CodebookSpec? Codebook { get; }

    /// <summary>True when W can be negative (signed quants, codebooks): the kernel multiplies |W| by sign-adjusted x.</summary>
    public bool SignedWeights { get; }

    /// <summary>The codec's 16-lane gather/extract plan, reused to build each half of a 32-element chunk.</summary>
    public FormatEmitter.SimdPlan Chunks { get; }

    /// <summary>Smallest span over which S is constant (16, or a multiple of 32).</summary>
    public int ScalePeriod(FormatSpec spec) => Period(Scale, spec);

    /// <summary>Smallest span over which M is constant.</summary>
    public int BiasPeriod(FormatSpec spec) => Bias is null ? spec.BlockElements : Period(Bias, spec);

    public static IntegerDotPlan? TryCreate(FormatSpec spec)
    {
        if (spec.IsElementwise || spec.BlockElements % 32 != 0 || spec.Activation == "none")
        {
            return null;
        }
        var lets = new Dictionary<string, ExprSpec>();
        foreach (var let in spec.Lets)
        {
            lets[let.Name] = Inline(let.Value, lets);
        }
        var y = lets["y"];
        var parts = Decompose(y, spec);
        if (parts is not { W: { } w, S: { } s })
        {
            return null;
        }
        var term = IntTerm(w, spec);
        if (term is null)
        {
            return null;
        }
        var (quant, codebook, offset) = term.Value;
        bool signed;
        if (codebook is not null)
        {
            if (codebook.Values.Count > 16 || quant.Bits > 4 || quant.IsSigned || codebook.Values.Any(v => v < -128 || v > 127))
            {
                return null;
            }
            signed = true;
        }
        else if (quant.IsSigned)
        {
            if (quant.Bits != 8)
            {
                return null;
            }
            signed = true;
        }
        else
        {
            if (quant.Bits > 7)
            {
                return null; // 0..255 times ±127 would saturate the 16-bit pair sums
            }
            signed = false;
        }
        ExprSpec? bias = parts.Value.M;
        int constantOffset = 0;
        if (offset is IntLiteral lit && lit.Value is > -128 and < 128)
        {
            constantOffset = (int)lit.Value;
        }
        else if (offset is Negate { Operand: IntLiteral nlit } && nlit.Value is > -128 and < 128)
        {
            constantOffset = -(int)nlit.Value;
        }
        else if (offset is not null)
        {
            // S·f32(W − c) = S·f32(W) − S·f32(c): the offset joins M.
            var correction = Float(new Binary("*", s, Float(new ToFloat(offset))));
            bias = bias is null ? Float(new Negate(correction)) : Float(new Binary("-", bias, correction));
        }
        if (FormatEmitter.TryPlan(spec, 16, out var chunks) is not null
            || chunks.ElementArrays.Count != 1 || chunks.ElementArrays[0].Name != quant.Name)
        {
            return null;
        }
        var plan = new IntegerDotPlan(s, bias, quant, codebook, signed, chunks, constantOffset);
        int sp = plan.ScalePeriod(spec), bp = plan.BiasPeriod(spec);
        if (!PeriodOk(sp) || !PeriodOk(bp))
        {
            return null;
        }
        return plan;
    }

    private static bool PeriodOk(int p) => p == 16 || p % 32 == 0;

    private static ExprSpec Float(ExprSpec e) => e with { IsFloat = true };

    private static ExprSpec Inline(ExprSpec e, Dictionary<string, ExprSpec> lets) => e switch
    {
        NameRef { Kind: NameKind.Let } n => lets[n.Name],
        CodebookLookup l => l with { Index = Inline(l.Index, lets) },
        ToFloat c => c with { Operand = Inline(c.Operand, lets) },
        Negate n => n with { Operand = Inline(n.Operand, lets) },
        Binary b => b with { Left = Inline(b.Left, lets), Right = Inline(b.Right, lets) },
        _ => e,
    };

    /// <summary>True when <paramref name="e"/> reads no per-element array.</summary>
    private static bool ElementFree(ExprSpec e, FormatSpec spec) => e switch
    {
        NameRef { Kind: NameKind.Packed } n => !spec.FindArray(n.Name)!.IsPerElement,
        CodebookLookup l => ElementFree(l.Index, spec),
        ToFloat c => ElementFree(c.Operand, spec),
        Negate n => ElementFree(n.Operand, spec),
        Binary b => ElementFree(b.Left, spec) && ElementFree(b.Right, spec),
        _ => true,
    };

    /// <summary>Largest span over which <paramref name="e"/> is constant: the smallest group size it reads.</summary>
    internal static int Period(ExprSpec e, FormatSpec spec) => e switch
    {
        NameRef { Kind: NameKind.Packed } n => spec.FindArray(n.Name)!.GroupSize,
        CodebookLookup l => Period(l.Index, spec),
        ToFloat c => Period(c.Operand, spec),
        Negate n => Period(n.Operand, spec),
        Binary b => System.Math.Min(Period(b.Left, spec), Period(b.Right, spec)),
        _ => spec.BlockElements,
    };

    /// <summary>Splits a float expression into S·f32(W) + M, or null.</summary>
    private static (ExprSpec? S, ExprSpec? W, ExprSpec? M)? Decompose(ExprSpec e, FormatSpec spec)
    {
        if (ElementFree(e, spec))
        {
            return (null, null, e);
        }
        switch (e)
        {
            case ToFloat c when !c.Operand.IsFloat:
                return (new FloatLiteral(1f) { IsFloat = true }, c.Operand, null);
            case Negate n:
            {
                var d = Decompose(n.Operand, spec);
                if (d is not { W: not null })
                {
                    return null;
                }
                return (Float(new Negate(d.Value.S!)), d.Value.W, d.Value.M is null ? null : Float(new Negate(d.Value.M)));
            }
            case Binary { Op: "*", IsFloat: true } b:
            {
                bool leftFree = ElementFree(b.Left, spec);
                var factor = leftFree ? b.Left : b.Right;
                var other = leftFree ? b.Right : b.Left;
                if (!ElementFree(factor, spec))
                {
                    return null;
                }
                var d = Decompose(other, spec);
                if (d is not { W: not null })
                {
                    return null;
                }
                ExprSpec Mul(ExprSpec x) => x is FloatLiteral { Value: 1f }
                    ? factor
                    : Float(leftFree ? new Binary("*", factor, x) : new Binary("*", x, factor));
                return (Mul(d.Value.S!), d.Value.W, d.Value.M is null ? null : Mul(d.Value.M));
            }
            case Binary { Op: "+" or "-", IsFloat: true } b:
            {
                var l = Decompose(b.Left, spec);
                var r = Decompose(b.Right, spec);
                if (l is null || r is null || (l.Value.W is null) == (r.Value.W is null))
                {
                    return null;
                }
                var withW = l.Value.W is not null ? l.Value : r.Value;
                ExprSpec s = withW.S!;
                if (b.Op == "-" && r.Value.W is not null)
                {
                    s = Float(new Negate(s));
                }
                ExprSpec? m = Combine(l.Value.M, r.Value.M, b.Op);
                return (s, withW.W, m);
            }
            default:
                return null;
        }
    }

    private static ExprSpec? Combine(ExprSpec? a, ExprSpec? b, string op)
    {
        if (b is null)
        {
            return a;
        }
        if (a is null)
        {
            return op == "-" ? Float(new Negate(b)) : b;
        }
        return Float(new Binary(op, a, b));
    }

    /// <summary>Recognises W = q, q ± c, codebook[q] (c element-free); returns the quant, codebook and offset c (W = base − c).</summary>
    private static (PackedArraySpec Quant, CodebookSpec? Codebook, ExprSpec? Offset)? IntTerm(ExprSpec e, FormatSpec spec)
    {
        switch (e)
        {
            case NameRef { Kind: NameKind.Packed } n when spec.FindArray(n.Name)!.IsPerElement:
                return (spec.FindArray(n.Name)!, null, null);
            case CodebookLookup { Index: NameRef { Kind: NameKind.Packed } idx } l when spec.FindArray(idx.Name)!.IsPerElement:
                return (spec.FindArray(idx.Name)!, spec.FindCodebook(l.Codebook), null);
            case Binary { Op: "-" } b when ElementFree(b.Right, spec):
            {
                var inner = IntTerm(b.Left, spec);
                return inner is { Offset: null } ? (inner.Value.Quant, inner.Value.Codebook, b.Right) : null;
            }
            case Binary { Op: "+" } b when ElementFree(b.Right, spec):
            {
                var inner = IntTerm(b.Left, spec);
                return inner is { Offset: null } ? (inner.Value.Quant, inner.Value.Codebook, new Negate(b.Right)) : null;
            }
            case Binary { Op: "+" } b when ElementFree(b.Left, spec):
            {
                var inner = IntTerm(b.Right, spec);
                return inner is { Offset: null } ? (inner.Value.Quant, inner.Value.Codebook, new Negate(b.Left)) : null;
            }
            default:
                return null;
        }
    }

    /// <summary>The per-group arrays S and M read (unpacked once per block).</summary>
    public IEnumerable<PackedArraySpec> GroupArrays(FormatSpec spec)
    {
        var names = new HashSet<string>();
        Collect(Scale, names);
        if (Bias is not null)
        {
            Collect(Bias, names);
        }
        return spec.Arrays.Where(a => !a.IsPerElement && names.Contains(a.Name));
    }

    private static void Collect(ExprSpec e, HashSet<string> names)
    {
        switch (e)
        {
            case NameRef n: names.Add(n.Name); break;
            case CodebookLookup l: Collect(l.Index, names); break;
            case ToFloat c: Collect(c.Operand, names); break;
            case Negate n: Collect(n.Operand, names); break;
            case Binary b: Collect(b.Left, names); Collect(b.Right, names); break;
        }
    }
}
