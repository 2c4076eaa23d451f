using Microsoft.CodeAnalysis;

namespace KernelGen.Generators.Tests;

/// <summary>The generator over every built-in spec: no diagnostics, and the output compiles with zero diagnostics.</summary>
public sealed class GeneratorOutputTests
{
    [Fact]
    public void Builtin_specs_generate_code_that_compiles_without_any_warning()
    {
        var (result, output, generatorDiagnostics) = GeneratorHarness.Run(GeneratorHarness.BuiltInSpecs());

        Assert.Empty(generatorDiagnostics);
        Assert.Null(result.Results[0].Exception);
        var hintNames = result.Results[0].GeneratedSources.Select(s => s.HintName).OrderBy(n => n, StringComparer.Ordinal).ToArray();
        Assert.Contains("Q4_K.g.cs", hintNames);
        Assert.Contains("KernelGenRegistry.g.cs", hintNames);
        Assert.Contains("KernelGenHelpers.g.cs", hintNames);
        Assert.Contains("GPTQ.g.cs", hintNames);
        Assert.Equal(19 + 5 + 5 + 2, hintNames.Length); // ggml block formats, repack-target block formats, tensor-level formats, registry + helpers

        var problems = output.GetDiagnostics().Where(d => d.Severity >= DiagnosticSeverity.Warning).ToArray();
        Assert.True(problems.Length == 0, string.Join(Environment.NewLine, problems.Select(p => p.ToString())));
    }

    [Fact]
    public void Gpu_kernels_are_generated_only_when_the_gpu_backend_is_asked_for()
    {
        var (plain, _, _) = GeneratorHarness.Run(GeneratorHarness.BuiltInSpecs());
        Assert.DoesNotContain(plain.Results[0].GeneratedSources, s => s.HintName.Contains("Gpu", StringComparison.Ordinal));

        // gpu only: one kernel class per block format (tensor-level specs have none), the GPU registry and support
        // types, and no codecs (they live in the CPU project).
        var (gpu, _, diagnostics) = GeneratorHarness.Run(GeneratorHarness.BuiltInSpecs(), new Dictionary<string, string> { ["KernelGenBackends"] = "gpu" });
        Assert.Empty(diagnostics);
        Assert.Null(gpu.Results[0].Exception);
        var names = gpu.Results[0].GeneratedSources.Select(s => s.HintName).ToArray();
        Assert.Equal(24 + 2, names.Length); // 24 block formats (19 GGUF + 5 repack row formats) + support + registry
        Assert.All(names, n => Assert.Contains("Gpu", n, StringComparison.Ordinal));
        Assert.Contains("TQ1_0Gpu.g.cs", names);
        Assert.Contains("KernelGenGpuRegistry.g.cs", names);
        Assert.DoesNotContain("GPTQGpu.g.cs", names);

        var (both, _, _) = GeneratorHarness.Run(GeneratorHarness.BuiltInSpecs(), new Dictionary<string, string> { ["KernelGenBackends"] = "cpu;gpu" });
        Assert.Equal(24 + 5 + 2 + 24 + 2, both.Results[0].GeneratedSources.Length);
    }

    [Fact]
    public void Namespace_visibility_and_format_filter_come_from_msbuild_properties()
    {
        var props = new Dictionary<string, string>
        {
            ["KernelGenNamespace"] = "My.Kernels",
            ["KernelGenVisibility"] = "internal",
            ["KernelGenFormats"] = "Q4_0;Q8_0",
        };
        var (result, output, diagnostics) = GeneratorHarness.Run(GeneratorHarness.BuiltInSpecs(), props);
        Assert.Empty(diagnostics);
        var sources = result.Results[0].GeneratedSources;
        Assert.Equal(new[] { "KernelGenHelpers.g.cs", "KernelGenRegistry.g.cs", "Q4_0.g.cs", "Q8_0.g.cs" },
            sources.Select(s => s.HintName).OrderBy(n => n, StringComparer.Ordinal).ToArray());
        Assert.Contains("namespace My.Kernels;", sources.Single(s => s.HintName == "Q4_0.g.cs").SourceText.ToString());
        Assert.Contains("internal static partial class Q4_0Codec", sources.Single(s => s.HintName == "Q4_0.g.cs").SourceText.ToString());
        Assert.Empty(output.GetDiagnostics().Where(d => d.Severity >= DiagnosticSeverity.Warning));
    }

    [Fact]
    public void Generation_is_deterministic()
    {
        var a = GeneratorHarness.Run(GeneratorHarness.BuiltInSpecs()).Result.Results[0].GeneratedSources;
        var b = GeneratorHarness.Run(GeneratorHarness.BuiltInSpecs().Reverse()).Result.Results[0].GeneratedSources;
        Assert.Equal(a.Select(s => (s.HintName, s.SourceText.ToString())).OrderBy(x => x.HintName, StringComparer.Ordinal),
            b.Select(s => (s.HintName, s.SourceText.ToString())).OrderBy(x => x.HintName, StringComparer.Ordinal));
    }

    [Fact]
    public void Mutilated_specs_never_throw_and_never_emit_for_a_spec_with_errors()
    {
        // Delete or duplicate single characters all over every built-in spec: the generator must answer with
        // diagnostics or valid output, never an exception.
        var rng = new Random(1234);
        foreach (var spec in GeneratorHarness.BuiltInSpecs())
        {
            string text = spec.GetText()!.ToString();
            for (int trial = 0; trial < 12; trial++)
            {
                int at = rng.Next(text.Length);
                string mutated = trial % 2 == 0 ? text.Remove(at, 1) : text.Insert(at, text[rng.Next(text.Length)].ToString());
                var (result, output, diagnostics) = GeneratorHarness.Run(new[] { GeneratorHarness.Spec(spec.Path, mutated) });
                Assert.Null(result.Results[0].Exception);
                if (diagnostics.Any(d => d.Severity == DiagnosticSeverity.Error))
                {
                    Assert.Empty(result.Results[0].GeneratedSources);
                    Assert.All(diagnostics, d => Assert.StartsWith("KG1", d.Id));
                }
                else
                {
                    Assert.Empty(output.GetDiagnostics().Where(d => d.Severity >= DiagnosticSeverity.Warning));
                }
            }
        }
    }
}
