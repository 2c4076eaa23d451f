namespace KernelGen.Containers.HuggingFace;

/// <summary>
/// How a Hugging Face checkpoint stores its linear weights, which decides how KernelGen must read them
/// (FORMATS.md §9): plain float/int tensors, or one of the packed quantized layouts.
/// </summary>
public enum CheckpointKind
{
    /// <summary>Tensors are stored as plain arrays (or in a layout KernelGen does not decode).</summary>
    Plain,
    /// <summary>GPTQ: <c>qweight</c> packed along the input, <c>qzeros</c>, <c>scales</c>, <c>g_idx</c> (§9.1).</summary>
    Gptq,
    /// <summary>AWQ: <c>qweight</c>/<c>qzeros</c>/<c>scales</c> without <c>g_idx</c>, GEMM or GEMV packing (§9.2).</summary>
    Awq,
    /// <summary>BitNet b1.58: ternary codes packed four to a U8 <c>weight</c> plus a <c>weight_scale</c> (§9.3).</summary>
    BitNet,
}
