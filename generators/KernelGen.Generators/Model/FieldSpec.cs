namespace KernelGen.Generators.Model;

/// <summary>
/// One row of a block's field table: <c>field NAME TYPE[COUNT] @OFFSET</c>. <see cref="Count"/> is 1 for a scalar.
/// </summary>
internal sealed record FieldSpec(string Name, ScalarKind Type, int Count, bool IsArray, int Offset)
{
    public int ByteLength => Type.Size() * Count;

    public int End => Offset + ByteLength;

    /// <summary>Field bytes hold packed values (quant or scale pieces refer to them), so they are not struct members.</summary>
    public bool IsPackedStorage { get; init; }
}
