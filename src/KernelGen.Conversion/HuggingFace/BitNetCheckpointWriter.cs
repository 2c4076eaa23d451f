using System.Text.Json;
using System.Text.Json.Nodes;
using KernelGen.Containers;
using KernelGen.Containers.Gguf;
using KernelGen.Containers.Safetensors;
using KernelGen.Conversion.Tensors;
using KernelGen.IO;
using KernelGen.Kernels;
using KernelGen.Kernels.Generated;

namespace KernelGen.Conversion.HuggingFace;

/// <summary>
/// A model → a BitNet b1.58 checkpoint in the Hugging Face packed layout (<c>--to bitnet</c>): every linear layer
/// ternarised and packed with its per-tensor <c>weight_scale</c> (autobitlinear: the scale multiplies). A layer that
/// already is ternary times one scale (a BitNet model that went to TQ1_0/TQ2_0 and comes back) keeps that scale, so
/// the round trip is lossless; any other layer gets BitNet's absmean scale.
/// </summary>
public sealed class BitNetCheckpointWriter
{
    private readonly IModelContainer _source;
    private readonly List<(string Name, FloatTensor Tensor)> _layers = new();
    private readonly List<(string Name, FloatTensor Tensor)> _plain = new();

    public BitNetCheckpointWriter(IModelContainer source)
    {
        _source = source;
        foreach (var (name, tensor) in CanonicalTensors.Enumerate(source))
            (LinearLayerQuantization.IsLinearWeight(name, tensor) ? _layers : _plain).Add((name, tensor));
        if (_layers.Count == 0) throw new NotSupportedException($"{source.Path} has no linear layers (model.layers.N.*_proj.weight) to ternarise");
    }

    /// <summary>Layers whose values were already ternary times one scale (carried over exactly).</summary>
    public int ExactLayers { get; private set; }

    public int LayerCount => _layers.Count;

    public void Write(string folder, bool overwrite, CancellationToken cancellation = default)
    {
        var writer = new SafetensorsWriter();
        writer.AddMetadata("format", "pt");
        foreach (var (name, t) in _plain) PlainTensorWriter.Add(writer, name, t);
        foreach (var (name, t) in _layers)
        {
            cancellation.ThrowIfCancellationRequested();
            var layout = new BitNetLayout(checked((int)t.RowCount), checked((int)t.RowLength), BitNetLinearClass.Autobitlinear);
            float[] w = PlainTensorWriter.ReadAll(t);
            var packed = new byte[layout.WeightBytes];
            var scale = new byte[layout.WeightScaleBytes];
            float? exact = TernaryScale(w);
            if (exact is not null) ExactLayers++;
            Quantizer.QuantizeBitNet(w, layout, packed, scale, default, exact);
            string prefix = name[..^".weight".Length];
            writer.AddTensor(prefix + ".weight", SafetensorsDType.U8, [layout.WeightRows, layout.WeightColumns], TensorDataSource.FromMemory(packed));
            writer.AddTensor(prefix + ".weight_scale", SafetensorsDType.BF16, [layout.WeightScaleLength], TensorDataSource.FromMemory(scale));
        }
        FolderWriter.Write(folder, overwrite, temp =>
        {
            writer.WriteFile(Path.Combine(temp, "model.safetensors"), overwrite: false, cancellation);
            var config = _source is GgufFile g ? HfConfigBuilder.FromGguf(g, "bfloat16") ?? new JsonObject() : new JsonObject();
            config["quantization_config"] = new JsonObject { ["quant_method"] = "bitnet", ["linear_class"] = "autobitlinear", ["quantization_mode"] = "offline" };
            File.WriteAllText(Path.Combine(temp, "config.json"), config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        });
    }

    /// <summary>m when every value is 0 or ±m and m survives bf16 (the stored scale type), else null.</summary>
    private static float? TernaryScale(float[] w)
    {
        float m = 0;
        foreach (float v in w) m = MathF.Max(m, MathF.Abs(v));
        if (m == 0 || BitConverter.UInt32BitsToSingle(BitConverter.SingleToUInt32Bits(m) & 0xFFFF0000) != m) return null;
        return Array.TrueForAll(w, v => v == 0 || MathF.Abs(v) == m) ? m : null;
    }
}
