using System.Collections.Generic;
using System.Linq;
using System.Threading;
using KernelGen.Generators.Api.Model;
using KernelGen.Generators.Diagnostics;
using KernelGen.Generators.Helpers;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace KernelGen.Generators.Api;

/// <summary>
/// Reads one attributed method (the <c>ForAttributeWithMetadataName</c> transform) into a <see cref="KernelMethodSpec"/>:
/// the declaration to repeat, the attribute's arguments with their locations, and the declaration-level mistakes
/// (not partial, not static, type not partial, wrong signature, two kernel attributes). Format-level checks need
/// the format catalog and happen later (<see cref="ApiAnalyzer"/>).
/// </summary>
internal static class ApiParser
{
    public const string MatVecAttribute = "KernelGen.QuantizedMatVecAttribute";
    public const string MatMulAttribute = "KernelGen.QuantizedMatMulAttribute";
    public const string DequantizeAttribute = "KernelGen.DequantizeAttribute";
    public const string PoolType = "global::KernelGen.Kernels.Threading.KernelThreadPool";

    private static readonly SymbolDisplayFormat s_typeFormat = SymbolDisplayFormat.FullyQualifiedFormat
        .AddMiscellaneousOptions(SymbolDisplayMiscellaneousOptions.IncludeNullableReferenceTypeModifier);

    /// <summary>Cheap syntax filter: only method declarations (not local functions) can be kernel methods.</summary>
    public static bool IsCandidate(SyntaxNode node, CancellationToken _) => node is MethodDeclarationSyntax;

