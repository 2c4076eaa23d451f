using KernelGen.Generators.Model;

namespace KernelGen.Generators.Emit.Dot;

/// <summary>
/// The float kernel: decode a stripe of blocks of one row with the codec's widest SIMD decoder into a stack buffer
/// that stays in L1, then multiply-add it with every activation row of the batch. Serves formats whose formula does
/// not factor into an integer dot product (and F32/F16/BF16, which have nothing to factor).
/// </summary>
internal static class FloatDotEmitter
{
    /// <summary>Elements decoded per stripe: a multiple of every block size up to 256, 1 KiB of floats.</summary>
    private const int Stripe = 256;

    public static void EmitBody(SourceWriter w, FormatSpec spec, string codec)
    {
        int stripeBlocks = System.Math.Max(1, Stripe / spec.BlockElements);
        int stripeElements = stripeBlocks * spec.BlockElements;
        w.WriteLine($"Span<float> decoded = stackalloc float[{stripeElements}];");
        w.WriteLine("Span<float> sums = batch <= 64 ? stackalloc float[batch] : new float[batch];");
        w.OpenBlock("for (int r = rowStart; r < rowEnd; r++)");
        w.WriteLine("ReadOnlySpan<byte> row = MemoryMarshal.CreateReadOnlySpan(ref Unsafe.Add(ref weights, r * rowBytes), (int)rowBytes);");
        w.WriteLine("sums.Clear();");
        w.OpenBlock($"for (int e0 = 0; e0 < k; e0 += {stripeElements})");
        w.WriteLine($"int count = Math.Min({stripeElements}, k - e0);");
        w.WriteLine($"{codec}.DecodeRow(row.Slice(e0 / BlockElementsOf * BlockBytesOf, count / BlockElementsOf * BlockBytesOf), decoded);");
        w.OpenBlock("for (int b = 0; b < batch; b++)");
        w.WriteLine("sums[b] += KernelGenHelpers.DotF32(ref MemoryMarshal.GetReference(decoded), ref Unsafe.Add(ref x, (nint)b * k + e0), count);");
        w.CloseBlock();
        w.CloseBlock();
        w.OpenBlock("for (int b = 0; b < batch; b++)");
        w.WriteLine("Unsafe.Add(ref y, b * yStride + r) = sums[b];");
        w.CloseBlock();
        w.CloseBlock();
    }

    /// <summary>Constants the float body refers to (emitted once in the class).</summary>
    public static void EmitConstants(SourceWriter w, FormatSpec spec)
    {
        w.WriteLine($"private const int BlockElementsOf = {spec.BlockElements};");
        w.WriteLine($"private const int BlockBytesOf = {spec.BlockBytes};");
    }
}
