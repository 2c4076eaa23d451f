using System.Text.Json;
using KernelGen.Containers;
using KernelGen.Containers.Gguf;
using KernelGen.Containers.HuggingFace;
using KernelGen.Containers.Safetensors;
using KernelGen.Conversion;
using KernelGen.Conversion.Tensors;
using KernelGen.Formats;
using KernelGen.IO;
using KernelGen.Kernels.Generated;
using KernelGen.Tests.Infrastructure;

namespace KernelGen.Tests.Conversion;

/// <summary>GPTQ ↔ AWQ repacks and checkpoint → GGUF conversions: lossless where the formats allow, checked by decoding both sides.</summary>
public class CheckpointConversionTests
{
    private const string Layer = "model.layers.0.self_attn.q_proj";

    private static string Vector(string folder) => Path.Combine(RepoPaths.TestData, "vectors", "quant", folder);

    private static float[] Decode(string path, string tensor)
    {
        using var c = ModelOpener.Open(path);
        var t = ModelTensors.Open(c, tensor);
        var data = new float[t.ElementCount];
        t.ReadRows(0, (int)t.RowCount, data);
        return data;
    }

    private static void Convert(string input, string output, string kind, string? type = null)
    {
        using var c = ModelOpener.Open(input);
        ConversionJob.Create(c, kind, type, pure: false, threads: 2).Write(output, null, default);
    }

    [Theory]
    [InlineData("awq/awq_gemm_b4_g128_512x256", "gptq", "awq")]
    [InlineData("gptq/gptq_b4_g128_asym_act0_512x128", "awq", "gptq")]
    public void RepacksAreLosslessBothWays(string source, string first, string back)
    {
        using var dir = new TempDir();
        Convert(Vector(source), dir.File("a"), first);
        Convert(dir.File("a"), dir.File("b"), back);
        float[] original = Decode(Vector(source), Layer);
        Assert.Equal(original, Decode(dir.File("a"), Layer));
        Assert.Equal(original, Decode(dir.File("b"), Layer));
        using var repacked = HfModelFolder.Open(dir.File("a"));
        Assert.Equal(first == "gptq" ? CheckpointKind.Gptq : CheckpointKind.Awq, repacked.Checkpoint);
        Assert.Equal(128, repacked.Quantization!.GroupSize);
        // The bias (a plain tensor) travels unchanged.
        Assert.NotNull(repacked.Find(Layer + ".bias"));
        Assert.True(File.Exists(dir.File(first == "gptq" ? "a/quantize_config.json" : "a/quant_config.json")));
    }

    [Fact]
    public void AwqZeroPointsOfZeroAreWrittenAsGptqV2()
    {
        // AWQ's asymmetric zero points include 0, which GPTQ v1 (stored zero - 1) cannot hold without damage.
        using var dir = new TempDir();
        Convert(Vector("awq/awq_gemm_b4_g128_512x256"), dir.File("g"), "gptq");
        using var doc = JsonDocument.Parse(File.ReadAllText(dir.File("g/quantize_config.json")));
        using var folder = HfModelFolder.Open(Vector("awq/awq_gemm_b4_g128_512x256"));
        bool hasZero = ((QuantizedLayerTensor)ModelTensors.Open(folder, Layer)).ReadFields()!.Zeros.Contains(0);
        Assert.Equal(hasZero ? "gptq_v2" : "gptq", doc.RootElement.GetProperty("checkpoint_format").GetString());
    }

    [Theory]
    [InlineData(4, 32, 8, "Q4_0")]
    [InlineData(4, 128, 8, "Q4_0")]
    [InlineData(8, 32, 128, "Q8_0")]
    public void SymmetricGptqLandsExactlyInLegacyBlocks(int bits, int group, int zero, string expected)
    {
        using var dir = new TempDir();
        string folder = WriteRandomGptq(dir.File("gptq"), bits, group, _ => zero, scale: _ => 0.01f);
        Convert(folder, dir.File("o.gguf"), "gguf");
        using var gguf = GgufFile.Open(dir.File("o.gguf"));
        var weight = gguf.Tensors.Single(t => t.Ne.Count == 2);
        Assert.Equal(expected, weight.TypeName);
        Assert.Equal(Decode(folder, Layer), Decode(dir.File("o.gguf"), weight.Name));
    }

