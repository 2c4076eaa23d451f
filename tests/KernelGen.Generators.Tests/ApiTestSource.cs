using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Text;

namespace KernelGen.Generators.Tests;

/// <summary>
/// Runs the generator over a user source in which the expected diagnostic span is marked <c>[|...|]</c>, against a
/// reference to the runtime library (as a project with the KernelGen package compiles).
/// </summary>
internal static class ApiTestSource
{
    public const string Usings = "using System;\nusing KernelGen;\nusing KernelGen.Kernels.Threading;\n\nnamespace User;\n\n";

    public static (string Source, TextSpan Span) Markup(string markup)
    {
        int start = markup.IndexOf("[|", StringComparison.Ordinal);
        int end = markup.IndexOf("|]", StringComparison.Ordinal);
        Assert.True(start >= 0 && end > start, "markup needs [| and |]");
        string source = markup.Remove(end, 2).Remove(start, 2);
        return (source, new TextSpan(start, end - start - 2));
    }

    public static (GeneratorDriverRunResult Result, Compilation Output, IReadOnlyList<Diagnostic> GeneratorDiagnostics) Run(
        string source, IEnumerable<AdditionalText>? specs = null, IReadOnlyDictionary<string, string>? properties = null, params MetadataReference[] extra)
    {
        var compilation = GeneratorHarness.CreateUserCompilation(source, extra);
        var driver = GeneratorHarness.CreateDriver(specs ?? Array.Empty<AdditionalText>(), properties)
            .RunGeneratorsAndUpdateCompilation(compilation, out var output, out var diagnostics);
        return (driver.GetRunResult(), output, diagnostics);
    }

    /// <summary>Asserts that the generator reports exactly one diagnostic, <paramref name="id"/>, exactly at the marked span.</summary>
    public static Diagnostic AssertSingleAt(string markup, string id, params MetadataReference[] extra)
    {
        var (source, span) = Markup(markup);
        var (_, output, diagnostics) = Run(source, extra: extra);
        var diagnostic = Assert.Single(diagnostics);
        Assert.Equal(id, diagnostic.Id);
        Assert.Equal("User.cs", diagnostic.Location.GetLineSpan().Path);
        Assert.Equal(source.Substring(span.Start, span.Length), source.Substring(diagnostic.Location.SourceSpan.Start, diagnostic.Location.SourceSpan.Length));
        Assert.Equal(span, diagnostic.Location.SourceSpan);
        var lineSpan = SourceText.From(source).Lines.GetLinePositionSpan(span);
        Assert.Equal(lineSpan, diagnostic.Location.GetLineSpan().Span);
        return diagnostic;
    }

    /// <summary>The compiler's own errors and warnings in the generated code and the user file, ignoring the listed ids.</summary>
    public static Diagnostic[] CompilerProblems(Compilation output, params string[] ignore) =>
        output.GetDiagnostics().Where(d => d.Severity >= DiagnosticSeverity.Warning && Array.IndexOf(ignore, d.Id) < 0).ToArray();
}
