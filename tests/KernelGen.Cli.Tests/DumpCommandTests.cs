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