    [Fact]
    public void AsymmetricGptqWithExactMinsLandsInQ4_1AndOthersAreChosenByError()
    {
        using var dir = new TempDir();
        // Scales that are powers of two make -s*z exact in fp16: Q4_1 holds the layer bit for bit.
        string exact = WriteRandomGptq(dir.File("exact"), 4, 32, i => 1 + i % 15, scale: _ => 0.0078125f);
        Convert(exact, dir.File("e.gguf"), "gguf");
        using (var g = GgufFile.Open(dir.File("e.gguf")))
        {
            var w = g.Tensors.Single(t => t.Ne.Count == 2);
            Assert.Equal("Q4_1", w.TypeName);
            Assert.Equal(Decode(exact, Layer), Decode(dir.File("e.gguf"), w.Name));
        }
        // Irregular scales: no exact block; the converter picks a 4-bit type by measured error.
        string lossy = WriteRandomGptq(dir.File("lossy"), 4, 32, i => 1 + i % 15, scale: i => 0.01f + 0.0001f * (i % 97));
        Convert(lossy, dir.File("l.gguf"), "gguf");
        using var l = GgufFile.Open(dir.File("l.gguf"));
        var lw = l.Tensors.Single(t => t.Ne.Count == 2);
        Assert.Contains(lw.TypeName, new[] { "Q4_K", "Q4_1", "IQ4_NL", "Q4_0" });
        float[] want = Decode(lossy, Layer), got = Decode(dir.File("l.gguf"), lw.Name);
        double err = 0, norm = 0;
        for (int i = 0; i < want.Length; i++) { err += (want[i] - got[i]) * (double)(want[i] - got[i]); norm += want[i] * (double)want[i]; }
        Assert.InRange(Math.Sqrt(err / norm), 0, 0.1);
    }

    /// <summary>A one-layer GPTQ v1 checkpoint (64 outputs x 256 inputs) with random codes and the given zero points and scales.</summary>
    private static string WriteRandomGptq(string folder, int bits, int group, Func<int, int> zeroOf, Func<int, float> scale)
    {
        const int n = 64, k = 256;
        var layout = new GPTQLayout(n, k, bits, group, GPTQCheckpoint.Gptq);
        var random = new Random(bits * 1000 + group);
        int groups = (int)layout.GroupCount, mask = (1 << bits) - 1;
        var codes = Enumerable.Range(0, n * k).Select(_ => random.Next(1 << bits)).ToArray();
        var stored = Enumerable.Range(0, n * groups).Select(i => (zeroOf(i) - 1) & mask).ToArray();
        var scales = Enumerable.Range(0, n * groups).Select(i => BitConverter.HalfToUInt16Bits((Half)scale(i))).ToArray();
        var groupOf = Enumerable.Range(0, k).Select(i => i / group).ToArray();
        byte[] qweight = new byte[layout.QweightBytes], qzeros = new byte[layout.QzerosBytes], sc = new byte[layout.ScalesBytes], gIdx = new byte[layout.GIdxBytes];
        GPTQCodec.Encode(layout, codes, stored, scales, groupOf, qweight, qzeros, sc, gIdx);
        Directory.CreateDirectory(folder);
        var w = new SafetensorsWriter();
        w.AddTensor(Layer + ".qweight", SafetensorsDType.I32, [layout.QweightRows, layout.QweightColumns], TensorDataSource.FromMemory(qweight));
        w.AddTensor(Layer + ".qzeros", SafetensorsDType.I32, [layout.QzerosRows, layout.QzerosColumns], TensorDataSource.FromMemory(qzeros));
        w.AddTensor(Layer + ".scales", SafetensorsDType.F16, [layout.ScalesRows, layout.ScalesColumns], TensorDataSource.FromMemory(sc));
        w.AddTensor(Layer + ".g_idx", SafetensorsDType.I32, [layout.GIdxLength], TensorDataSource.FromMemory(gIdx));
        w.WriteFile(Path.Combine(folder, "model.safetensors"), overwrite: false);
        File.WriteAllText(Path.Combine(folder, "quantize_config.json"),
            $$"""{"bits":{{bits}},"group_size":{{group}},"desc_act":false,"sym":{{(zeroOf(0) == 1 << (bits - 1) ? "true" : "false")}},"quant_method":"gptq","checkpoint_format":"gptq"}""");
        return folder;
    }
}
