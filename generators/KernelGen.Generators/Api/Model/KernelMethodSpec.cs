using KernelGen.Generators.Diagnostics;
using KernelGen.Generators.Helpers;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;

namespace KernelGen.Generators.Api.Model;

/// <summary>Which kernel an attribute asks for (one attribute class each).</summary>
internal enum KernelKind
{
    /// <summary><c>[QuantizedMatVec]</c>: y = W·x.</summary>
    MatVec,

    /// <summary><c>[QuantizedMatMul]</c>: Y = X·Wᵀ for a batch.</summary>
    MatMul,

    /// <summary><c>[Dequantize]</c>: decode to float.</summary>
    Dequantize,
}

/// <summary>
/// A source location as plain data (path, span, line span): what a diagnostic needs, without holding a
/// <see cref="Location"/> (which roots its syntax tree) in a cached model.
/// </summary>
internal sealed record LocationInfo(string FilePath, TextSpan Span, LinePositionSpan LineSpan)
{
    public static LocationInfo From(Location location) =>
        new(location.SourceTree?.FilePath ?? string.Empty, location.SourceSpan, location.GetLineSpan().Span);

    public static LocationInfo From(SyntaxNode node) => From(node.GetLocation());

    public static LocationInfo From(SyntaxToken token) => From(token.GetLocation());

    public DiagnosticInfo Diagnostic(DiagnosticDescriptor descriptor, params string[] args) =>
        DiagnosticInfo.Create(descriptor, FilePath, Span, LineSpan, args);
}

/// <summary>An int-valued named attribute argument (K, N, Bits, GroupSize, Backend) and where it is written.</summary>
internal sealed record AttributeValue(int Value, LocationInfo Location);

/// <summary>One enclosing type of the method, as its declaration must be repeated (<c>partial class Outer&lt;T&gt;</c>).</summary>
internal sealed record ContainingTypeSpec(string Keyword, string Name);

/// <summary>One parameter of the user's declaration, as the implementation must repeat it.</summary>
internal sealed record ParameterSpec(string Modifiers, string Type, string Name);

/// <summary>
/// Everything the API pipeline needs about one attributed method, taken from the syntax and symbols in the
/// <c>ForAttributeWithMetadataName</c> transform and reduced to strings and numbers, so it is value-equatable and
/// no symbol or syntax node crosses a pipeline boundary (the Regex generator's <c>RegexMethodSpec</c>).
/// </summary>
internal sealed record KernelMethodSpec(
    KernelKind Kind,
    string AttributeName,
    string Namespace,
    EquatableArray<ContainingTypeSpec> Types,
    string DisplayName,
    string MethodName,
    string Modifiers,
    string ReturnType,
    EquatableArray<ParameterSpec> Parameters,
    string Format,
    LocationInfo FormatLocation)
{
    /// <summary>The declaration can receive a generated implementation part (partial, in partial types, not generic).</summary>
    public bool CanImplement { get; init; }

    /// <summary>The signature is the one the kind needs (static, void, the expected parameters), so a real body can be emitted.</summary>
    public bool SignatureOk { get; init; }

    /// <summary>The declaration ends with a <c>KernelThreadPool? pool</c> parameter.</summary>
    public bool HasPool { get; init; }

    public AttributeValue? K { get; init; }

    public AttributeValue? N { get; init; }

    public AttributeValue? Bits { get; init; }

    public AttributeValue? GroupSize { get; init; }

    public AttributeValue? Backend { get; init; }

    /// <summary>Declaration-level mistakes found while reading the method (KG2004–KG2008).</summary>
    public EquatableArray<DiagnosticInfo> Diagnostics { get; init; } = EquatableArray<DiagnosticInfo>.Empty;
}

/// <summary>What the compilation references that the API cares about (the GPU package).</summary>
internal sealed record ApiCompilationFacts(bool HasGpuPackage)
{
    /// <summary>The compilation allows unsafe code (shape-specialised kernels then use the pointer helpers).</summary>
    public bool AllowUnsafe { get; init; }

    /// <summary>KernelGen.Gpu's <c>GpuKernelCalls</c> is available: GPU methods get GPU bodies.</summary>
    public bool HasGpuKernelCalls { get; init; }
}

/// <summary>The result of analysing and emitting one attributed method: its source (or null) and its diagnostics.</summary>
internal sealed record KernelMethodOutput(string HintName, string? Source, EquatableArray<DiagnosticInfo> Diagnostics)
{
    /// <summary>The shape-specialised kernel (and its helpers) a method with a compile-time K gets, or null.</summary>
    public string? ShapeSource { get; init; }
}
