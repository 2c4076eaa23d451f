using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using KernelGen.Containers.Gguf;
using KernelGen.IO;
using KernelGen.Tests.Infrastructure;

namespace KernelGen.Tests.Cli;

/// <summary><c>kernelgen dump</c>: bit-exact float32 output against ggml's own dequantization.</summary>
public class DumpCommandTests
{
    public static TheoryData<string> VectorFiles()
    {
        var data = new TheoryData<string>();
        foreach (string f in Directory.GetFiles(Path.Combine(RepoPaths.TestData, "vectors", "ggml"), "*.bin").Order()) data.Add(Path.GetFileName(f));
        return data;
    }

    [Theory]
    [MemberData(nameof(VectorFiles))]
    public void GgufTensorDumpEqualsGgmlToFloat(string vectorFile)
    {
        // Section 3 of the vector file (ggml-quantized rows) in a GGUF tensor; section 4 is ggml's to_float of it.
        byte[] v = File.ReadAllBytes(Path.Combine(RepoPaths.TestData, "vectors", "ggml", vectorFile));
        uint type = BinaryPrimitives.ReadUInt32LittleEndian(v.AsSpan(32));
        int rows = BinaryPrimitives.ReadInt32LittleEndian(v.AsSpan(36)), len = BinaryPrimitives.ReadInt32LittleEndian(v.AsSpan(40));
        int rowBytes = BinaryPrimitives.ReadInt32LittleEndian(v.AsSpan(52));
        int q = 128 + 4 * rows + 4 * rows * len;
        var quantized = v.AsMemory(q, rows * rowBytes);
        var expected = v.AsSpan(q + rows * rowBytes, 4 * rows * len);

        using var dir = new TempDir();
        var md = new GgufMetadata();
        md.Set("general.architecture", GgufValue.String("vectors"));
        var writer = new GgufWriter(md);
        writer.AddTensor("w.weight", [len, rows], type, TensorDataSource.FromMemory(quantized));
        writer.WriteFile(dir.File("v.gguf"), false);

        var r = CliHarness.Run("dump", dir.File("v.gguf"), "--tensor", "w.weight", "--out", dir.File("v.f32"));
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.True(expected.SequenceEqual(File.ReadAllBytes(dir.File("v.f32"))), $"{vectorFile}: dump differs from ggml's to_float");
    }

    public static TheoryData<string> Models => new() { "tiny-llama-f32", "tiny-llama-Q8_0", "tiny-llama-Q4_K_M" };

    [Theory]
    [MemberData(nameof(Models))]
    public void EveryModelTensorDumpMatchesTheManifestHash(string stem)
    {
        using var dir = new TempDir();
        foreach (var t in Manifest.ReadModel(RepoPaths.Model(stem + ".manifest.json")))
        {
            string output = dir.File(t.Name + ".f32");
            var r = CliHarness.Run("dump", RepoPaths.Model(stem + ".gguf"), "--tensor", t.Name, "--out", output);
            Assert.True(r.ExitCode == 0, r.Stderr);
            Assert.Equal(t.Sha256Dequant, Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(output))));
        }
    }

    [Fact]
    public void SafetensorsF16TensorDumpsExactly()
    {
        string file = Path.Combine(RepoPaths.TestData, "vectors", "quant", "gptq", "gptq_b4_g128_asym_act0_512x128", "model.safetensors");
        using var dir = new TempDir();
        var r = CliHarness.Run("dump", file, "--tensor", "model.layers.0.self_attn.q_proj.scales", "--out", dir.File("s.f32"));
        Assert.True(r.ExitCode == 0, r.Stderr);
        using var st = KernelGen.Containers.Safetensors.SafetensorsFile.Open(file);
        var raw = st.GetData(st.Find("model.layers.0.self_attn.q_proj.scales")!);
        var dumped = File.ReadAllBytes(dir.File("s.f32"));
        Assert.Equal(raw.Length * 2, dumped.Length);
        for (int i = 0; i < raw.Length / 2; i++)
            Assert.Equal((float)BitConverter.UInt16BitsToHalf(BinaryPrimitives.ReadUInt16LittleEndian(raw[(2 * i)..])), BinaryPrimitives.ReadSingleLittleEndian(dumped.AsSpan(4 * i)));
    }

    [Fact]
    public void WithoutOutPrintsASummary()
    {
        var r = CliHarness.Run("dump", RepoPaths.Model("tiny-llama-Q8_0.gguf"), "--tensor", "output_norm.weight");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("shape    [256]", r.Stdout);
        Assert.Contains("stored   F32", r.Stdout);
        Assert.Contains("mean", r.Stdout);
    }

    [Fact]
    public void UnknownTensorIsBadInputWithAHint()
    {
        var r = CliHarness.Run("dump", RepoPaths.Model("tiny-llama-Q8_0.gguf"), "--tensor", "output_norm");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("did you mean 'output_norm.weight'", r.Stderr);
    }

    [Fact]
    public void ExistingOutputIsKeptWithoutForce()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("x.f32"), "keep");
        var r = CliHarness.Run("dump", RepoPaths.Model("tiny-llama-Q8_0.gguf"), "--tensor", "output_norm.weight", "--out", dir.File("x.f32"));
        Assert.Equal(2, r.ExitCode);
        Assert.Equal("keep", File.ReadAllText(dir.File("x.f32")));
        r = CliHarness.Run("dump", RepoPaths.Model("tiny-llama-Q8_0.gguf"), "--tensor", "output_norm.weight", "--out", dir.File("x.f32"), "--force");
        Assert.Equal(0, r.ExitCode);
        Assert.Equal(1024, new FileInfo(dir.File("x.f32")).Length);
    }
}

