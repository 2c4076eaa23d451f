using KernelGen.Generators.Diagnostics;
using KernelGen.Generators.Helpers;

namespace KernelGen.Generators.Emit;

/// <summary>The cached result of emitting one format: registry facts plus the complete source text.</summary>
internal sealed record EmittedFormat(
    string Name,
    string SourcePath,
    int? GgmlTypeId,
    int BlockElements,
    int BlockBytes,
    string Activation,
    string HintName,
    string Source)
{
    /// <summary>True for a tensor-level format (<c>layout linear</c>): not part of the block-format registry.</summary>
    public bool IsTensorLevel { get; init; }

    /// <summary>Bytes of one block of 8 interleaved rows when the format has the interleaved kernel, else 0.</summary>
    public int InterleavedBlockBytes { get; init; }
}

/// <summary>Everything the final output step adds: ordered format sources, registry and helpers, and diagnostics.</summary>
internal sealed record OutputSet(
    EquatableArray<EmittedFormat> Formats,
    string RegistrySource,
    string HelpersSource,
    EquatableArray<DiagnosticInfo> Diagnostics);
