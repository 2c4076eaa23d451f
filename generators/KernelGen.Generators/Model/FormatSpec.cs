using System.Linq;
using KernelGen.Generators.Helpers;

namespace KernelGen.Generators.Model;

/// <summary>
/// The semantic model of one <c>.kgspec</c> file: the block geometry, its field table, the packed integer arrays with
/// their bit placements, codebooks and the value formula. Value-equatable (no Roslyn objects), so the generator can
/// cache everything derived from it; later emitters (quantizers, dot kernels) consume the same model.
/// </summary>
internal sealed record FormatSpec(
    string Name,
    string SourcePath,
    int? GgmlTypeId,
    int BlockElements,
    int BlockBytes,
    string Activation,
    EquatableArray<FieldSpec> Fields,
    EquatableArray<PackedArraySpec> Arrays,
    EquatableArray<CodebookSpec> Codebooks,
    EquatableArray<LetSpec> Lets,
    EquatableArray<string> HeaderComment)
{
    /// <summary>C# identifier used for generated type names (<c>Q4_K</c> → <c>Q4_KCodec</c>).</summary>
    public string Identifier => Name;

    public FieldSpec? FindField(string name)
    {
        foreach (var f in Fields)
        {
            if (f.Name == name)
            {
                return f;
            }
        }
        return null;
    }

    public PackedArraySpec? FindArray(string name)
    {
        foreach (var a in Arrays)
        {
            if (a.Name == name)
            {
                return a;
            }
        }
        return null;
    }

    public CodebookSpec? FindCodebook(string name)
    {
        foreach (var c in Codebooks)
        {
            if (c.Name == name)
            {
                return c;
            }
        }
        return null;
    }

    /// <summary>The formula's result (<c>y</c>).</summary>
    public LetSpec Result => Lets[Lets.Count - 1];

    /// <summary>True for one-element "blocks" (F32, F16, BF16): decoded as a plain element-wise conversion.</summary>
    public bool IsElementwise => BlockElements == 1;
}

/// <summary>Generator-wide options from MSBuild (<c>build_property.KernelGen*</c>).</summary>
internal sealed record GeneratorOptions(string Namespace, bool IsPublic, EquatableArray<string> FormatFilter)
{
    public const string DefaultNamespace = "KernelGen.Kernels.Generated";

    /// <summary>Emit the CPU codecs, registry and helpers (<c>KernelGenBackends</c> contains <c>cpu</c>; the default).</summary>
    public bool EmitCpu { get; init; } = true;

    /// <summary>
    /// The compilation allows unsafe code: the helpers then use pointer-only intrinsics (prefetch, 128-bit broadcast
    /// loads); otherwise they fall back to safe equivalents.
    /// </summary>
    public bool AllowUnsafe { get; init; }

    /// <summary>Emit the ILGPU kernels (<c>KernelGenBackends</c> contains <c>gpu</c>); the project must reference ILGPU.</summary>
    public bool EmitGpu { get; init; }

    public bool Includes(string name) => FormatFilter.Count == 0 || FormatFilter.Contains(name);
}
