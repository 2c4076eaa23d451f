namespace KernelGen;

/// <summary>Where a generated kernel method runs.</summary>
public enum KernelBackend
{
    /// <summary>The CPU kernels of the KernelGen package (SIMD, multithreaded on a <c>KernelThreadPool</c>).</summary>
    Cpu = 0,

    /// <summary>
    /// The GPU (ILGPU) kernels of the KernelGen.Gpu package. The project must reference KernelGen.Gpu (error KG2010
    /// otherwise); until KernelGen.Gpu provides attribute kernels, the method runs on the CPU (info KG2011).
    /// </summary>
    Gpu = 1,
}

/// <summary>
/// The parameters every KernelGen kernel attribute shares: the weight format (a built-in format such as <c>Q4_K</c>,
/// or a format of one of the project's own <c>.kgspec</c> files) and the optional compile-time shape and format
/// parameters. The source generator validates them (KG2xxx errors at the argument) and writes the method body.
/// </summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false, Inherited = false)]
public abstract class KernelAttributeBase : Attribute
{
    private protected KernelAttributeBase(string format) => Format = format;

    /// <summary>The weight format, as named in its spec (<c>Q4_0</c>, <c>Q4_K</c>, <c>Q6_K</c>, <c>IQ4_NL</c>...).</summary>
    public string Format { get; }

    /// <summary>
    /// Inputs per output row (the row length; ggml's ne0), known at compile time. 0 (the default) takes it from the
    /// span lengths at run time. When set, it must be a positive multiple of the format's block size, and the spans
    /// are checked against it.
    /// </summary>
    public int K { get; set; }

    /// <summary>Output rows, known at compile time; 0 (the default) takes it from the span lengths at run time.</summary>
    public int N { get; set; }

    /// <summary>
    /// Bits per weight of a parameterised (tensor-level) format such as GPTQ; 0 = not given. Block formats have a
    /// fixed layout and take no bits (KG2003).
    /// </summary>
    public int Bits { get; set; }

    /// <summary>
    /// Quantization group size of a parameterised (tensor-level) format such as GPTQ or AWQ (-1 = one group per row
    /// where the format allows it); 0 = not given. Block formats take no group size (KG2003).
    /// </summary>
    public int GroupSize { get; set; }

    /// <summary>Where the kernel runs (default <see cref="KernelBackend.Cpu"/>).</summary>
    public KernelBackend Backend { get; set; }
}

/// <summary>
/// Generates y = W·x for the <c>static partial</c> method it marks. The method must be
/// <c>static partial void M(ReadOnlySpan&lt;byte&gt; weights, ReadOnlySpan&lt;float&gt; x, Span&lt;float&gt; y)</c>,
/// optionally followed by a <c>KernelThreadPool? pool</c> parameter. W is N rows of K elements in the format's
/// row layout (GGUF row-block layout for GGUF formats); K = x.Length and N = y.Length unless given here.
/// Without a pool parameter the kernel runs on <c>KernelThreadPool.Shared</c>; a null pool runs it on the calling thread.
/// </summary>
public sealed class QuantizedMatVecAttribute : KernelAttributeBase
{
    /// <summary>Declares a matrix-vector kernel for weights in <paramref name="format"/>.</summary>
    public QuantizedMatVecAttribute(string format)
        : base(format)
    {
    }
}

/// <summary>
/// Generates Y = X·Wᵀ for a batch of activation rows. The method must be
/// <c>static partial void M(ReadOnlySpan&lt;byte&gt; weights, ReadOnlySpan&lt;float&gt; x, Span&lt;float&gt; y, int batch)</c>,
/// optionally followed by a <c>KernelThreadPool? pool</c> parameter. x is batch × K and y batch × N, row-major;
/// K = x.Length / batch and N = y.Length / batch unless given here.
/// </summary>
public sealed class QuantizedMatMulAttribute : KernelAttributeBase
{
    /// <summary>Declares a batched matrix kernel for weights in <paramref name="format"/>.</summary>
    public QuantizedMatMulAttribute(string format)
        : base(format)
    {
    }
}

/// <summary>
/// Generates a decoder to float. The method must be
/// <c>static partial void M(ReadOnlySpan&lt;byte&gt; weights, Span&lt;float&gt; y)</c>, optionally followed by a
/// <c>KernelThreadPool? pool</c> parameter. Decodes whole blocks, bit-exact with ggml's <c>to_float</c>; with K and N
/// given, the lengths are checked against N rows of K elements.
/// </summary>
public sealed class DequantizeAttribute : KernelAttributeBase
{
    /// <summary>Declares a decoder for data in <paramref name="format"/>.</summary>
    public DequantizeAttribute(string format)
        : base(format)
    {
    }
}