/// <summary><c>kernelgen dump</c> of GPTQ, AWQ and BitNet checkpoint layers: the original projects' dequantized weights, bit for bit.</summary>
public class QuantizedLayerDumpTests
{
    public static TheoryData<string, string, string> Layers() => new()
    {
        { "gptq/gptq_b3_g128_asym_act0_512x128", "model.layers.0.self_attn.q_proj", "weight_dequant" },
        { "gptq/gptq_b4_g128_asym_act0_512x128", "model.layers.0.self_attn.q_proj.weight", "weight_dequant" },
        { "gptq/gptq_b4_g128_asym_act1_512x128", "model.layers.0.self_attn.q_proj", "weight_dequant" },
        { "gptq/gptq_b4_g128_asym_act0_512x64_edgezero", "model.layers.0.self_attn.q_proj", "weight_dequant_gptqmodel" },
        { "awq/awq_gemm_b4_g128_512x256", "model.layers.0.self_attn.q_proj", "weight_dequant" },
    };

    [Theory]
    [MemberData(nameof(Layers))]
    public void LayerDumpEqualsTheReferenceWeights(string folder, string tensor, string reference)
    {
        string dirPath = Path.Combine(RepoPaths.TestData, "vectors", "quant", folder);
        using var dir = new TempDir();
        var r = CliHarness.Run("dump", dirPath, "--tensor", tensor, "--out", dir.File("w.f32"));
        Assert.True(r.ExitCode == 0, r.Stderr);
        using var refs = KernelGen.Containers.Safetensors.SafetensorsFile.Open(Path.Combine(dirPath, "reference.safetensors"));
        Assert.True(refs.GetData(refs.Find(reference)!).SequenceEqual(File.ReadAllBytes(dir.File("w.f32"))), $"{folder}: dump differs from {reference}");
        // The damaged v1 checkpoint (zero points stored as -1) is read as GPTQModel does, with a warning.
        Assert.Equal(folder.EndsWith("edgezero", StringComparison.Ordinal), r.Stderr.Contains("warning:", StringComparison.Ordinal));
    }

    [Fact]
    public void BitNetLayerDumpEqualsTernaryTimesScale()
    {
        string dirPath = Path.Combine(RepoPaths.TestData, "vectors", "quant", "bitnet", "bitnet_autobitlinear_offline_256x512");
        using var dir = new TempDir();
        var r = CliHarness.Run("dump", dirPath, "--tensor", "model.layers.0.mlp.down_proj", "--out", dir.File("w.f32"));
        Assert.True(r.ExitCode == 0, r.Stderr);
        using var refs = KernelGen.Containers.Safetensors.SafetensorsFile.Open(Path.Combine(dirPath, "reference.safetensors"));
        using var model = KernelGen.Containers.Safetensors.SafetensorsFile.Open(Path.Combine(dirPath, "model.safetensors"));
        float scale = BitConverter.UInt32BitsToSingle((uint)BinaryPrimitives.ReadUInt16LittleEndian(model.GetData(model.Find("model.layers.0.mlp.down_proj.weight_scale")!)) << 16);
        var ternary = refs.GetData(refs.Find("weight_ternary")!); // bf16
        var got = File.ReadAllBytes(dir.File("w.f32"));
        Assert.Equal(ternary.Length * 2, got.Length);
        for (int i = 0; i < ternary.Length / 2; i++)
        {
            float t = BitConverter.UInt32BitsToSingle((uint)BinaryPrimitives.ReadUInt16LittleEndian(ternary[(2 * i)..]) << 16);
            Assert.Equal(t * scale, BinaryPrimitives.ReadSingleLittleEndian(got.AsSpan(4 * i)));
        }
    }
}
