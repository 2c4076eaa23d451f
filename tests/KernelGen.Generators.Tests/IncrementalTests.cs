using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace KernelGen.Generators.Tests;

/// <summary>
/// Pipeline caching, checked with the driver's step tracking: an unrelated C# edit re-runs nothing; editing one spec
/// re-parses and re-emits that spec only.
/// </summary>
public sealed class IncrementalTests
{
    private static readonly string[] s_trackedSteps = { StepNames.SpecText, StepNames.Parse, StepNames.Emit, StepNames.Collect };

    [Fact]
    public void Unrelated_csharp_edit_reuses_every_cached_step()
    {
        var compilation = GeneratorHarness.CreateCompilation("namespace User { public static class A { } }");
        var driver = GeneratorHarness.CreateDriver(GeneratorHarness.BuiltInSpecs()).RunGenerators(compilation);

        var edited = compilation.AddSyntaxTrees(CSharpSyntaxTree.ParseText("namespace User { public static class B { public static int X => 1; } }", GeneratorHarness.ParseOptions));
        driver = driver.RunGenerators(edited);
        var result = driver.GetRunResult().Results[0];

        foreach (var step in s_trackedSteps)
        {
            Assert.True(result.TrackedSteps.ContainsKey(step), $"step {step} was not tracked");
            foreach (var run in result.TrackedSteps[step])
            {
                foreach (var (_, reason) in run.Outputs)
                {
                    Assert.True(reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, $"step {step}: {reason}");
                }
            }
        }
        Assert.All(result.TrackedOutputSteps.SelectMany(s => s.Value).SelectMany(r => r.Outputs),
            o => Assert.True(o.Reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, o.Reason.ToString()));
    }

    [Fact]
    public void Editing_one_spec_reemits_only_that_format()
    {
        var specs = GeneratorHarness.BuiltInSpecs().ToList();
        var compilation = GeneratorHarness.CreateCompilation("namespace User { public static class A { } }");
        var driver = GeneratorHarness.CreateDriver(specs).RunGenerators(compilation);

        var q40 = specs.Single(s => s.Path.EndsWith("q4_0.kgspec", StringComparison.Ordinal));
        var changed = GeneratorHarness.Spec(q40.Path, q40.GetText()!.ToString().Replace("y = f32(q - 8) * d", "y = f32(q - 7) * d"));
        driver = driver.ReplaceAdditionalText(q40, changed).RunGenerators(compilation);
        var result = driver.GetRunResult().Results[0];

        var emitOutputs = result.TrackedSteps[StepNames.Emit].SelectMany(r => r.Outputs).ToList();
        var modified = emitOutputs.Where(o => o.Reason == IncrementalStepRunReason.Modified).ToList();
        Assert.Single(modified);
        Assert.Equal("Q4_0", ((KernelGen.Generators.Emit.EmittedFormat)modified[0].Value).Name);
        Assert.All(emitOutputs.Where(o => o.Reason != IncrementalStepRunReason.Modified),
            o => Assert.True(o.Reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, o.Reason.ToString()));
        Assert.Contains("(a_q[e] - 7)", result.GeneratedSources.Single(s => s.HintName == "Q4_0.g.cs").SourceText.ToString());
    }
}
