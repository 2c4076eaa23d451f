using KernelGen.Generators.Helpers;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;

namespace KernelGen.Generators.Diagnostics;

/// <summary>
/// A diagnostic as plain, equatable data (descriptor, file path, span and message arguments), so that parse results
/// carrying diagnostics can be cached by the incremental pipeline. Turned into a <see cref="Diagnostic"/> only when
/// reported.
/// </summary>
internal sealed record DiagnosticInfo(
    DiagnosticDescriptor Descriptor,
    string FilePath,
    TextSpan Span,
    LinePositionSpan LineSpan,
    EquatableArray<string> Arguments)
{
    public static DiagnosticInfo Create(DiagnosticDescriptor descriptor, string filePath, TextSpan span, LinePositionSpan lineSpan, params string[] args) =>
        new(descriptor, filePath, span, lineSpan, new EquatableArray<string>(args));

    public Diagnostic ToDiagnostic() =>
        Diagnostic.Create(Descriptor, Location.Create(FilePath, Span, LineSpan), Arguments.AsArray());
}
