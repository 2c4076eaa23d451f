using KernelGen.Generators.Model;

namespace KernelGen.Generators.Emit;

/// <summary>One-element "blocks" (F32, F16, BF16): a row is a plain array, converted W lanes at a time.</summary>
internal static partial class FormatEmitter
{
    private static void EmitElementwise(SourceWriter w, FormatSpec spec)
    {
        var field = spec.FindField(((NameRef)spec.Result.Value).Name)!;
        string scalar = field.Type switch
        {
            ScalarKind.F16 => "KernelGenHelpers.HalfToSingle(BinaryPrimitives.ReadUInt16LittleEndian(src.Slice(i * 2)))",
            ScalarKind.BF16 => "KernelGenHelpers.BFloat16ToSingle(BinaryPrimitives.ReadUInt16LittleEndian(src.Slice(i * 2)))",
            _ => "BinaryPrimitives.ReadSingleLittleEndian(src.Slice(i * 4))",
        };

        w.WriteLine("/// <summary>Scalar reference decoder: one exact conversion per element.</summary>");
        w.WriteLine("[MethodImpl(MethodImplOptions.AggressiveOptimization)] // one call decodes a whole row: the loop must not wait for tiering (OSR code ran at half speed)");
        w.OpenBlock("public static void DecodeRowScalar(ReadOnlySpan<byte> src, Span<float> dst)");
        w.WriteLine("int n = CheckRow(src, dst);");
        w.OpenBlock("for (int i = 0; i < n; i++)");
        w.WriteLine($"dst[i] = {scalar};");
        w.CloseBlock();
        w.CloseBlock();
        w.WriteLine();
        w.WriteLine("/// <summary>Decodes one element.</summary>");
        w.OpenBlock("public static void DecodeBlockScalar(ReadOnlySpan<byte> block, Span<float> dst)");
        w.WriteLine("CheckBlock(block);");
        w.WriteLine($"dst[0] = {FieldValue(field, "block")};");
        w.CloseBlock();
        w.WriteLine();

        foreach (int lanes in new[] { 4, 8, 16 })
        {
            string vec = VectorType(lanes);
            w.WriteLine($"/// <summary>Decodes a row with {vec} code; equals <see cref=\"DecodeRowScalar\"/> bit for bit.</summary>");
            w.WriteLine("[MethodImpl(MethodImplOptions.AggressiveOptimization)] // one call decodes a whole row: the loop must not wait for tiering (OSR code ran at half speed)");
            w.OpenBlock($"public static void {EntryName(lanes)}(ReadOnlySpan<byte> src, Span<float> dst)");
            w.OpenBlock("if (!BitConverter.IsLittleEndian)");
            w.WriteLine("DecodeRowScalar(src, dst);");
            w.WriteLine("return;");
            w.CloseBlock();
            w.WriteLine("int n = CheckRow(src, dst);");
            w.WriteLine("ref byte s0 = ref MemoryMarshal.GetReference(src);");
            w.WriteLine("ref float y0 = ref MemoryMarshal.GetReference(dst);");
            w.WriteLine("int i = 0;");
            w.OpenBlock($"for (; i <= n - {lanes}; i += {lanes})");
            switch (field.Type)
            {
                case ScalarKind.F32:
                    w.WriteLine($"{vec}.LoadUnsafe(ref Unsafe.As<byte, float>(ref s0), (nuint)i).StoreUnsafe(ref y0, (nuint)i);");
                    break;
                case ScalarKind.F16:
                    w.WriteLine($"KernelGenHelpers.HalfToSingle(KernelGenHelpers.LoadWidenUInt16x{lanes}(ref s0, i)).StoreUnsafe(ref y0, (nuint)i);");
                    break;
                default:
                    w.WriteLine($"{vec}.ShiftLeft(KernelGenHelpers.LoadWidenUInt16x{lanes}(ref s0, i), 16).AsSingle().StoreUnsafe(ref y0, (nuint)i);");
                    break;
            }
            w.CloseBlock();
            w.OpenBlock("for (; i < n; i++)");
            w.WriteLine($"dst[i] = {scalar};");
            w.CloseBlock();
            w.CloseBlock();
            w.WriteLine();
        }
    }
}
