using System.Text.Json;
using KernelGen.Containers.Safetensors;

namespace KernelGen.Containers.HuggingFace;

/// <summary>
/// Combines what a folder states about its quantization with what its tensors show. The stated settings come from
/// the first of: <c>config.json</c> <c>quantization_config</c>, <c>quantize_config.json</c> (AutoGPTQ, implies GPTQ),
/// the first shard's AutoGPTQ <c>gptq_*</c> metadata. The tensor layout (<see cref="CheckpointLayout"/>) fills in
/// what the statement leaves out and decides alone when nothing is stated or the statement names no method. When
/// the two disagree the statement wins, because it is what the producing library will act on, and a warning says so.
/// </summary>
internal static class CheckpointDetection
{
    /// <summary>The checkpoint's quantization, or null for a plain checkpoint.</summary>
    public static QuantizationInfo? Detect(string directory, JsonDocument? config, JsonDocument? quantizeConfig,
        IReadOnlyList<SafetensorsFile> shards, IReadOnlyList<(SafetensorsFile File, SafetensorsTensorInfo Tensor)> tensors, List<string> warnings)
    {
        var stated = Stated(directory, config, quantizeConfig, shards);
        var inferred = CheckpointLayout.Infer(tensors);
        if (stated is null) return inferred;

        if (stated.QuantMethod is null)
        {
            warnings.Add($"{stated.Source} has quantization settings without a quant_method; the tensor layout decides");
            return inferred ?? stated;
        }
        if (stated.Kind == CheckpointKind.Plain)
        {
            warnings.Add($"{stated.Source} names quant_method '{stated.QuantMethod}', which KernelGen does not decode; tensors are listed as stored");
            return stated;
        }
        if (inferred is null)
        {
            warnings.Add($"{stated.Source} says {stated.QuantMethod}, but no tensors have the {stated.Kind} layout");
            return stated;
        }
        if (inferred.Kind != stated.Kind)
        {
            warnings.Add($"{stated.Source} says {stated.QuantMethod}, but the tensors have the {inferred.Kind} layout");
            return stated;
        }
        if (stated.Bits is int bits && inferred.Bits is int shown && bits != shown)
            warnings.Add($"{stated.Source} says {bits} bits, but the tensor shapes show {shown}");
        if (stated.AwqVersion is string version && inferred.AwqVersion is string packing && version != packing)
            warnings.Add($"{stated.Source} says AWQ version '{version}', but the tensors have the {packing} packing");
        return stated.CompletedFrom(inferred);
    }

    private static QuantizationInfo? Stated(string directory, JsonDocument? config, JsonDocument? quantizeConfig, IReadOnlyList<SafetensorsFile> shards)
    {
        if (config is not null && config.RootElement.TryGetProperty("quantization_config", out var section) && section.ValueKind != JsonValueKind.Null)
            return QuantizationConfigReader.FromJson(section, Path.Combine(directory, HfModelFolder.ConfigFileName), QuantizationInfo.FromConfigJson, impliedMethod: null);
        if (quantizeConfig is not null)
            return QuantizationConfigReader.FromJson(quantizeConfig.RootElement, Path.Combine(directory, HfModelFolder.QuantizeConfigFileName),
                QuantizationInfo.FromQuantizeConfigJson, impliedMethod: "gptq");
        return shards.Count > 0 ? QuantizationConfigReader.FromGptqMetadata(shards[0].Metadata) : null;
    }
}
