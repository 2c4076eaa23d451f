using System.Diagnostics;
using System.Text.Json;
using KernelGen.Containers;
using KernelGen.Containers.Gguf;
using KernelGen.Conversion;
using KernelGen.Tests.Infrastructure;

namespace KernelGen.Tests.Conversion;

/// <summary>
/// An independent GGUF reader accepts what the converters write: the npm package <c>@huggingface/gguf</c> (installed by
/// the test into a cache folder, as the test run needs) parses every file and sees the same metadata keys and tensor
/// infos as KernelGen's reader. Needs Node.js and npm on the PATH.
/// </summary>
public class GgufJsAcceptanceTests
{
    private const string Package = "@huggingface/gguf@0.4.6";
    private static readonly Lazy<string> Installed = new(Install);

    [Fact]
    public void HuggingFaceGgufReaderParsesEveryConvertedFile()
    {
        using var dir = new TempDir();
        var outputs = new List<string>();
        void Convert(string input, string output, ConversionOptions options)
        {
            using var c = ModelOpener.Open(input);
            ConversionJob.Create(c, "gguf", options).Write(output, null, default);
            outputs.Add(output);
        }
        Convert(RepoPaths.Model("tiny-llama-f32.gguf"), dir.File("q4km.gguf"), new("Q4_K_M", false, 2));
        Convert(RepoPaths.Model("tiny-llama-f32.gguf"), dir.File("tq2.gguf"), new("TQ2_0", true, 2));
        Convert(RepoPaths.Model("tiny-llama-f32.gguf"), dir.File("iq4xs.gguf"), new("IQ4_XS", true, 2));
        Convert(Path.Combine(RepoPaths.TestData, "vectors", "quant", "awq", "awq_gemm_b4_g128_512x256"), dir.File("awq.gguf"), new(null, false, 2));
        Convert(Path.Combine(RepoPaths.TestData, "vectors", "quant", "bitnet", "bitnet_autobitlinear_offline_256x512"), dir.File("bitnet.gguf"), new(null, false, 2));

        string script = Path.Combine(Installed.Value, "dump.mjs");
        foreach (string file in outputs)
        {
            var psi = new ProcessStartInfo("node", [script, file]) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Installed.Value };
            using var p = Process.Start(psi)!;
            string stdout = p.StandardOutput.ReadToEnd(), stderr = p.StandardError.ReadToEnd();
            p.WaitForExit();
            Assert.True(p.ExitCode == 0, $"@huggingface/gguf rejected {Path.GetFileName(file)}: {stderr}");
            using var theirs = JsonDocument.Parse(stdout);
            using var mine = GgufFile.Open(file);
            var keys = theirs.RootElement.GetProperty("keys").EnumerateArray().Select(k => k.GetString()!).Except(["version", "tensor_count", "kv_count"]);
            Assert.Equal(mine.Metadata.Select(kv => kv.Key).Order(), keys.Order());
            var tensors = theirs.RootElement.GetProperty("tensors").EnumerateArray().ToList();
            Assert.Equal(mine.Tensors.Count, tensors.Count);
            foreach (var (t, j) in mine.Tensors.Zip(tensors))
            {
                Assert.Equal(t.Name, j.GetProperty("name").GetString());
                Assert.Equal(t.Ne, j.GetProperty("ne").EnumerateArray().Select(x => x.GetInt64()));
                Assert.Equal(t.TypeId, j.GetProperty("type").GetUInt32());
                Assert.Equal((long)t.RelativeOffset, j.GetProperty("offset").GetInt64());
            }
        }
    }

    private static string Install()
    {
        string folder = Path.Combine(Path.GetTempPath(), "kernelgen-ggufjs");
        using var mutex = new Mutex(false, "kernelgen-ggufjs-install");
        mutex.WaitOne();
        try
        {
            Directory.CreateDirectory(folder);
            if (!Directory.Exists(Path.Combine(folder, "node_modules", "@huggingface", "gguf")))
            {
                Run("npm", folder, "init", "-y");
                Run("npm", folder, "install", "--no-audit", "--no-fund", Package);
            }
            File.WriteAllText(Path.Combine(folder, "dump.mjs"), """
                import { gguf } from "@huggingface/gguf";
                const r = await gguf(process.argv[2], { allowLocalFile: true });
                console.log(JSON.stringify({ keys: Object.keys(r.metadata),
                  tensors: r.tensorInfos.map(t => ({ name: t.name, ne: t.shape.map(Number), type: t.dtype, offset: Number(t.offset) })) }));
                """);
            return folder;
        }
        finally
        {
            mutex.ReleaseMutex();
        }
    }

    private static void Run(string command, string folder, params string[] args)
    {
        ProcessStartInfo psi = new(command, args) { WorkingDirectory = folder, RedirectStandardOutput = true, RedirectStandardError = true };
        Process p;
        try
        {
            p = Process.Start(psi)!;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException($"this test needs Node.js and npm on the PATH ({command}: {e.Message})", e);
        }
        using (p)
        {
            string err = p.StandardError.ReadToEndAsync().Result;
            p.StandardOutput.ReadToEnd();
            if (!p.WaitForExit(300_000)) throw new TimeoutException($"{command} {string.Join(' ', args)} took over 5 minutes");
            if (p.ExitCode != 0) throw new InvalidOperationException($"{command} {string.Join(' ', args)} failed: {err}");
        }
    }
}
