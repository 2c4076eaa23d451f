namespace KernelGen.Generators.Tests;

/// <summary>The README's attribute example is the sample program, character for character, so it always compiles.</summary>
public sealed class ReadmeSampleTests
{
    [Fact]
    public void Readme_example_is_the_sample_program()
    {
        const string marker = "<!-- sample: samples/KernelGen.Sample/Program.cs -->\n```csharp\n";
        string readme = File.ReadAllText(Path.Combine(GeneratorHarness.RepoRoot, "README.md")).ReplaceLineEndings("\n");
        string program = File.ReadAllText(Path.Combine(GeneratorHarness.RepoRoot, "samples", "KernelGen.Sample", "Program.cs")).ReplaceLineEndings("\n");
        int start = readme.IndexOf(marker, StringComparison.Ordinal);
        Assert.True(start >= 0, "README.md has no sample marker");
        start += marker.Length;
        int end = readme.IndexOf("```\n", start, StringComparison.Ordinal);
        Assert.Equal(program, readme.Substring(start, end - start));
    }
}
