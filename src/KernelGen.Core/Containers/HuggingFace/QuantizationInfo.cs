namespace KernelGen.Containers.HuggingFace;

/// <summary>
/// What a user (and a converter) needs to know about a quantized checkpoint to decode it: the method, bit width,
/// grouping and the flags that change the meaning of the stored numbers (zero-point convention, act-order, AWQ
/// packing, BitNet scale direction). Values the checkpoint does not state are null rather than guessed, except where
/// a documented default exists (see <see cref="CheckpointFormat"/>). <see cref="Source"/> says where they came from.
/// </summary>
public sealed record QuantizationInfo
{
    /// <summary><see cref="Source"/> when the values come from <c>config.json</c>'s <c>quantization_config</c>.</summary>
    public const string FromConfigJson = "config.json";
    /// <summary><see cref="Source"/> when the values come from AutoGPTQ's <c>quantize_config.json</c>.</summary>
    public const string FromQuantizeConfigJson = "quantize_config.json";
    /// <summary><see cref="Source"/> when the values come from AutoGPTQ's <c>gptq_*</c> safetensors metadata.</summary>
    public const string FromSafetensorsMetadata = "safetensors metadata";
    /// <summary><see cref="Source"/> when the values were inferred from tensor names, dtypes and shapes alone.</summary>
    public const string FromTensorLayout = "tensor layout";

    /// <summary>The checkpoint layout these settings describe.</summary>
    public required CheckpointKind Kind { get; init; }

    /// <summary><c>quant_method</c> as stated, lower-cased (<c>gptq</c>, <c>awq</c>, <c>bitnet</c>, or another method KernelGen does not read).</summary>
    public string? QuantMethod { get; init; }

    /// <summary>Bits per stored code (GPTQ 2/3/4/8, AWQ 4; 2 for BitNet's packed ternary codes).</summary>
    public int? Bits { get; init; }

    /// <summary>Input elements per quantization group; -1 = one group per output channel.</summary>
    public int? GroupSize { get; init; }

    /// <summary>GPTQ symmetric quantization (zero point fixed at 2^(bits−1)).</summary>
    public bool? Sym { get; init; }

    /// <summary>GPTQ act-order: when true, <c>g_idx</c> is a non-monotonic map and must be honoured.</summary>
    public bool? DescAct { get; init; }

    /// <summary>
    /// GPTQ zero-point convention: <c>gptq</c> (v1, stored field = zero − 1) or <c>gptq_v2</c> (stored = zero). A GPTQ
    /// config that does not say is reported as <c>gptq</c>, the default export (FORMATS.md §9.1); null for other kinds.
    /// </summary>
    public string? CheckpointFormat { get; init; }

    /// <summary>AWQ packing, <c>gemm</c> (interleaved, <c>[in, out/8]</c>) or <c>gemv</c> (transposed, <c>[out, in/8]</c>).</summary>
    public string? AwqVersion { get; init; }

    /// <summary>AWQ asymmetric quantization with stored zero points.</summary>
    public bool? ZeroPoint { get; init; }

    /// <summary>
    /// BitNet <c>linear_class</c>: <c>autobitlinear</c> (weight_scale multiplies) or <c>bitlinear</c> (it divides). The
    /// tensors alone cannot tell, which is why this matters.
    /// </summary>
    public string? BitNetLinearClass { get; init; }

    /// <summary>BitNet <c>quantization_mode</c>: <c>offline</c> (pre-packed weights) or <c>online</c>.</summary>
    public string? QuantizationMode { get; init; }

    /// <summary>Where the values came from: one of the <c>From…</c> constants.</summary>
    public required string Source { get; init; }

    /// <summary>The configuration object's JSON text as stored, when it came from a JSON file.</summary>
    public string? RawJson { get; init; }

    /// <summary>This info with every value it lacks taken from <paramref name="inferred"/> (stated values win).</summary>
    internal QuantizationInfo CompletedFrom(QuantizationInfo inferred) => this with
    {
        Bits = Bits ?? inferred.Bits,
        GroupSize = GroupSize ?? inferred.GroupSize,
        Sym = Sym ?? inferred.Sym,
        DescAct = DescAct ?? inferred.DescAct,
        CheckpointFormat = CheckpointFormat ?? inferred.CheckpointFormat,
        AwqVersion = AwqVersion ?? inferred.AwqVersion,
        ZeroPoint = ZeroPoint ?? inferred.ZeroPoint,
        BitNetLinearClass = BitNetLinearClass ?? inferred.BitNetLinearClass,
        QuantizationMode = QuantizationMode ?? inferred.QuantizationMode,
    };
}
