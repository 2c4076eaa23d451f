using KernelGen.Containers;
using KernelGen.Containers.HuggingFace;
using KernelGen.Conversion;
using KernelGen.Conversion.Tensors;
using KernelGen.Conversion.Verification;
using KernelGen.Tests.Infrastructure;

namespace KernelGen.Tests.Conversion;

/// <summary>Float and GGUF models → GPTQ/AWQ checkpoints: exact from Q4_0/Q8_0, round-to-nearest otherwise, and back.</summary>
public class ToCheckpointTests
{
    private static void Convert(string input, string output, string kind, ConversionOptions options)
    {
        using var c = ModelOpener.Open(input);
        ConversionJob.Create(c, kind, options).Write(output, null, default);
    }

    private static ModelComparison.Result Compare(string a, string b, double tolerance = 0)
    {
        using var x = ModelOpener.Open(a);
        using var y = ModelOpener.Open(b);
        return ModelComparison.Compare(x, y, tolerance);
    }

    [Theory]
    [InlineData("Q4_0", 4)]
    [InlineData("Q8_0", 8)]
    public void LegacyBlocksBecomeSymmetricGroup32CheckpointsAndComeBackBitExact(string type, int bits)
    {
        using var dir = new TempDir();
        Convert(RepoPaths.Model("tiny-llama-f32.gguf"), dir.File("q.gguf"), "gguf", new ConversionOptions(type, Pure: true, Threads: 2));
        Convert(dir.File("q.gguf"), dir.File("gptq"), "gptq", new ConversionOptions(null, false, 2, Bits: bits, GroupSize: 32, Symmetric: true));
        using (var folder = HfModelFolder.Open(dir.File("gptq")))
        {
            Assert.Equal(CheckpointKind.Gptq, folder.Checkpoint);
            Assert.True(folder.Quantization!.Sym);
            Assert.Equal("gptq", folder.Quantization.CheckpointFormat);
        }
        Assert.True(Compare(dir.File("q.gguf"), dir.File("gptq")).Passed);
        // And into GGUF again: the layers land in the same block type, bit for bit.
        Convert(dir.File("gptq"), dir.File("back.gguf"), "gguf", new ConversionOptions(null, false, 2));
        var back = Compare(dir.File("q.gguf"), dir.File("back.gguf"));
        Assert.True(back.Passed, string.Join(", ", back.Tensors.Where(t => !t.WithinTolerance).Select(t => t.Name)));
    }

    [Theory]
    [InlineData("gptq", 4, 128, false)]
    [InlineData("gptq", 3, 64, true)]
    [InlineData("gptq", 8, -1, false)]
    [InlineData("awq", 4, 64, false)]
    public void FloatModelsAreRoundedToNearestWithinTheBitWidthsError(string kind, int bits, int group, bool sym)
    {
        using var dir = new TempDir();
        Convert(RepoPaths.Model("tiny-llama-f32.gguf"), dir.File("ckpt"), kind, new ConversionOptions(null, false, 2, bits, group, sym));
        double bound = bits switch { 3 => 0.25, 4 => 0.12, _ => 0.01 };
        var r = Compare(RepoPaths.Model("tiny-llama-f32.gguf"), dir.File("ckpt"), bound);
        Assert.True(r.Passed, string.Join(", ", r.Tensors.Where(t => !t.WithinTolerance).Select(t => $"{t.Name} {t.Error.Relative:P2}")));
        Assert.Equal(14, r.Tensors.Count(t => t.Name.EndsWith("_proj.weight", StringComparison.Ordinal) && !t.Error.BitExact));
        using var folder = HfModelFolder.Open(dir.File("ckpt"));
        Assert.Equal(kind == "gptq" ? CheckpointKind.Gptq : CheckpointKind.Awq, folder.Checkpoint);
        Assert.Equal(bits, folder.Quantization!.Bits);
        var layer = (QuantizedLayerTensor)ModelTensors.Open(folder, "model.layers.0.mlp.down_proj");
        Assert.Empty(layer.Warnings); // never a damaged v1 zero point
    }

    [Fact]
    public void AwqRefusesWhatItCannotStore()
    {
        using var c = ModelOpener.Open(RepoPaths.Model("tiny-llama-f32.gguf"));
        Assert.Throws<NotSupportedException>(() => ConversionJob.Create(c, "awq", new ConversionOptions(null, false, 1, Bits: 8)));
        Assert.Throws<NotSupportedException>(() => ConversionJob.Create(c, "gptq", new ConversionOptions("Q4_0", false, 1)));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("TQ1_0")]
    public void BitNetGoesToTernaryGgufAndBackLosslessly(string? type)
    {
        using var dir = new TempDir();
        string bitnet = Path.Combine(RepoPaths.TestData, "vectors", "quant", "bitnet", "bitnet_autobitlinear_offline_256x512");
        Convert(bitnet, dir.File("t.gguf"), "gguf", new ConversionOptions(type, false, 2));
        using (var g = KernelGen.Containers.Gguf.GgufFile.Open(dir.File("t.gguf")))
            Assert.Equal(type ?? "TQ2_0", g.Tensors.Single().TypeName);
        Assert.True(Compare(bitnet, dir.File("t.gguf")).Passed);
        Convert(dir.File("t.gguf"), dir.File("back"), "bitnet", new ConversionOptions(null, false, 2));
        Assert.True(Compare(bitnet, dir.File("back")).Passed);
        using var folder = HfModelFolder.Open(dir.File("back"));
        Assert.Equal(CheckpointKind.BitNet, folder.Checkpoint);
        Assert.Equal("autobitlinear", folder.Quantization!.BitNetLinearClass);
    }

    [Fact]
    public void FloatModelsTernariseWithAbsMean()
    {
        using var dir = new TempDir();
        Convert(RepoPaths.Model("tiny-llama-f32.gguf"), dir.File("bitnet"), "bitnet", new ConversionOptions(null, false, 2));
        using var folder = HfModelFolder.Open(dir.File("bitnet"));
        var layer = ModelTensors.Open(folder, "model.layers.1.mlp.up_proj");
        var w = new float[layer.ElementCount];
        layer.ReadRows(0, (int)layer.RowCount, w);
        Assert.Equal(3, w.Distinct().Count()); // -s, 0, +s
    }
}
