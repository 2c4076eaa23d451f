using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using KernelGen.Generators.Diagnostics;
using KernelGen.Generators.Emit;
using KernelGen.Generators.Helpers;
using KernelGen.Generators.Model;
using KernelGen.Generators.Parser;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Text;

namespace KernelGen.Generators;

/// <summary>
/// Turns every <c>*.kgspec</c> AdditionalFile into a codec (scalar + SIMD decode, encode, logical block struct) and
/// emits one registry of all formats. See docs/SPEC-LANGUAGE.md for the spec language.
/// </summary>
[Generator(LanguageNames.CSharp)]
public sealed class KernelGenerator : IIncrementalGenerator
{
    /// <inheritdoc/>
    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        // MSBuild options (KernelGenNamespace, KernelGenVisibility, KernelGenFormats). The model is a small equatable
        // record, so editing C# never changes it and never re-runs anything downstream.
        // Whether the compilation allows unsafe code is reduced to a bool at once, so it compares by value too.
        IncrementalValueProvider<bool> allowUnsafe = context.CompilationProvider
            .Select(static (compilation, _) => compilation.Options is Microsoft.CodeAnalysis.CSharp.CSharpCompilationOptions { AllowUnsafe: true });
        IncrementalValueProvider<GeneratorOptions> options = context.AnalyzerConfigOptionsProvider
            .Select(static (provider, _) => ReadOptions(provider.GlobalOptions))
            .Combine(allowUnsafe)
            .Select(static (pair, _) => pair.Left with { AllowUnsafe = pair.Right })
            .WithTrackingName(StepNames.Options);

        // The spec files. We immediately reduce each AdditionalText to (path, text): plain strings compare by value,
        // and nothing from the compilation is captured, so C# edits leave this step (and everything after it) cached.
        IncrementalValuesProvider<SpecText> specTexts = context.AdditionalTextsProvider
            .Where(static text => text.Path.EndsWith(".kgspec", StringComparison.OrdinalIgnoreCase))
            .Select(static (text, ct) => new SpecText(text.Path, text.GetText(ct)?.ToString() ?? string.Empty))
            .WithTrackingName(StepNames.SpecText);

        // Parse each spec into the semantic model plus diagnostics (DiagnosticInfo records, no Location objects), so
        // the result is value-equatable and cacheable. A spec with errors yields no model.
        IncrementalValuesProvider<ParseResult> parsed = specTexts
            .Select(static (spec, ct) => SpecParser.Parse(spec.Path, spec.Text, ct))
            .WithTrackingName(StepNames.Parse);

        // The attribute API ([QuantizedMatVec] and friends on partial methods), which also knows the project's own formats.
        Api.ApiGenerator.Initialize(context, parsed, options);

        // Spec mistakes are reported from their own output, independently of emission.
        context.RegisterSourceOutput(parsed.Select(static (r, _) => r.Diagnostics), static (spc, diagnostics) =>
        {
            foreach (var diagnostic in diagnostics)
            {
                spc.ReportDiagnostic(diagnostic.ToDiagnostic());
            }
        });

        // The expensive part: emit each format's codec into a string, per format and cached (the Regex generator's
        // shape). Only a changed spec (or changed options) re-runs its emission.
        // Block specs and tensor-level specs (layout linear) have their own emitters.
        IncrementalValuesProvider<EmittedFormat> emitted = parsed
            .Where(static r => r.Spec is not null || r.Tensor is not null)
            .Select(static (r, _) => new ParseResult(r.Spec, EquatableArray<DiagnosticInfo>.Empty) { Tensor = r.Tensor })
            .Combine(options)
            .Where(static pair => pair.Right.EmitCpu && pair.Right.Includes(pair.Left.Name!))
            .Select(static (pair, ct) => pair.Left.Spec is not null
                ? FormatEmitter.Emit(pair.Left.Spec, pair.Right, ct)
                : TensorFormatEmitter.Emit(pair.Left.Tensor!, pair.Right, ct))
            .WithTrackingName(StepNames.Emit);

        // Collect only to dedupe (one file per format name), order deterministically, and build the registry.
        IncrementalValueProvider<OutputSet> outputs = emitted
            .Collect()
            .Combine(options)
            .Select(static (pair, _) => BuildOutputs(pair.Left, pair.Right))
            .WithTrackingName(StepNames.Collect);

        context.RegisterSourceOutput(outputs, static (spc, set) => AddOutputs(spc, set, "KernelGenRegistry.g.cs", "KernelGenHelpers.g.cs"));

        // The ILGPU backend, only when asked for (KernelGenBackends contains 'gpu'): the same parsed block specs go
        // through their own cached per-format emission. Tensor-level specs (layout linear) have no GPU kernels; they
        // reach the GPU as repacked block formats.
        IncrementalValuesProvider<EmittedFormat> gpuEmitted = parsed
            .Where(static r => r.Spec is not null)
            .Select(static (r, _) => r.Spec!)
            .Combine(options)
            .Where(static pair => pair.Right.EmitGpu && pair.Right.Includes(pair.Left.Name))
            .Select(static (pair, ct) => GpuEmitter.Emit(pair.Left, pair.Right, ct))
            .WithTrackingName(StepNames.GpuEmit);

