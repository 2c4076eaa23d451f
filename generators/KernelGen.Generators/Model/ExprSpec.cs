namespace KernelGen.Generators.Model;

/// <summary>
/// A node of a value formula. Every node is either int (exact 32-bit integer arithmetic) or float (IEEE binary32,
/// one rounding per operation, evaluated exactly in the written order, never fused).
/// </summary>
internal abstract record ExprSpec
{
    public bool IsFloat { get; init; }

    /// <summary>
    /// Largest aligned element span over which the value is constant: the block size for block scalars, the group
    /// size for sub-scales, 1 for anything that depends on a per-element quant. Emitters hoist by it.
    /// </summary>
    public int Period { get; init; }
}

internal sealed record IntLiteral(long Value) : ExprSpec;

internal sealed record FloatLiteral(float Value) : ExprSpec;

/// <summary>A block scalar field, a packed array (indexed implicitly by the element's group) or an earlier <c>let</c>.</summary>
internal sealed record NameRef(string Name, NameKind Kind) : ExprSpec;

internal enum NameKind
{
    Field,
    Packed,
    Let,
}

/// <summary><c>codebook[index]</c>.</summary>
internal sealed record CodebookLookup(string Codebook, ExprSpec Index) : ExprSpec;

/// <summary><c>f32(int expression)</c>: exact int→float conversion (the only way int and float meet).</summary>
internal sealed record ToFloat(ExprSpec Operand) : ExprSpec;

internal sealed record Negate(ExprSpec Operand) : ExprSpec;

/// <summary><c>+ - *</c> (int or float), <c>| &amp; &lt;&lt; &gt;&gt;</c> (int only).</summary>
internal sealed record Binary(string Op, ExprSpec Left, ExprSpec Right) : ExprSpec;

/// <summary>One line of the <c>value</c> section: <c>NAME = expr</c>. The last one is <c>y</c>.</summary>
internal sealed record LetSpec(string Name, ExprSpec Value, int Line);
