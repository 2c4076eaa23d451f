using KernelGen.Containers;
using KernelGen.Containers.Gguf;
using KernelGen.Containers.HuggingFace;
using KernelGen.Containers.Safetensors;
using KernelGen.Errors;

namespace KernelGen.Conversion.Tensors;

/// <summary>
/// Finds tensors by name in any container and opens them as <see cref="FloatTensor"/>. In a GPTQ, AWQ or BitNet
/// checkpoint a quantized layer is one logical tensor, named by the layer (<c>model.layers.0.self_attn.q_proj</c>) or
/// its <c>.weight</c>, decoded to the <c>nn.Linear</c> layout <c>[out_features, in_features]</c>.
/// </summary>
public static class ModelTensors
{
    /// <summary>Opens tensor <paramref name="name"/> of <paramref name="container"/>; a missing or undecodable tensor is a <see cref="ModelFormatException"/>.</summary>
    public static FloatTensor Open(IModelContainer container, string name)
    {
        try
        {
            return container switch
            {
                GgufFile gguf => new GgufFloatTensor(gguf, gguf.Find(name) ?? throw Missing(container, name)),
                SafetensorsFile st => new SafetensorsFloatTensor(st, st.Find(name) ?? throw Missing(container, name)),
                HfModelFolder folder => OpenInFolder(folder, name),
                _ => throw new NotSupportedException($"{container.GetType().Name} has no tensor reader"),
            };
        }
        catch (NotSupportedException e)
        {
            throw new ModelFormatException(container.Path, null, e.Message);
        }
    }

    private static FloatTensor OpenInFolder(HfModelFolder folder, string name)
    {
        if (QuantizedLayers.TryOpen(folder, name) is { } layer) return layer;
        var found = folder.Find(name) ?? throw Missing(folder, name);
        return new SafetensorsFloatTensor(found.File, found.Tensor);
    }

    private static ModelFormatException Missing(IModelContainer container, string name)
    {
        var names = container.Tensors.Select(t => t.Name).ToList();
        string hint = names.FirstOrDefault(n => n.Contains(name, StringComparison.OrdinalIgnoreCase)) is { } close ? $" (did you mean '{close}'?)" : "";
        return new ModelFormatException(container.Path, null, $"no tensor named '{name}'{hint}; it has {names.Count} tensors");
    }
}
