using System.Collections.Immutable;
using KernelGen.Generators;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Text;

namespace KernelGen.Generators.Tests;

/// <summary>Runs <see cref="KernelGenerator"/> in-memory with CSharpGeneratorDriver (no Verify dependency).</summary>
internal static class GeneratorHarness
{
    public static MetadataReference[] References => s_references.Value;

    private static readonly Lazy<MetadataReference[]> s_references = new(() =>
        ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!)
            .Split(Path.PathSeparator)
            .Where(p => p.EndsWith(".dll", StringComparison.OrdinalIgnoreCase))
            // The runtime library defines the built-in generated types; tests that generate them must not see it twice.
            .Where(p => !Path.GetFileName(p).Equals("KernelGen.Kernels.dll", StringComparison.OrdinalIgnoreCase))
            .Select(p => (MetadataReference)MetadataReference.CreateFromFile(p))
            .ToArray());

    /// <summary>The runtime library (attributes, drivers, built-in kernels), for tests of the attribute API.</summary>
    public static MetadataReference KernelsReference { get; } = MetadataReference.CreateFromFile(typeof(KernelGen.QuantizedMatVecAttribute).Assembly.Location);

    public static readonly CSharpParseOptions ParseOptions = new(LanguageVersion.Latest);

    public static string RepoRoot { get; } = FindRepoRoot();

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "KernelGen.sln")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException("KernelGen.sln not found above " + AppContext.BaseDirectory);
    }

    public static CSharpCompilation CreateCompilation(params string[] sources) =>
        CSharpCompilation.Create(
            "KernelGenGeneratorTests",
            sources.Select(s => CSharpSyntaxTree.ParseText(s, ParseOptions)),
            s_references.Value,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, allowUnsafe: true, nullableContextOptions: NullableContextOptions.Enable));

    /// <summary>A user project: <paramref name="source"/> in User.cs, referencing the runtime library (and <paramref name="extra"/>).</summary>
    public static CSharpCompilation CreateUserCompilation(string source, params MetadataReference[] extra) =>
        CSharpCompilation.Create(
            "UserProject",
            new[] { CSharpSyntaxTree.ParseText(source, ParseOptions, path: "User.cs") },
            s_references.Value.Append(KernelsReference).Concat(extra),
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, allowUnsafe: true, nullableContextOptions: NullableContextOptions.Enable));

    public static GeneratorDriver CreateDriver(IEnumerable<AdditionalText> specs, IReadOnlyDictionary<string, string>? buildProperties = null) =>
        CSharpGeneratorDriver.Create(
            new[] { new KernelGenerator().AsSourceGenerator() },
            additionalTexts: specs,
            parseOptions: ParseOptions,
            optionsProvider: new TestOptionsProvider(buildProperties ?? new Dictionary<string, string>()),
            driverOptions: new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: true));

    /// <summary>Runs the generator once over <paramref name="specs"/> and an empty compilation.</summary>
    public static (GeneratorDriverRunResult Result, Compilation Output, ImmutableArray<Diagnostic> GeneratorDiagnostics) Run(
        IEnumerable<AdditionalText> specs, IReadOnlyDictionary<string, string>? buildProperties = null)
    {
        var compilation = CreateCompilation("namespace User { public static class Placeholder { } }");
        var driver = CreateDriver(specs, buildProperties).RunGeneratorsAndUpdateCompilation(compilation, out var output, out var diagnostics);
        return (driver.GetRunResult(), output, diagnostics);
    }

    public static AdditionalText Spec(string path, string text) => new InMemoryAdditionalText(path, text);

    public static IEnumerable<AdditionalText> BuiltInSpecs() =>
        Directory.GetFiles(Path.Combine(RepoRoot, "formats"), "*.kgspec")
            .OrderBy(p => p, StringComparer.Ordinal)
            .Select(p => Spec(p, File.ReadAllText(p)));

    public static AdditionalText BuiltInSpec(string fileName)
    {
        string path = Path.Combine(RepoRoot, "formats", fileName);
        return Spec(path, File.ReadAllText(path));
    }

    private sealed class InMemoryAdditionalText : AdditionalText
    {
        private readonly SourceText _text;

        public InMemoryAdditionalText(string path, string text)
        {
            Path = path;
            _text = SourceText.From(text);
        }

        public override string Path { get; }

        public override SourceText GetText(CancellationToken cancellationToken = default) => _text;
    }

    private sealed class TestOptionsProvider : AnalyzerConfigOptionsProvider
    {
        private readonly DictionaryOptions _global;

        public TestOptionsProvider(IReadOnlyDictionary<string, string> properties) =>
            _global = new DictionaryOptions(properties.ToDictionary(kv => "build_property." + kv.Key, kv => kv.Value));

        public override AnalyzerConfigOptions GlobalOptions => _global;

        public override AnalyzerConfigOptions GetOptions(SyntaxTree tree) => DictionaryOptions.Empty;

        public override AnalyzerConfigOptions GetOptions(AdditionalText textFile) => DictionaryOptions.Empty;
    }

    private sealed class DictionaryOptions : AnalyzerConfigOptions
    {
        public static readonly DictionaryOptions Empty = new(new Dictionary<string, string>());

        private readonly Dictionary<string, string> _values;

        public DictionaryOptions(Dictionary<string, string> values) => _values = values;

        public override bool TryGetValue(string key, out string value) => _values.TryGetValue(key, out value!);
    }
}
