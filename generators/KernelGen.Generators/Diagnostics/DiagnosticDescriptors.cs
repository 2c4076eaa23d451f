using Microsoft.CodeAnalysis;

namespace KernelGen.Generators.Diagnostics;

/// <summary>
/// Every diagnostic the generator reports. Ids are sequential (KG1001…), all spec mistakes are errors that cannot be
/// configured away (a wrong spec must never turn into silently wrong code). Each message says what is wrong; the
/// location is the spec file, line and column.
/// </summary>
internal static class DiagnosticDescriptors
{
    public const string Category = "KernelGen";

    /// <summary>KG1001: a line does not follow the grammar. "{0}" says what was expected and what was found.</summary>
    public static readonly DiagnosticDescriptor SyntaxError =
        new DiagnosticDescriptor("KG1001", "Spec syntax error", "Syntax error: {0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true, customTags: WellKnownDiagnosticTags.NotConfigurable);

    /// <summary>KG1002: a line starts with a word that is not a directive.</summary>
    public static readonly DiagnosticDescriptor UnknownDirective =
        new DiagnosticDescriptor("KG1002", "Unknown spec directive",
            "Unknown directive '{0}'; expected format, ggml_type, block, layout, activation, field, codebook, param, size, index, tensor, group, quant, scale, value or warn", Category, DiagnosticSeverity.Error, isEnabledByDefault: true, customTags: WellKnownDiagnosticTags.NotConfigurable);

    /// <summary>KG1003: a required directive (format, block, value...) is absent.</summary>
    public static readonly DiagnosticDescriptor MissingDirective =
        new DiagnosticDescriptor("KG1003", "Missing spec directive", "The spec has no '{0}' directive{1}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true, customTags: WellKnownDiagnosticTags.NotConfigurable);

    /// <summary>KG1004: a name is declared twice (fields, arrays, codebooks and formula names share one scope).</summary>
    public static readonly DiagnosticDescriptor DuplicateName =
        new DiagnosticDescriptor("KG1004", "Duplicate name", "'{0}' is already declared on line {1}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true, customTags: WellKnownDiagnosticTags.NotConfigurable);

    /// <summary>KG1005: a name is used but never declared.</summary>
    public static readonly DiagnosticDescriptor UnknownName =
        new DiagnosticDescriptor("KG1005", "Unknown name", "Unknown {0} '{1}'", Category, DiagnosticSeverity.Error, isEnabledByDefault: true, customTags: WellKnownDiagnosticTags.NotConfigurable);

    /// <summary>KG1006: the field table does not tile the block (gap, overlap, out of bounds).</summary>
    public static readonly DiagnosticDescriptor FieldLayout =
        new DiagnosticDescriptor("KG1006", "Invalid field layout", "Field layout error: {0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true, customTags: WellKnownDiagnosticTags.NotConfigurable);

    /// <summary>KG1007: a type name is unknown or not allowed where it is used.</summary>
    public static readonly DiagnosticDescriptor InvalidType =
        new DiagnosticDescriptor("KG1007", "Invalid type", "Invalid type '{0}': {1}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true, customTags: WellKnownDiagnosticTags.NotConfigurable);

    /// <summary>KG1008: a run line is inconsistent (range lengths, indices or bits out of range).</summary>
    public static readonly DiagnosticDescriptor InvalidRun =
        new DiagnosticDescriptor("KG1008", "Invalid placement run", "Invalid run: {0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true, customTags: WellKnownDiagnosticTags.NotConfigurable);

    /// <summary>KG1009: a packed value is never assigned, or assigned by two runs.</summary>
    public static readonly DiagnosticDescriptor Coverage =
        new DiagnosticDescriptor("KG1009", "Incomplete or overlapping placement", "{0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true, customTags: WellKnownDiagnosticTags.NotConfigurable);

    /// <summary>KG1010: the same stored bits are used by two values (encode could not be the inverse of decode).</summary>
    public static readonly DiagnosticDescriptor BitOverlap =
        new DiagnosticDescriptor("KG1010", "Overlapping storage bits", "Storage overlap: {0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true, customTags: WellKnownDiagnosticTags.NotConfigurable);

    /// <summary>KG1011: int and float mixed without f32(), or an int-only operator applied to floats.</summary>
    public static readonly DiagnosticDescriptor FormulaType =
        new DiagnosticDescriptor("KG1011", "Formula type error", "Type error in value formula: {0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true, customTags: WellKnownDiagnosticTags.NotConfigurable);

    /// <summary>KG1012: the value section is malformed (no y, y is not float, unsupported construct).</summary>
    public static readonly DiagnosticDescriptor InvalidFormula =
        new DiagnosticDescriptor("KG1012", "Invalid value formula", "Invalid value formula: {0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true, customTags: WellKnownDiagnosticTags.NotConfigurable);

    /// <summary>KG1013: a scale's group size does not divide the block.</summary>
    public static readonly DiagnosticDescriptor InvalidGroup =
        new DiagnosticDescriptor("KG1013", "Invalid group size", "Invalid group size: {0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true, customTags: WellKnownDiagnosticTags.NotConfigurable);

    /// <summary>KG1014: a codebook's entry count or values do not match its type.</summary>
    public static readonly DiagnosticDescriptor InvalidCodebook =
        new DiagnosticDescriptor("KG1014", "Invalid codebook", "Invalid codebook '{0}': {1}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true, customTags: WellKnownDiagnosticTags.NotConfigurable);

    /// <summary>KG1015: two spec files declare the same format name.</summary>
    public static readonly DiagnosticDescriptor DuplicateFormat =
        new DiagnosticDescriptor("KG1015", "Duplicate format", "Format '{0}' is also declared in '{1}'", Category, DiagnosticSeverity.Error, isEnabledByDefault: true, customTags: WellKnownDiagnosticTags.NotConfigurable);

    /// <summary>KG1016: the activation (vec_dot) format is not one KernelGen knows.</summary>
    public static readonly DiagnosticDescriptor UnknownActivation =
        new DiagnosticDescriptor("KG1016", "Unknown activation format",
            "Unknown activation format '{0}'; expected Q8_0, Q8_1, Q8_K, F32, F16, BF16 or none", Category, DiagnosticSeverity.Error, isEnabledByDefault: true, customTags: WellKnownDiagnosticTags.NotConfigurable);

    /// <summary>KG1017: a number is out of its allowed range (block sizes, type ids, offsets).</summary>
    public static readonly DiagnosticDescriptor InvalidValue =
        new DiagnosticDescriptor("KG1017", "Invalid value", "Invalid value: {0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true, customTags: WellKnownDiagnosticTags.NotConfigurable);
}
