using System.Collections.Generic;
using System.Linq;
using KernelGen.Generators.Api.Model;
using KernelGen.Generators.Diagnostics;
using KernelGen.Generators.Helpers;

namespace KernelGen.Generators.Api;

/// <summary>
/// Checks one kernel method against the format catalog (built-in specs plus the project's own): the format exists
/// and is a block format, K and N are whole blocks, Bits/GroupSize fit the format, the GPU backend has its package.
/// Then hands the method to <see cref="ApiEmitter"/>: a real body when everything is valid, otherwise a throwing
/// stub (when the declaration allows one), so the user sees only the KG2xxx error and not a missing-implementation one.
/// </summary>
internal static class ApiAnalyzer
{
    public static KernelMethodOutput Analyze(KernelMethodSpec method, EquatableArray<FormatFacts> userFormats, ApiCompilationFacts compilation)
    {
        var diagnostics = new List<DiagnosticInfo>(method.Diagnostics);
        var format = FormatCatalog.Find(method.Format, userFormats);
        if (format is null)
        {
            var close = FormatCatalog.Suggestions(method.Format, userFormats);
            string suggestion = close.Count > 0 ? $" (did you mean {string.Join(" or ", close.Select(c => "'" + c + "'"))}?)" : string.Empty;
            diagnostics.Add(method.FormatLocation.Diagnostic(DiagnosticDescriptors.UnknownFormat, method.Format, suggestion,
                string.Join(", ", FormatCatalog.BlockFormatNames(userFormats))));
        }
        else
        {
            CheckShape(method, format, diagnostics);
            CheckParameters(method, format, diagnostics);
            if (format.IsTensorLevel && diagnostics.Count == method.Diagnostics.Count)
            {
                diagnostics.Add(method.FormatLocation.Diagnostic(DiagnosticDescriptors.TensorFormatNotSupported, format.Name, method.AttributeName));
            }
        }
        if (method.Backend is { } backend)
        {
            if (backend.Value is not (0 or 1))
            {
                diagnostics.Add(backend.Location.Diagnostic(DiagnosticDescriptors.InvalidFormatParameter, "Backend", method.Format,
                    $"{backend.Value} is not a KernelBackend; use KernelBackend.Cpu or KernelBackend.Gpu"));
            }
            else if (backend.Value == 1 && !compilation.HasGpuPackage)
            {
                diagnostics.Add(backend.Location.Diagnostic(DiagnosticDescriptors.GpuPackageMissing, method.DisplayName));
            }
            else if (backend.Value == 1 && !ApiEmitter.RunsOnGpu(method, format, compilation))
            {
                diagnostics.Add(backend.Location.Diagnostic(DiagnosticDescriptors.GpuKernelFallback, method.DisplayName));
            }
        }
        bool hasErrors = diagnostics.Any(d => d.Descriptor.DefaultSeverity == Microsoft.CodeAnalysis.DiagnosticSeverity.Error);
        string? source = !method.CanImplement ? null
            : hasErrors || !method.SignatureOk || format is null ? ApiEmitter.EmitStub(method)
            : ApiEmitter.Emit(method, format, ApiEmitter.RunsOnGpu(method, format, compilation));
        string? shape = source is not null && !hasErrors && method.SignatureOk && format is not null ? ShapeEmitter.Emit(method, format, compilation.AllowUnsafe) : null;
        return new KernelMethodOutput(HintName(method), source, diagnostics.ToEquatableArray()) { ShapeSource = shape };
    }

    private static void CheckShape(KernelMethodSpec method, FormatFacts format, List<DiagnosticInfo> diagnostics)
    {
        foreach (var (value, name, from) in new[] { (method.K, "K", "x.Length"), (method.N, "N", "y.Length") })
        {
            if (value is not null && value.Value <= 0)
            {
                diagnostics.Add(value.Location.Diagnostic(DiagnosticDescriptors.InvalidShape,
                    $"{name} = {value.Value} must be positive; give the number of {(name == "K" ? "inputs per row" : "output rows")}, or remove {name} to take it from {from} at run time"));
            }
        }
        if (method.K is { Value: > 0 } k && !format.IsTensorLevel && k.Value % format.BlockElements != 0)
        {
            int lower = k.Value / format.BlockElements * format.BlockElements;
            int upper = lower + format.BlockElements;
            diagnostics.Add(k.Location.Diagnostic(DiagnosticDescriptors.InvalidShape,
                $"K = {k.Value} is not a multiple of {format.Name}'s block size {format.BlockElements} (rows are whole blocks); use a multiple such as {(lower > 0 ? lower + " or " : string.Empty)}{upper}, or another format"));
        }
    }

    private static void CheckParameters(KernelMethodSpec method, FormatFacts format, List<DiagnosticInfo> diagnostics)
    {
        foreach (var (value, name, param) in new[] { (method.Bits, "Bits", "bits"), (method.GroupSize, "GroupSize", "group_size") })
        {
            var spec = format.FindParam(param);
            if (spec is null)
            {
                if (value is not null)
                {
                    string why = format.IsTensorLevel
                        ? $"{format.Name} has no '{param}' parameter; remove {name}"
                        : $"{format.Name} is a block format with a fixed layout ({format.BlockElements} elements in {format.BlockBytes} bytes per block); remove {name}";
                    diagnostics.Add(value.Location.Diagnostic(DiagnosticDescriptors.InvalidFormatParameter, name, format.Name, why));
                }
                continue;
            }
            if (value is null)
            {
                diagnostics.Add(method.FormatLocation.Diagnostic(DiagnosticDescriptors.InvalidFormatParameter, name, format.Name,
                    $"{format.Name} needs {name} ({Allowed(spec)}); add '{name} = ...' to the attribute"));
                continue;
            }
            bool ok = spec.IsSet ? spec.Values.Contains(value.Value) : value.Value >= spec.Min || (spec.Sentinel is { } s && s == value.Value);
            if (!ok)
            {
                diagnostics.Add(value.Location.Diagnostic(DiagnosticDescriptors.InvalidFormatParameter, name, format.Name,
                    $"{value.Value} is not allowed; use {Allowed(spec)}"));
            }
            else if (name == "GroupSize" && value.Value > 0 && method.K is { Value: > 0 } k && k.Value % value.Value != 0)
            {
                diagnostics.Add(value.Location.Diagnostic(DiagnosticDescriptors.InvalidShape,
                    $"K = {k.Value} is not a whole number of groups of GroupSize = {value.Value}; use a group size that divides K"));
            }
        }
    }

    private static string Allowed(FormatParamFacts spec) => spec.IsSet
        ? "one of " + string.Join(", ", spec.Values)
        : $"a value >= {spec.Min}" + (spec.Sentinel is { } s ? $", or {s} for one group per row" : string.Empty);

    /// <summary>A readable hint name (<c>Namespace.Type.Method.g.cs</c>); the collect step makes it unique.</summary>
    private static string HintName(KernelMethodSpec method)
    {
        var parts = new List<string>();
        if (method.Namespace.Length > 0)
        {
            parts.Add(method.Namespace);
        }
        parts.AddRange(method.Types.Select(t => t.Name));
        parts.Add(method.MethodName.TrimStart('@'));
        var chars = string.Join(".", parts).Select(c => char.IsLetterOrDigit(c) || c is '.' or '_' ? c : '_').ToArray();
        return new string(chars);
    }
}
