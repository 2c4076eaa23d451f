namespace KernelGen.Generators;

/// <summary>Tracking names of the pipeline steps (<c>WithTrackingName</c>); tests assert on them.</summary>
public static class StepNames
{
    /// <summary>MSBuild options (namespace, visibility, format filter).</summary>
    public const string Options = nameof(Options);

    /// <summary>The text of each <c>.kgspec</c> AdditionalFile.</summary>
    public const string SpecText = nameof(SpecText);

    /// <summary>Spec text → <c>FormatSpec</c> model + diagnostics.</summary>
    public const string Parse = nameof(Parse);

    /// <summary>Per-format emission of the codec source.</summary>
    public const string Emit = nameof(Emit);

    /// <summary>All emitted formats, deduplicated and ordered, plus the registry.</summary>
    public const string Collect = nameof(Collect);

    /// <summary>Per-format emission of the ILGPU kernels (only when <c>KernelGenBackends</c> contains <c>gpu</c>).</summary>
    public const string GpuEmit = nameof(GpuEmit);

    /// <summary>All emitted GPU formats, deduplicated and ordered, plus the GPU registry.</summary>
    public const string GpuCollect = nameof(GpuCollect);
    /// <summary>Every method with a kernel attribute, as an equatable <c>KernelMethodSpec</c>.</summary>
    public const string ApiMethods = nameof(ApiMethods);

    /// <summary>The project's own formats as the attribute API sees them.</summary>
    public const string ApiFormats = nameof(ApiFormats);

    /// <summary>Per-method validation and emission of the generated body.</summary>
    public const string ApiEmit = nameof(ApiEmit);
}
