using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using KernelGen.Generators.Api.Model;
using KernelGen.Generators.Helpers;
using KernelGen.Generators.Model;
using KernelGen.Generators.Parser;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;

namespace KernelGen.Generators.Api;

/// <summary>
/// The attribute API pipeline: <c>[QuantizedMatVec]</c>, <c>[QuantizedMatMul]</c> and <c>[Dequantize]</c> on
/// <c>static partial</c> methods get generated bodies that call the format's generated kernel. Registered by
/// <see cref="KernelGenerator"/>, which passes in its parsed specs (the project's own formats) and options.
/// </summary>
internal static class ApiGenerator
{
    /// <summary>Assemblies whose presence means the GPU backend's package is referenced.</summary>
    private static readonly string[] s_gpuAssemblies = { "KernelGen.Gpu", "ILGPU" };

    public static void Initialize(IncrementalGeneratorInitializationContext context, IncrementalValuesProvider<ParseResult> parsed, IncrementalValueProvider<GeneratorOptions> options)
    {
        // One ForAttributeWithMetadataName per attribute (the cookbook's fast path: the compiler finds the attributed
        // nodes from its own index). The predicate only keeps method declarations; the transform reduces each method
        // to an equatable KernelMethodSpec (strings, numbers, DiagnosticInfo), so nothing from the compilation is kept
        // and an edit elsewhere leaves every later step cached.
        var matVec = ForKind(context, ApiParser.MatVecAttribute, KernelKind.MatVec);
        var matMul = ForKind(context, ApiParser.MatMulAttribute, KernelKind.MatMul);
        var dequantize = ForKind(context, ApiParser.DequantizeAttribute, KernelKind.Dequantize);
        IncrementalValuesProvider<KernelMethodSpec> methods = matVec.Collect()
            .Combine(matMul.Collect())
            .Combine(dequantize.Collect())
            .SelectMany(static (all, _) => all.Left.Left.AddRange(all.Left.Right).AddRange(all.Right))
            .WithTrackingName(StepNames.ApiMethods);

        // The project's own formats (from its .kgspec AdditionalFiles, after the KernelGenFormats filter), reduced to
        // the facts the API validates against. Built-in formats come from the specs embedded in this assembly.
        IncrementalValueProvider<EquatableArray<FormatFacts>> userFormats = parsed
            .Combine(options)
            .Select(static (pair, _) => FormatFacts.From(pair.Left, pair.Right.Namespace, isUserFormat: true) is { } f
                && (pair.Right.FormatFilter.Count == 0 || pair.Right.FormatFilter.Contains(f.Name)) ? f : null)
            .Where(static f => f is not null)
            .Collect()
            .Select(static (formats, _) => formats.OrderBy(f => f!.Name, StringComparer.Ordinal).Select(f => f!).ToEquatableArray())
            .WithTrackingName(StepNames.ApiFormats);

        // Whether the GPU package is referenced: re-evaluated per compilation, but a bool, so it compares equal.
        IncrementalValueProvider<ApiCompilationFacts> facts = context.CompilationProvider
            .Select(static (compilation, _) => new ApiCompilationFacts(compilation.ReferencedAssemblyNames.Any(a => Array.IndexOf(s_gpuAssemblies, a.Name) >= 0))
            {
                AllowUnsafe = compilation.Options is Microsoft.CodeAnalysis.CSharp.CSharpCompilationOptions { AllowUnsafe: true },
                HasGpuKernelCalls = compilation.GetTypeByMetadataName(ApiEmitter.GpuCallsType) is not null,
            });

        // Validate and emit each method on its own (cached per method, the Regex generator's shape).
        IncrementalValuesProvider<KernelMethodOutput> outputs = methods
            .Combine(userFormats)
            .Combine(facts)
            .Select(static (input, _) => ApiAnalyzer.Analyze(input.Left.Left, input.Left.Right, input.Right))
            .WithTrackingName(StepNames.ApiEmit);

        context.RegisterSourceOutput(outputs.Select(static (o, _) => o.Diagnostics), static (spc, diagnostics) =>
        {
            foreach (var diagnostic in diagnostics)
            {
                spc.ReportDiagnostic(diagnostic.ToDiagnostic());
            }
        });

        // Collect only to give every file a unique, deterministic hint name (overloads share a method name).
        context.RegisterSourceOutput(outputs.Where(static o => o.Source is not null).Collect(), static (spc, files) =>
        {
            var used = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            foreach (var file in files.OrderBy(f => f.HintName, StringComparer.Ordinal).ThenBy(f => f.Source, StringComparer.Ordinal))
            {
                string hint = file.HintName;
                for (int i = 2; !used.Add(hint); i++)
                {
                    hint = file.HintName + "_" + i;
                }
                spc.AddSource(hint + ".g.cs", SourceText.From(file.Source!, System.Text.Encoding.UTF8));
                if (file.ShapeSource is not null)
                {
                    spc.AddSource(hint + ".Shape.g.cs", SourceText.From(file.ShapeSource, System.Text.Encoding.UTF8));
                }
            }
        });
    }

    private static IncrementalValuesProvider<KernelMethodSpec> ForKind(IncrementalGeneratorInitializationContext context, string metadataName, KernelKind kind) =>
        context.SyntaxProvider
            .ForAttributeWithMetadataName(metadataName, ApiParser.IsCandidate, (ctx, ct) => ApiParser.Parse(ctx, kind, ct))
            .Where(static m => m is not null)
            .Select(static (m, _) => m!);
}
