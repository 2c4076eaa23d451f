using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace KernelGen.Generators.Tests;

/// <summary>The attribute API pipeline caches per method: an unrelated edit re-emits nothing; changing K re-emits that method only.</summary>
public sealed class ApiIncrementalTests
{
    private const string Kernels = ApiTestSource.Usings + """
        public static partial class Model
        {
            [QuantizedMatVec("Q4_K", K = 4096)]
            public static partial void A(ReadOnlySpan<byte> weights, ReadOnlySpan<float> x, Span<float> y);

            [Dequantize("Q8_0")]
            public static partial void B(ReadOnlySpan<byte> weights, Span<float> y);
        }
        """;

    private static IEnumerable<IncrementalStepRunReason> Reasons(GeneratorRunResult result, string step) =>
        result.TrackedSteps[step].SelectMany(r => r.Outputs).Select(o => o.Reason);

    [Fact]
    public void Unrelated_edit_keeps_the_api_steps_cached()
    {
        var compilation = GeneratorHarness.CreateUserCompilation(Kernels);
        var driver = GeneratorHarness.CreateDriver(Array.Empty<AdditionalText>()).RunGenerators(compilation);
        var edited = compilation.AddSyntaxTrees(CSharpSyntaxTree.ParseText("namespace User { public static class Other { public static int X => 2; } }", GeneratorHarness.ParseOptions, path: "Other.cs"));
        var result = driver.RunGenerators(edited).GetRunResult().Results[0];

        foreach (var step in new[] { StepNames.ApiMethods, StepNames.ApiFormats, StepNames.ApiEmit })
        {
            Assert.True(result.TrackedSteps.ContainsKey(step), $"step {step} was not tracked");
            Assert.All(Reasons(result, step), r => Assert.True(r is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, $"{step}: {r}"));
        }
        Assert.Equal(2, Reasons(result, StepNames.ApiEmit).Count());
        Assert.All(result.TrackedOutputSteps.SelectMany(s => s.Value).SelectMany(r => r.Outputs),
            o => Assert.True(o.Reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, o.Reason.ToString()));
    }

    [Fact]
    public void Changing_K_reemits_only_that_method()
    {
        var compilation = GeneratorHarness.CreateUserCompilation(Kernels);
        var driver = GeneratorHarness.CreateDriver(Array.Empty<AdditionalText>()).RunGenerators(compilation);
        var tree = compilation.SyntaxTrees.Single();
        var changed = compilation.ReplaceSyntaxTree(tree, tree.WithChangedText(tree.GetText().Replace(tree.ToString().IndexOf("4096", StringComparison.Ordinal), 4, "2048")));
        var result = driver.RunGenerators(changed).GetRunResult().Results[0];

        var emit = result.TrackedSteps[StepNames.ApiEmit].SelectMany(r => r.Outputs).ToList();
        var modified = Assert.Single(emit, o => o.Reason == IncrementalStepRunReason.Modified);
        Assert.Contains("public const int K = 2048;", ((KernelGen.Generators.Api.Model.KernelMethodOutput)modified.Value).Source, StringComparison.Ordinal);
        Assert.Single(emit, o => o.Reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged);
    }
}
