using KernelGen.Containers;
using KernelGen.Containers.Gguf;
using KernelGen.Containers.HuggingFace;
using KernelGen.Conversion.HuggingFace;

namespace KernelGen.Conversion.Tensors;

/// <summary>
/// Every tensor of a container under one naming and layout, so models in different formats can be compared and
/// exported: Hugging Face names and row order (GGUF llama-family tensors renamed and their Q/K rows un-permuted),
/// checkpoint layers (GPTQ/AWQ/BitNet) as one dequantized <c>.weight</c> each. Names without a mapping stay as they are.
/// </summary>
public static class CanonicalTensors
{
    public static IReadOnlyList<(string Name, FloatTensor Tensor)> Enumerate(IModelContainer source)
    {
        string? arch = source is GgufFile g ? g.Metadata.GetString(GgufMetadata.ArchitectureKey) : null;
        bool mapNames = arch is "llama" or "qwen2";
        int heads = 0, kvHeads = 0;
        if (source is GgufFile gguf && arch == "llama")
        {
            heads = (int)gguf.Metadata[$"{arch}.attention.head_count"].AsInteger();
            kvHeads = gguf.Metadata.TryGetValue($"{arch}.attention.head_count_kv", out var kv) ? (int)kv.AsInteger() : heads;
        }
        var layers = source is HfModelFolder folder ? new QuantizedLayerIndex(folder) : null;
        var result = new List<(string, FloatTensor)>();
        foreach (var entry in source.Tensors)
        {
            string name = entry.Name;
            if (layers is not null && layers.Owned.Contains(name))
            {
                // A checkpoint layer appears once, as its dequantized weight.
                if (!(name.EndsWith(".qweight", StringComparison.Ordinal) || name.EndsWith(".weight_scale", StringComparison.Ordinal))) continue;
                name = name[..name.LastIndexOf('.')] + ".weight";
            }
            FloatTensor tensor = ModelTensors.Open(source, name);
            if (mapNames && LlamaTensorNames.ToHf(name) is string hf)
            {
                if (arch == "llama" && name.Contains(".attn_q.", StringComparison.Ordinal)) tensor = new PermutedRowsTensor(tensor, heads, toGguf: false);
                if (arch == "llama" && name.Contains(".attn_k.", StringComparison.Ordinal)) tensor = new PermutedRowsTensor(tensor, kvHeads, toGguf: false);
                name = hf;
            }
            result.Add((name, tensor));
        }
        return result;
    }
}
