using KernelGen.Generators.Model;
using KernelGen.Generators.Parser;

namespace KernelGen.Generators.Tests;

/// <summary>
/// The semantic model that later emitters (quantizers, dot kernels) consume: per-element placement of every packed
/// value, the scale structure and the formula.
/// </summary>
public sealed class ModelTests
{
    private static FormatSpec Load(string file)
    {
        var text = GeneratorHarness.BuiltInSpec(file);
        var result = SpecParser.Parse(text.Path, text.GetText()!.ToString(), CancellationToken.None);
        Assert.Empty(result.Diagnostics);
        return result.Spec!;
    }

    [Fact]
    public void Q4_K_placements_match_ggml_get_scale_min_k4()
    {
        var spec = Load("q4_K.kgspec");
        Assert.Equal((256, 144, 12, "Q8_K"), (spec.BlockElements, spec.BlockBytes, spec.GgmlTypeId!.Value, spec.Activation));

        var sc = spec.FindArray("sc")!;
        Assert.Equal(32, sc.GroupSize);
        // j = 5: low 4 bits in scales[9] bits 0..3 (block byte 13), high 2 bits in scales[1] bits 6..7 (block byte 5).
        Assert.Equal(new[]
        {
            new BitPlacement(PieceKind.Bits, 13, 0, 4, 0, 0),
            new BitPlacement(PieceKind.Bits, 5, 6, 2, 4, 0),
        }, sc.PlacementOf(5));

        var q = spec.FindArray("q")!;
        // Element 64c + 32 + l lives in the high nibble of qs[32c + l]: e = 100 → c = 1, l = 4 → block byte 16 + 36.
        Assert.Equal(new[] { new BitPlacement(PieceKind.Bits, 52, 4, 4, 0, 0) }, q.PlacementOf(100));

        Assert.Equal(new[] { "d1", "m1", "y" }, spec.Lets.Select(l => l.Name).ToArray());
        Assert.Equal(32, spec.Lets[0].Value.Period); // hoistable per sub-block
        Assert.Equal(1, spec.Result.Value.Period);
    }

    [Fact]
    public void TQ1_0_and_Q5_0_expose_base3_digits_and_bit_planes()
    {
        var tq1 = Load("tq1_0.kgspec").FindArray("q")!;
        Assert.Equal(new[] { new BitPlacement(PieceKind.Trit, 48 + 1, 0, 2, 0, 2) }, tq1.PlacementOf(240 + 1 + 4 * 2));
        Assert.Equal(new[] { new BitPlacement(PieceKind.Trit, 32 + 5, 0, 2, 0, 3) }, tq1.PlacementOf(160 + 5 + 16 * 3));

        var q5 = Load("q5_0.kgspec").FindArray("q")!;
        // Element 19: low nibble in the high half of qs[3] (block byte 9), 5th bit = bit 19 of qh = byte 4, bit 3.
        Assert.Equal(new[]
        {
            new BitPlacement(PieceKind.Bits, 9, 4, 4, 0, 0),
            new BitPlacement(PieceKind.Stream, 4, 3, 1, 4, 0),
        }, q5.PlacementOf(19));
    }

    [Fact]
    public void Parsed_models_are_value_equal_across_parses()
    {
        var a = Load("q6_K.kgspec");
        var b = Load("q6_K.kgspec");
        Assert.Equal(a, b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
    }
}
