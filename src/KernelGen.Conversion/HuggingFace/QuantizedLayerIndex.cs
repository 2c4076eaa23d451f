using KernelGen.Containers.HuggingFace;
using KernelGen.Conversion.Tensors;

namespace KernelGen.Conversion.HuggingFace;

/// <summary>The quantized layers of a GPTQ/AWQ/BitNet checkpoint folder, and which stored tensors belong to them.</summary>
public sealed class QuantizedLayerIndex
{
    private static readonly string[] Parts = [".qweight", ".qzeros", ".scales", ".g_idx"];

    public QuantizedLayerIndex(HfModelFolder folder)
    {
        var layers = new List<(string Prefix, QuantizedLayerTensor Tensor)>();
        var owned = new HashSet<string>(StringComparer.Ordinal);
        foreach (var t in folder.Tensors)
        {
            // GPTQ/AWQ layers are found by their packed codes, BitNet layers by their per-tensor scale.
            string? prefix = t.Name.EndsWith(".qweight", StringComparison.Ordinal) ? t.Name[..^".qweight".Length]
                : t.Name.EndsWith(".weight_scale", StringComparison.Ordinal) ? t.Name[..^".weight_scale".Length] : null;
            if (prefix is null || ModelTensors.Open(folder, prefix) is not QuantizedLayerTensor layer) continue;
            layers.Add((prefix, layer));
            foreach (string part in Parts) owned.Add(prefix + part);
            owned.Add(prefix + ".weight");
            owned.Add(prefix + ".weight_scale");
        }
        Layers = layers;
        Owned = owned;
    }

    /// <summary>Each quantized layer: its name prefix (<c>model.layers.0.self_attn.q_proj</c>) and decoder.</summary>
    public IReadOnlyList<(string Prefix, QuantizedLayerTensor Tensor)> Layers { get; }

    /// <summary>Names of the stored tensors that make up the quantized layers (the rest, such as biases, are plain).</summary>
    public IReadOnlySet<string> Owned { get; }
}
