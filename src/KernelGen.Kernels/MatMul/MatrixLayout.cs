namespace KernelGen.Kernels.MatMul;

/// <summary>How a <see cref="QuantizedMatrix"/> stores its weights.</summary>
public enum MatrixLayout
{
    /// <summary>The format's own rows (GGUF row blocks, or the kernel rows GPTQ/AWQ/BitNet layers are repacked into).</summary>
    Rows,

    /// <summary>
    /// Groups of 8 rows interleaved block by block (<c>&lt;F&gt;Dot.Interleave8</c>): 8 rows' codes in one 32-byte load, so
    /// the AVX2 kernel needs no horizontal sums. Made once by <see cref="QuantizedMatrix.Interleaved"/>.
    /// </summary>
    Interleaved8,
}