    public static KernelMethodSpec? Parse(GeneratorAttributeSyntaxContext context, KernelKind kind, CancellationToken ct)
    {
        if (context.TargetNode is not MethodDeclarationSyntax method || context.TargetSymbol is not IMethodSymbol symbol || context.Attributes.Length == 0)
        {
            return null;
        }
        ct.ThrowIfCancellationRequested();
        var attribute = context.Attributes[0];
        var attributeSyntax = attribute.ApplicationSyntaxReference?.GetSyntax(ct) as AttributeSyntax;
        string attributeName = AttributeName(kind);
        var diagnostics = new List<DiagnosticInfo>();
        string display = symbol.ContainingType is null ? symbol.Name : symbol.ContainingType.ToDisplayString() + "." + symbol.Name;

        // The format argument and the named ones, each with the location of its argument for precise diagnostics.
        string format = attribute.ConstructorArguments.Length == 1 && attribute.ConstructorArguments[0].Value is string f ? f : string.Empty;
        var args = attributeSyntax?.ArgumentList?.Arguments ?? default;
        var formatArg = args.FirstOrDefault(a => a.NameEquals is null && a.NameColon is null) ?? args.FirstOrDefault(a => a.NameColon is not null);
        var formatLocation = formatArg is not null ? LocationInfo.From(formatArg.Expression)
            : attributeSyntax is not null ? LocationInfo.From(attributeSyntax) : LocationInfo.From(method.Identifier);

        AttributeValue? Named(string name)
        {
            foreach (var pair in attribute.NamedArguments)
            {
                if (pair.Key == name && pair.Value.Value is int value)
                {
                    var syntax = args.FirstOrDefault(a => a.NameEquals?.Name.Identifier.ValueText == name);
                    return new AttributeValue(value, syntax is not null ? LocationInfo.From(syntax) : formatLocation);
                }
            }
            return null;
        }

        // One kernel per method: the first kernel attribute in source order wins; the others are reported.
        var kernelAttributes = symbol.GetAttributes()
            .Where(a => AttributeKindOf(a.AttributeClass) is not null && a.ApplicationSyntaxReference is not null)
            .OrderBy(a => a.ApplicationSyntaxReference!.Span.Start)
            .ToList();
        bool duplicate = kernelAttributes.Count > 1 && attributeSyntax is not null && kernelAttributes[0].ApplicationSyntaxReference!.Span != attributeSyntax.Span;
        if (duplicate)
        {
            diagnostics.Add(LocationInfo.From(attributeSyntax!).Diagnostic(DiagnosticDescriptors.DuplicateKernelAttribute,
                display, AttributeName(AttributeKindOf(kernelAttributes[0].AttributeClass)!.Value), attributeName));
        }

        // Declaration checks, at the token or node that is wrong.
        bool isPartial = method.Modifiers.Any(SyntaxKind.PartialKeyword);
        bool hasBody = method.Body is not null || method.ExpressionBody is not null;
        bool typesPartial = true;
        var types = new List<ContainingTypeSpec>();
        for (var parent = method.Parent; parent is not null; parent = parent.Parent)
        {
            if (parent is TypeDeclarationSyntax type)
            {
                if (!type.Modifiers.Any(SyntaxKind.PartialKeyword))
                {
                    typesPartial = false;
                    if (!duplicate)
                    {
                        diagnostics.Add(LocationInfo.From(type.Identifier).Diagnostic(DiagnosticDescriptors.ContainingTypeNotPartial, type.Identifier.ValueText, attributeName, symbol.Name));
                    }
                }
                string keyword = type is RecordDeclarationSyntax record && !record.ClassOrStructKeyword.IsKind(SyntaxKind.None)
                    ? "record " + record.ClassOrStructKeyword.ValueText
                    : type.Keyword.ValueText;
                types.Insert(0, new ContainingTypeSpec(keyword, type.Identifier.ValueText + (type.TypeParameterList?.ToString() ?? string.Empty)));
            }
        }
        if (!duplicate && (!isPartial || hasBody))
        {
            diagnostics.Add(LocationInfo.From(method.Identifier).Diagnostic(DiagnosticDescriptors.MethodNotPartial, display, attributeName,
                !isPartial ? "is not partial" : "already has a body"));
        }
        bool isGeneric = method.TypeParameterList is not null;
        bool signatureOk = true;
        bool hasPool = false;
        if (!duplicate && isPartial && !hasBody)
        {
            if (!symbol.IsStatic)
            {
                diagnostics.Add(LocationInfo.From(method.Identifier).Diagnostic(DiagnosticDescriptors.MethodNotStatic, display, attributeName));
                signatureOk = false;
            }
            var problem = CheckSignature(method, symbol, kind, out hasPool);
            if (problem is not null)
            {
                diagnostics.Add(problem.Value.Location.Diagnostic(DiagnosticDescriptors.WrongSignature, display, attributeName, problem.Value.Message, ExpectedDeclaration(kind, symbol.Name)));
                signatureOk = false;
            }
        }

        var parameters = symbol.Parameters.Select(p => new ParameterSpec(ParameterModifiers(p), p.Type.ToDisplayString(s_typeFormat), EscapeIdentifier(p.Name))).ToEquatableArray();
        string ns = symbol.ContainingNamespace is { IsGlobalNamespace: false } n ? n.ToDisplayString() : string.Empty;
        string modifiers = string.Join(" ", method.Modifiers.Where(m => !m.IsKind(SyntaxKind.ExternKeyword)).Select(m => m.ValueText));
        return new KernelMethodSpec(kind, attributeName, ns, types.ToEquatableArray(), display, EscapeIdentifier(symbol.Name), modifiers,
            symbol.ReturnType.ToDisplayString(s_typeFormat), parameters, format, formatLocation)
        {
            CanImplement = !duplicate && isPartial && !hasBody && typesPartial && !isGeneric,
            SignatureOk = signatureOk && !duplicate && isPartial && !hasBody && typesPartial,
            HasPool = hasPool,
            K = Named("K"),
            N = Named("N"),
            Bits = Named("Bits"),
            GroupSize = Named("GroupSize"),
            Backend = Named("Backend"),
            Diagnostics = diagnostics.ToEquatableArray(),
        };
    }

    /// <summary>The attribute's name as the user writes it (<c>QuantizedMatVec</c>).</summary>
    public static string AttributeName(KernelKind kind) => kind switch
    {
        KernelKind.MatVec => "QuantizedMatVec",
        KernelKind.MatMul => "QuantizedMatMul",
        _ => "Dequantize",
    };

