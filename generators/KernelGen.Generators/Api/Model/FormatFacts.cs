using KernelGen.Generators.Helpers;
using KernelGen.Generators.Model;
using KernelGen.Generators.Parser;

namespace KernelGen.Generators.Api.Model;

/// <summary>A run-time parameter of a tensor-level format, as the attribute validates it (<c>bits</c>, <c>group_size</c>).</summary>
internal sealed record FormatParamFacts(string Name, bool IsEnum, bool IsSet, EquatableArray<long> Values, long Min, long? Sentinel);

/// <summary>
/// What the attribute API needs to know about a format: its geometry for shape validation, its parameters, and the
/// namespace its generated <c>&lt;F&gt;Codec</c>/<c>&lt;F&gt;Dot</c> live in (the runtime library's for built-ins,
/// the project's <c>KernelGenNamespace</c> for its own specs).
/// </summary>
internal sealed record FormatFacts(
    string Name,
    string Namespace,
    bool IsUserFormat,
    bool IsTensorLevel,
    int BlockElements,
    int BlockBytes,
    string Activation,
    EquatableArray<FormatParamFacts> Params)
{
    public static FormatFacts? From(ParseResult result, string ns, bool isUserFormat)
    {
        if (result.Spec is { } spec)
        {
            return new FormatFacts(spec.Name, ns, isUserFormat, false, spec.BlockElements, spec.BlockBytes, spec.Activation, EquatableArray<FormatParamFacts>.Empty) { Spec = spec };
        }
        if (result.Tensor is { } tensor)
        {
            var ps = new System.Collections.Generic.List<FormatParamFacts>();
            foreach (var p in tensor.Params)
            {
                ps.Add(new FormatParamFacts(p.Name, p.Kind == ParamKind.Enum, p.Kind == ParamKind.IntSet, p.IntValues, p.Min, p.Sentinel));
            }
            return new FormatFacts(tensor.Name, ns, isUserFormat, true, 0, 0, "F32", ps.ToEquatableArray());
        }
        return null;
    }

    /// <summary>The block format's spec model (null for tensor-level formats): shape-specialised kernels are emitted from it.</summary>
    public FormatSpec? Spec { get; init; }

    public FormatParamFacts? FindParam(string name)
    {
        foreach (var p in Params)
        {
            if (p.Name == name)
            {
                return p;
            }
        }
        return null;
    }
}
