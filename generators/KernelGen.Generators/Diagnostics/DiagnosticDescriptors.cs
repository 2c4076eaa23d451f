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

    // ---- KG2xxx: the attribute API ([QuantizedMatVec], [QuantizedMatMul], [Dequantize] on partial methods) ----------
    // Reported at the attribute argument or the declaration part that is wrong; each message says how to fix it.

    /// <summary>KG2001: the format named in the attribute is neither built in nor one of the project's specs. "{1}" suggests close names.</summary>
    public static readonly DiagnosticDescriptor UnknownFormat =
        new DiagnosticDescriptor("KG2001", "Unknown kernel format",
            "Unknown format '{0}'{1}; use a built-in format ({2}) or the name of a format in one of this project's .kgspec AdditionalFiles", Category, DiagnosticSeverity.Error, isEnabledByDefault: true, customTags: WellKnownDiagnosticTags.NotConfigurable);

    /// <summary>KG2002: K or N is not positive, or K is not a whole number of blocks (or groups).</summary>
    public static readonly DiagnosticDescriptor InvalidShape =
        new DiagnosticDescriptor("KG2002", "Invalid kernel shape", "Invalid shape: {0}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true, customTags: WellKnownDiagnosticTags.NotConfigurable);

    /// <summary>KG2003: Bits, GroupSize or Backend is not valid for the format (a block format takes none; a value outside the spec's set).</summary>
    public static readonly DiagnosticDescriptor InvalidFormatParameter =
        new DiagnosticDescriptor("KG2003", "Invalid format parameter", "Invalid {0} for format {1}: {2}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true, customTags: WellKnownDiagnosticTags.NotConfigurable);

    /// <summary>KG2004: the attributed method is not partial (or already has a body).</summary>
    public static readonly DiagnosticDescriptor MethodNotPartial =
        new DiagnosticDescriptor("KG2004", "Kernel method must be partial",
            "Method '{0}' has [{1}] but {2}; declare it 'static partial' without a body, and KernelGen writes the body", Category, DiagnosticSeverity.Error, isEnabledByDefault: true, customTags: WellKnownDiagnosticTags.NotConfigurable);

    /// <summary>KG2005: the attributed method is an instance method.</summary>
    public static readonly DiagnosticDescriptor MethodNotStatic =
        new DiagnosticDescriptor("KG2005", "Kernel method must be static",
            "Method '{0}' has [{1}] but is not static; add the 'static' modifier (a kernel keeps no instance state)", Category, DiagnosticSeverity.Error, isEnabledByDefault: true, customTags: WellKnownDiagnosticTags.NotConfigurable);

    /// <summary>KG2006: a type that contains the attributed method is not partial.</summary>
    public static readonly DiagnosticDescriptor ContainingTypeNotPartial =
        new DiagnosticDescriptor("KG2006", "Kernel method's type must be partial",
            "Type '{0}' contains the [{1}] method '{2}' but is not partial; add the 'partial' modifier to '{0}' so KernelGen can add the method body", Category, DiagnosticSeverity.Error, isEnabledByDefault: true, customTags: WellKnownDiagnosticTags.NotConfigurable);

    /// <summary>KG2007: the method's return type or parameters are not the ones the attribute needs. "{3}" is the expected declaration.</summary>
    public static readonly DiagnosticDescriptor WrongSignature =
        new DiagnosticDescriptor("KG2007", "Wrong kernel method signature",
            "Method '{0}' cannot implement [{1}]: {2}; declare it as '{3}'", Category, DiagnosticSeverity.Error, isEnabledByDefault: true, customTags: WellKnownDiagnosticTags.NotConfigurable);

    /// <summary>KG2008: a method carries two kernel attributes.</summary>
    public static readonly DiagnosticDescriptor DuplicateKernelAttribute =
        new DiagnosticDescriptor("KG2008", "More than one kernel attribute",
            "Method '{0}' already has [{1}]; one method implements one kernel, so declare another partial method for [{2}]", Category, DiagnosticSeverity.Error, isEnabledByDefault: true, customTags: WellKnownDiagnosticTags.NotConfigurable);

    /// <summary>KG2009: the format is a tensor-level checkpoint format (GPTQ, AWQ, BitNet, I2_S): those run through their one-time repack.</summary>
    public static readonly DiagnosticDescriptor TensorFormatNotSupported =
        new DiagnosticDescriptor("KG2009", "Checkpoint format not supported by kernel attributes",
            "Format '{0}' is a tensor-level checkpoint format, and [{1}] kernels run on block formats in GGUF row layout; repack the layer once at load with QuantizedMatrix.FromGptq, FromAwqGemm, FromAwqGemv, FromBitNet or FromI2S and call its MatVec/MatMul, or name the repacked row format (QuantizedMatrix.Format, for example GQ4_G128) when its InputOrder is empty", Category, DiagnosticSeverity.Error, isEnabledByDefault: true, customTags: WellKnownDiagnosticTags.NotConfigurable);

    /// <summary>KG2010: Backend = KernelBackend.Gpu without a reference to KernelGen.Gpu (or ILGPU).</summary>
    public static readonly DiagnosticDescriptor GpuPackageMissing =
        new DiagnosticDescriptor("KG2010", "GPU backend needs the KernelGen.Gpu package",
            "Backend = KernelBackend.Gpu on '{0}' needs the KernelGen.Gpu package, which this project does not reference; add the KernelGen.Gpu package ('dotnet add package KernelGen.Gpu') or use KernelBackend.Cpu", Category, DiagnosticSeverity.Error, isEnabledByDefault: true, customTags: WellKnownDiagnosticTags.NotConfigurable);

    /// <summary>KG2011 (info): the GPU backend was asked for; attribute kernels are CPU kernels for now (limited generation, as SYSLIB1045).</summary>
    public static readonly DiagnosticDescriptor GpuKernelFallback =
        new DiagnosticDescriptor("KG2011", "GPU attribute kernel runs on the CPU",
            "'{0}' runs the CPU kernel: GPU bodies are generated for [QuantizedMatVec]/[QuantizedMatMul] on built-in formats in projects that reference the KernelGen.Gpu package (not for [Dequantize], the project's own formats, or ILGPU alone); call the KernelGen.Gpu API directly otherwise", Category, DiagnosticSeverity.Info, isEnabledByDefault: true);
}
