using KernelGen.Generators.Model;

namespace KernelGen.Generators.Emit.Dot;

/// <summary>
/// Emits <c>&lt;F&gt;Dot</c>: the fused quantized matrix kernel of one block format. The kernel computes, for a range
/// of weight rows and a batch of activation rows, y[b, r] = Σ_k W[r, k]·x[b, k] without materialising W in floats.
/// Its signature uses only refs and primitives, so the class depends on nothing but the BCL and the runtime's
/// parallel driver can call kernels generated into any assembly through one delegate type.
/// <para>
/// Two kernel families: the integer kernel (<see cref="IntegerDotPlan"/>: activations pre-quantized to int8 blocks,
/// integer dot products per sub-block) where the value formula factors as S·f32(W) + M, and the float kernel
/// (decode a block into registers/L1, then FMA) for everything else.
/// </para>
/// </summary>
internal static class DotEmitter
{
    /// <summary>Activation kind constants shared with the runtime driver.</summary>
    public const int ActivationFloat = 0;
    public const int ActivationQ8 = 1;

    public static void Emit(SourceWriter w, FormatSpec spec, string vis) => Emit(w, spec, vis, spec.Name + "Codec", null);

    /// <summary>
    /// Emits <c>&lt;F&gt;Dot</c>, or with <paramref name="fixedK"/> the shape-specialised <c>&lt;F&gt;DotK&lt;K&gt;</c>: the row
    /// length and block count are constants (index arithmetic folds away) and the block loop is unrolled by two.
    /// <paramref name="codec"/> names the codec class the float path decodes with (qualified when it lives elsewhere).
    /// </summary>
    public static void Emit(SourceWriter w, FormatSpec spec, string vis, string codec, int? fixedK)
    {
        string cls = fixedK is int fk ? $"{spec.Name}DotK{fk}" : spec.Name + "Dot";
        var plan = IntegerDotPlan.TryCreate(spec);
        w.WriteLine("/// <summary>");
        w.WriteLine($"/// Fused {spec.Name} matrix kernel: y[b, r] = Σ_k W[r, k]·x[b, k] for rows rowStart..rowEnd-1 of W (GGUF row-block");
        w.WriteLine($"/// layout, rowBytes bytes per row) and a batch of activation rows.");
        w.WriteLine(plan is null
            ? "/// This format uses the float kernel: f32 activations, each block decoded in registers and multiplied-added."
            : "/// This format uses the integer kernel: activations quantized to int8 blocks of 32 (binary32 scale, sums per 16).");
        w.WriteLine("/// </summary>");
        w.OpenBlock($"{vis} static partial class {cls}");
        w.WriteLine("/// <summary>What the kernel reads: 0 = f32 activations (x), 1 = int8 activation blocks (xq, xd, xs).</summary>");
        w.WriteLine($"public const int ActivationKind = {(plan is null ? ActivationFloat : ActivationQ8)};");
        if (fixedK is int kConst)
        {
            w.WriteLine("/// <summary>The row length this kernel is specialised for.</summary>");
            w.WriteLine($"public const int K = {kConst};");
        }
        w.WriteLine();
        w.WriteLine("/// <summary>Computes y[b·yStride + r] for r in [rowStart, rowEnd) and b in [0, batch).</summary>");
        w.WriteLine("/// <remarks>Activation row b: x[b·k..], xq[b·k..], xd[b·k/32..] (scale per 32), xs[b·k/16..] (dequantized sum per 16), xqs[b·k/4..] (Σxq per 4).</remarks>");
        w.OpenBlock("public static void Rows(ref byte weights, nint rowBytes, int k, int rowStart, int rowEnd, ref float x, ref sbyte xq, ref float xd, ref float xs, ref int xqs, int batch, ref float y, nint yStride)");
        if (fixedK is not null)
        {
            w.OpenBlock("if (k != K)");
            w.WriteLine($"throw new ArgumentException($\"This kernel is specialised for K = {{K}}; got k = {{k}}.\", nameof(k));");
            w.CloseBlock();
        }
        if (plan is null)
        {
            FloatDotEmitter.EmitBody(w, spec, codec);
        }
        else
        {
            IntegerDotEmitter.EmitBody(w, spec, plan);
        }
        w.CloseBlock();
        w.WriteLine();
        if (plan is null)
        {
            FloatDotEmitter.EmitConstants(w, spec);
        }
        else
        {
            IntegerDotEmitter.EmitMembers(w, spec, plan, codec, fixedK);
            if (fixedK is null && InterleavedDotPlan.TryCreate(spec, plan) is { } interleaved)
            {
                InterleavedDotEmitter.EmitMembers(w, spec, interleaved, codec);
            }
        }
        w.CloseBlock();
    }
}
