// Snapshot tests of generated source for representative formats.
//
// The approved files live in tests/KernelGen.Generators.Tests/Approved/<Format>.g.cs. On a mismatch the test writes
// <Format>.received.cs next to the approved file (git-ignored) and fails with a diff. To accept the new output:
//
//     KERNELGEN_APPROVE=1 dotnet test tests/KernelGen.Generators.Tests
//
// (re-approves every snapshot in one run; review the diff of Approved/ before committing).

using System.Text;

namespace KernelGen.Generators.Tests;

public sealed class SnapshotTests
{
    private static string ApprovedDir => Path.Combine(GeneratorHarness.RepoRoot, "tests", "KernelGen.Generators.Tests", "Approved");

    [Theory]
    [InlineData("q4_0.kgspec", "Q4_0")]
    [InlineData("q4_K.kgspec", "Q4_K")]
    [InlineData("q6_K.kgspec", "Q6_K")]
    [InlineData("tq1_0.kgspec", "TQ1_0")]
    [InlineData("iq4_xs.kgspec", "IQ4_XS")]
    [InlineData("gptq.kgspec", "GPTQ")]
    public void Generated_source_matches_the_approved_snapshot(string spec, string format)
    {
        var (result, _, diagnostics) = GeneratorHarness.Run(new[] { GeneratorHarness.BuiltInSpec(spec) });
        Assert.Empty(diagnostics);
        string actual = Normalize(result.Results[0].GeneratedSources.Single(s => s.HintName == format + ".g.cs").SourceText.ToString());
        Verify(format + ".g.cs", actual);
    }

    [Theory]
    [InlineData("q4_K.kgspec", "Q4_K")]
    [InlineData("iq4_xs.kgspec", "IQ4_XS")]
    public void Generated_gpu_source_matches_the_approved_snapshot(string spec, string format)
    {
        var (result, _, diagnostics) = GeneratorHarness.Run(new[] { GeneratorHarness.BuiltInSpec(spec) },
            new Dictionary<string, string> { ["KernelGenBackends"] = "gpu", ["KernelGenNamespace"] = "KernelGen.Gpu.Generated" });
        Assert.Empty(diagnostics);
        string actual = Normalize(result.Results[0].GeneratedSources.Single(s => s.HintName == format + "Gpu.g.cs").SourceText.ToString());
        Verify(format + "Gpu.g.cs", actual);
    }

    [Fact]
    public void Registry_matches_the_approved_snapshot()
    {
        var (result, _, _) = GeneratorHarness.Run(new[] { GeneratorHarness.BuiltInSpec("q4_0.kgspec"), GeneratorHarness.BuiltInSpec("q8_0.kgspec") });
        Verify("KernelGenRegistry.g.cs", Normalize(result.Results[0].GeneratedSources.Single(s => s.HintName == "KernelGenRegistry.g.cs").SourceText.ToString()));
    }

    private static string Normalize(string text) => text.Replace("\r\n", "\n", StringComparison.Ordinal).TrimStart('\uFEFF');

    private static void Verify(string fileName, string actual)
    {
        string approvedPath = Path.Combine(ApprovedDir, fileName);
        string receivedPath = Path.Combine(ApprovedDir, Path.GetFileNameWithoutExtension(Path.GetFileNameWithoutExtension(fileName)) + ".received.cs");
        if (Environment.GetEnvironmentVariable("KERNELGEN_APPROVE") == "1")
        {
            Directory.CreateDirectory(ApprovedDir);
            File.WriteAllText(approvedPath, actual);
            File.Delete(receivedPath);
            return;
        }
        string? approved = File.Exists(approvedPath) ? Normalize(File.ReadAllText(approvedPath)) : null;
        if (approved == actual)
        {
            File.Delete(receivedPath);
            return;
        }
        File.WriteAllText(receivedPath, actual);
        Assert.Fail(approved is null
            ? $"No approved snapshot {approvedPath}; wrote {receivedPath}. Approve with: KERNELGEN_APPROVE=1 dotnet test tests/KernelGen.Generators.Tests"
            : $"Generated {fileName} differs from the approved snapshot (received: {receivedPath}). Approve with: KERNELGEN_APPROVE=1 dotnet test tests/KernelGen.Generators.Tests\n{Diff(approved, actual)}");
    }

    /// <summary>A compact line diff: the differing region with three lines of context.</summary>
    private static string Diff(string expected, string actual)
    {
        string[] a = expected.Split('\n'), b = actual.Split('\n');
        int start = 0;
        while (start < a.Length && start < b.Length && a[start] == b[start])
        {
            start++;
        }
        int endA = a.Length - 1, endB = b.Length - 1;
        while (endA >= start && endB >= start && a[endA] == b[endB])
        {
            endA--;
            endB--;
        }
        var sb = new StringBuilder();
        sb.AppendLine($"@@ -{start + 1},{endA - start + 1} +{start + 1},{endB - start + 1} @@");
        for (int i = Math.Max(0, start - 3); i < start; i++)
        {
            sb.Append("  ").AppendLine(a[i]);
        }
        for (int i = start; i <= endA && i < start + 40; i++)
        {
            sb.Append("- ").AppendLine(a[i]);
        }
        for (int i = start; i <= endB && i < start + 40; i++)
        {
            sb.Append("+ ").AppendLine(b[i]);
        }
        return sb.ToString();
    }
}