    /// <summary>The declaration a kind needs, for KG2007's message.</summary>
    public static string ExpectedDeclaration(KernelKind kind, string name) => kind switch
    {
        KernelKind.MatVec => $"static partial void {name}(ReadOnlySpan<byte> weights, ReadOnlySpan<float> x, Span<float> y[, KernelThreadPool? pool])",
        KernelKind.MatMul => $"static partial void {name}(ReadOnlySpan<byte> weights, ReadOnlySpan<float> x, Span<float> y, int batch[, KernelThreadPool? pool])",
        _ => $"static partial void {name}(ReadOnlySpan<byte> weights, Span<float> y[, KernelThreadPool? pool])",
    };

    private static KernelKind? AttributeKindOf(INamedTypeSymbol? type) => type?.ToDisplayString() switch
    {
        MatVecAttribute => KernelKind.MatVec,
        MatMulAttribute => KernelKind.MatMul,
        DequantizeAttribute => KernelKind.Dequantize,
        _ => null,
    };

    private static (LocationInfo Location, string Message)? CheckSignature(MethodDeclarationSyntax method, IMethodSymbol symbol, KernelKind kind, out bool hasPool)
    {
        hasPool = false;
        if (method.TypeParameterList is not null)
        {
            return (LocationInfo.From(method.TypeParameterList), "it is generic");
        }
        if (!symbol.ReturnsVoid)
        {
            return (LocationInfo.From(method.ReturnType), $"it returns '{symbol.ReturnType.ToDisplayString()}', not void");
        }
        string[] expected = kind switch
        {
            KernelKind.MatVec => new[] { "global::System.ReadOnlySpan<byte>", "global::System.ReadOnlySpan<float>", "global::System.Span<float>" },
            KernelKind.MatMul => new[] { "global::System.ReadOnlySpan<byte>", "global::System.ReadOnlySpan<float>", "global::System.Span<float>", "int" },
            _ => new[] { "global::System.ReadOnlySpan<byte>", "global::System.Span<float>" },
        };
        var ps = symbol.Parameters;
        if (ps.Length != expected.Length && ps.Length != expected.Length + 1)
        {
            return (LocationInfo.From(method.ParameterList), $"it has {ps.Length} parameter{(ps.Length == 1 ? "" : "s")}, not {expected.Length} (or {expected.Length + 1} with a trailing KernelThreadPool? pool)");
        }
        for (int i = 0; i < ps.Length; i++)
        {
            string want = i < expected.Length ? expected[i] : PoolType;
            string have = ps[i].Type.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat);
            var syntax = i < method.ParameterList.Parameters.Count ? method.ParameterList.Parameters[i] : null;
            var location = syntax is not null ? LocationInfo.From(syntax) : LocationInfo.From(method.ParameterList);
            if (have != want)
            {
                return (location, $"parameter '{ps[i].Name}' is '{ps[i].Type.ToDisplayString()}', not '{Short(want)}'");
            }
            if (ps[i].RefKind != RefKind.None || ps[i].IsParams)
            {
                return (location, $"parameter '{ps[i].Name}' must be passed by value (no ref, in, out, params)");
            }
        }
        hasPool = ps.Length == expected.Length + 1;
        return null;
    }

    private static string Short(string fullyQualified) => fullyQualified switch
    {
        PoolType => "KernelThreadPool?",
        _ => fullyQualified.Replace("global::System.", string.Empty),
    };

    private static string ParameterModifiers(IParameterSymbol p)
    {
        string scoped = p.ScopedKind != ScopedKind.None && p.RefKind != RefKind.Out ? "scoped " : string.Empty;
        string refKind = p.RefKind switch
        {
            RefKind.Ref => "ref ",
            RefKind.Out => "out ",
            RefKind.In => "in ",
            RefKind.RefReadOnlyParameter => "ref readonly ",
            _ => string.Empty,
        };
        return (p.IsParams ? "params " : string.Empty) + scoped + refKind;
    }

    private static string EscapeIdentifier(string name) =>
        SyntaxFacts.GetKeywordKind(name) != SyntaxKind.None ? "@" + name : name;
}
