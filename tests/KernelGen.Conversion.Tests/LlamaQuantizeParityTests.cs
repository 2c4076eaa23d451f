using System.Security.Cryptography;
using System.Text.Json;
using KernelGen.Containers.Gguf;
using KernelGen.Conversion.Gguf;
using KernelGen.Conversion.Quantization;
using KernelGen.Tests.Infrastructure;

namespace KernelGen.Tests.Conversion;

/// <summary>
/// Re-quantizing the tiny llama reproduces llama-quantize's outputs: the per-tensor types and bytes of all 17 files in
/// models/quantize (their manifest ships in tests/data; the files themselves stay in ../shared), and whole-file identity
/// (the manifest's file sha256).
/// </summary>
public class LlamaQuantizeParityTests
{
    public static TheoryData<string> Files()
    {
        var data = new TheoryData<string>();
        foreach (string f in Manifest.ReadQuantize(QuantizeManifest).Keys.Order()) data.Add(f);
        return data;
    }

    private static string QuantizeManifest => Path.Combine(RepoPaths.Models, "quantize", "manifest.json");

    [Theory]
    [MemberData(nameof(Files))]
    public void ConvertingTheF32ModelReproducesLlamaQuantize(string file)
    {
        // shared-Q4_K_M.gguf → --type Q4_K_M; shared-Q2_K-pure.gguf → --type Q2_K --pure
        string stem = file["shared-".Length..^".gguf".Length];
        bool pure = stem.EndsWith("-pure", StringComparison.Ordinal);
        var fileType = LlamaFileType.Parse(pure ? stem[..^"-pure".Length] : stem)!;
        using var source = GgufFile.Open(RepoPaths.Model("tiny-llama-f32.gguf"));
        using var dir = new TempDir();
        var converter = new GgufRequantizer(source, fileType, pure) { Threads = 2 };
        converter.Write(dir.File("out.gguf"), overwrite: false);

        var want = Manifest.ReadQuantize(QuantizeManifest)[file];
        using var output = GgufFile.Open(dir.File("out.gguf"));
        Assert.Equal(want.Select(t => (t.Name, t.Type)), output.Tensors.Select(t => (t.Name, t.TypeName)));
        foreach (var (w, got) in want.Zip(output.Tensors))
            Assert.True(w.Sha256Raw == Convert.ToHexStringLower(SHA256.HashData(output.GetData(got))), $"{file}: {w.Name} ({w.Type}) bytes differ");

        using var doc = JsonDocument.Parse(File.ReadAllText(QuantizeManifest));
        var fileFacts = doc.RootElement.GetProperty(file);
        Assert.Equal(fileFacts.GetProperty("general.file_type").GetUInt32(), (uint)output.Metadata["general.file_type"].Raw);
        Assert.Equal(fileFacts.GetProperty("sha256").GetString(), Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(dir.File("out.gguf")))));
    }

    [Fact]
    public void DefaultMixturesOfQ8_0AndQ4_K_MReproduceTheShippedModels()
    {
        using var source = GgufFile.Open(RepoPaths.Model("tiny-llama-f32.gguf"));
        foreach (string stem in new[] { "Q8_0", "Q4_K_M" })
        {
            using var dir = new TempDir();
            new GgufRequantizer(source, LlamaFileType.Parse(stem)!, pure: false).Write(dir.File("o.gguf"), false);
            Assert.Equal(File.ReadAllBytes(RepoPaths.Model($"tiny-llama-{stem}.gguf")), File.ReadAllBytes(dir.File("o.gguf")));
        }
    }

    [Fact]
    public void ErrorsAreReportedForEveryRequantizedTensor()
    {
        using var source = GgufFile.Open(RepoPaths.Model("tiny-llama-f32.gguf"));
        using var dir = new TempDir();
        var converter = new GgufRequantizer(source, LlamaFileType.Parse("Q4_0")!, pure: true);
        converter.Write(dir.File("o.gguf"), false);
        Assert.Equal(16, converter.Errors.Count);
        Assert.All(converter.Errors.Values, e => Assert.InRange(e.Relative, 0.01, 0.2));
        Assert.DoesNotContain("output_norm.weight", converter.Errors.Keys);
    }
}