        IncrementalValueProvider<OutputSet> gpuOutputs = gpuEmitted
            .Collect()
            .Combine(options)
            .Select(static (pair, _) => BuildGpuOutputs(pair.Left, pair.Right))
            .WithTrackingName(StepNames.GpuCollect);

        context.RegisterSourceOutput(gpuOutputs, static (spc, set) => AddOutputs(spc, set, "KernelGenGpuRegistry.g.cs", "KernelGenGpuSupport.g.cs"));
    }

    /// <summary>Reports a backend's diagnostics and adds its per-format files plus its registry and support file.</summary>
    private static void AddOutputs(SourceProductionContext spc, OutputSet set, string registryHint, string supportHint)
    {
        foreach (var diagnostic in set.Diagnostics)
        {
            spc.ReportDiagnostic(diagnostic.ToDiagnostic());
        }
        foreach (var format in set.Formats)
        {
            spc.AddSource(format.HintName, SourceText.From(format.Source, System.Text.Encoding.UTF8));
        }
        if (set.Formats.Count > 0)
        {
            spc.AddSource(registryHint, SourceText.From(set.RegistrySource, System.Text.Encoding.UTF8));
            spc.AddSource(supportHint, SourceText.From(set.HelpersSource, System.Text.Encoding.UTF8));
        }
    }

    private static GeneratorOptions ReadOptions(AnalyzerConfigOptions options)
    {
        string ns = options.TryGetValue("build_property.KernelGenNamespace", out var n) && !string.IsNullOrWhiteSpace(n)
            ? n.Trim()
            : GeneratorOptions.DefaultNamespace;
        bool isPublic = !(options.TryGetValue("build_property.KernelGenVisibility", out var v) && string.Equals(v.Trim(), "internal", StringComparison.OrdinalIgnoreCase));
        var filter = options.TryGetValue("build_property.KernelGenFormats", out var f) && !string.IsNullOrWhiteSpace(f)
            ? f.Split(new[] { ';', ',' }, StringSplitOptions.RemoveEmptyEntries).Select(s => s.Trim()).Where(s => s.Length > 0).ToEquatableArray()
            : EquatableArray<string>.Empty;
        // KernelGenBackends: ';'-separated 'cpu' and/or 'gpu'; empty means 'cpu' (the codecs only).
        bool cpu = true, gpu = false;
        if (options.TryGetValue("build_property.KernelGenBackends", out var b) && !string.IsNullOrWhiteSpace(b))
        {
            var backends = b.Split(new[] { ';', ',' }, StringSplitOptions.RemoveEmptyEntries).Select(s => s.Trim().ToLowerInvariant()).ToList();
            cpu = backends.Contains("cpu");
            gpu = backends.Contains("gpu");
        }
        return new GeneratorOptions(ns, isPublic, filter) { EmitCpu = cpu, EmitGpu = gpu };
    }

    private static OutputSet BuildGpuOutputs(ImmutableArray<EmittedFormat> formats, GeneratorOptions options)
    {
        var byName = new SortedDictionary<string, EmittedFormat>(StringComparer.Ordinal);
        var diagnostics = new List<DiagnosticInfo>();
        foreach (var format in formats.OrderBy(f => f.SourcePath, StringComparer.Ordinal))
        {
            if (byName.TryGetValue(format.Name, out var first))
            {
                // The CPU branch reports the same duplicate when it runs too.
                if (!options.EmitCpu)
                {
                    diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.DuplicateFormat, format.SourcePath, new TextSpan(0, 0),
                        new LinePositionSpan(LinePosition.Zero, LinePosition.Zero), format.Name, FormatEmitter.FileName(first.SourcePath)));
                }
                continue;
            }
            byName.Add(format.Name, format);
        }
        var ordered = byName.Values.ToList();
        return new OutputSet(
            ordered.ToEquatableArray(),
            GpuSupportEmitter.EmitRegistry(ordered, options),
            GpuSupportEmitter.EmitSupport(options),
            diagnostics.ToEquatableArray());
    }

    private static OutputSet BuildOutputs(ImmutableArray<EmittedFormat> formats, GeneratorOptions options)
    {
        var byName = new SortedDictionary<string, EmittedFormat>(StringComparer.Ordinal);
        var diagnostics = new List<DiagnosticInfo>();
        foreach (var format in formats.OrderBy(f => f.SourcePath, StringComparer.Ordinal))
        {
            if (byName.TryGetValue(format.Name, out var first))
            {
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.DuplicateFormat, format.SourcePath, new TextSpan(0, 0),
                    new LinePositionSpan(LinePosition.Zero, LinePosition.Zero), format.Name, FormatEmitter.FileName(first.SourcePath)));
                continue;
            }
            byName.Add(format.Name, format);
        }
        var ordered = byName.Values.ToList();
        return new OutputSet(
            ordered.ToEquatableArray(),
            RegistryEmitter.Emit(ordered.Where(f => !f.IsTensorLevel).ToList(), options),
            HelpersEmitter.Emit(options.Namespace, options.AllowUnsafe),
            diagnostics.ToEquatableArray());
    }

    /// <summary>The path and text of one spec file: the first, value-equatable pipeline model.</summary>
    private sealed record SpecText(string Path, string Text);
}
