using System.Buffers.Binary;
using System.Text;
using KernelGen.Tests.Infrastructure;

namespace KernelGen.Tests.Cli;

/// <summary>Broken files through the real process: exit code 2, one short line on stderr, no stack trace.</summary>
public class BadInputTests
{
    public static TheoryData<string, byte[]> Cases()
    {
        byte[] good = File.ReadAllBytes(RepoPaths.Model("tiny-llama-Q8_0.gguf"));
        static byte[] Patch(byte[] b, int at, byte[] v) { var c = (byte[])b.Clone(); v.CopyTo(c, at); return c; }
        static byte[] U64(ulong v) { var b = new byte[8]; BinaryPrimitives.WriteUInt64LittleEndian(b, v); return b; }
        static byte[] St(string header, int dataBytes) { var h = Encoding.UTF8.GetBytes(header); return [.. U64((ulong)h.Length), .. h, .. new byte[dataBytes]]; }
        return new TheoryData<string, byte[]>
        {
            { "truncated.gguf", good[..200] },
            { "magic.gguf", Patch(good, 0, "GGUX"u8.ToArray()) },
            { "version.gguf", Patch(good, 4, [99, 0, 0, 0]) },
            { "ntensors.gguf", Patch(good, 8, U64(1UL << 60)) },
            { "keylen.gguf", Patch(good, 24, U64(1UL << 62)) },
            { "truncated_data.gguf", good[..^100] },
            { "header_huge.safetensors", [.. U64(1UL << 50), .. "{}"u8.ToArray()] },
            { "bad_json.safetensors", St("{not json}", 0) },
            { "shape.safetensors", St("""{"w":{"dtype":"F32","shape":[1099511627776,1099511627776],"data_offsets":[0,16]}}""", 16) },
            { "overlap.safetensors", St("""{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"v":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}}""", 24) },
            { "dtype.safetensors", St("""{"w":{"dtype":"Q9","shape":[4],"data_offsets":[0,16]}}""", 16) },
        };
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void ExitCode2AndOneLine(string name, byte[] bytes)
    {
        using var dir = new TempDir();
        string path = dir.File(name);
        File.WriteAllBytes(path, bytes);
        var r = CliHarness.RunProcess(null, "inspect", path);
        Assert.Equal(2, r.ExitCode);
        Assert.Single(r.StderrLines);
        Assert.StartsWith("error: " + path, r.StderrLines[0]);
        Assert.DoesNotContain("   at ", r.Stderr);
        Assert.DoesNotContain("Exception", r.Stderr);
        Assert.Equal("", r.Stdout);
    }

    [Fact]
    public void Inspecting9GiBFileKeepsPeakMemoryLow()
    {
        using var dir = new TempDir();
        string path = dir.File("big.gguf");
        const long rows = 36864, cols = 32768; // 4.5 GiB of F32 per tensor
        long bytes = rows * cols * 4;
        var g = new RawGguf().Header(3, 2, 1).KvString("general.architecture", "llama")
            .TensorInfo("a", [cols, rows], 0, 0).TensorInfo("b", [cols, rows], 0, (ulong)bytes).PadTo(32);
        using (var s = File.Create(path))
        {
            s.Write(g.ToArray());
            s.SetLength(g.Position + 2 * bytes);
        }
        var r = CliHarness.RunProcess(new Dictionary<string, string> { ["KERNELGEN_REPORT_PEAK_RSS"] = "1" }, "inspect", path, "--json");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("\"offset\": " + (g.Position + bytes), r.Stdout);
        string line = r.StderrLines.Single(l => l.StartsWith("peak-rss-bytes: "));
        long peak = long.Parse(line["peak-rss-bytes: ".Length..]);
        Assert.True(peak < 100L << 20, $"peak RSS {peak >> 20} MiB while inspecting a 9 GiB file");
    }
}
