using KernelGen.Containers.HuggingFace;
using KernelGen.Containers.Safetensors;
using KernelGen.Errors;
using KernelGen.Kernels.Generated;

namespace KernelGen.Conversion.Tensors;

/// <summary>
/// Opens the quantized layers of GPTQ, AWQ and BitNet checkpoints as float tensors. The decoding itself is the
/// generated codecs' (<c>GPTQCodec</c>, <c>AWQ_GEMMCodec</c>, <c>AWQ_GEMVCodec</c>, <c>BitNetCodec</c>, from
/// <c>formats/*.kgspec</c>); this class only maps a checkpoint's tensors and quantization settings onto their layouts.
/// </summary>
internal static class QuantizedLayers
{
    /// <summary>The quantized layer named <paramref name="name"/> (the layer or its <c>.weight</c>), or null when it is not one.</summary>
    public static FloatTensor? TryOpen(HfModelFolder folder, string name)
    {
        if (folder.Quantization is not { } quantization)
        {
            return null;
        }
        string prefix = name.EndsWith(".weight", StringComparison.Ordinal) ? name[..^".weight".Length] : name;
        return quantization.Kind switch
        {
            CheckpointKind.Gptq when folder.Find(prefix + ".qweight") is not null => OpenGptq(folder, quantization, prefix),
            CheckpointKind.Awq when folder.Find(prefix + ".qweight") is not null => OpenAwq(folder, quantization, prefix),
            CheckpointKind.BitNet when folder.Find(prefix + ".weight") is { Tensor: { DType: SafetensorsDType.U8, Rank: 2 } } weight
                && folder.Find(prefix + ".weight_scale") is not null => OpenBitNet(folder, quantization, prefix, new TensorRef(weight.File, weight.Tensor)),
            _ => null,
        };
    }

    private static TensorRef Require(HfModelFolder folder, string name, SafetensorsDType dtype, int rank)
    {
        var found = folder.Find(name) ?? throw new ModelFormatException(folder.Path, null, $"quantized layer tensor '{name}' is missing");
        if (found.Tensor.DType != dtype || found.Tensor.Rank != rank)
        {
            throw new NotSupportedException($"'{name}' is {found.Tensor.TypeName} rank {found.Tensor.Rank}; KernelGen reads it as {dtype.Name()} rank {rank}");
        }
        return new TensorRef(found.File, found.Tensor);
    }

    private static void CheckBytes(TensorRef tensor, long expected, string layout)
    {
        if (tensor.Info.ByteSize != expected)
        {
            throw new ModelFormatException(tensor.File.Path, tensor.Info.AbsoluteOffset,
                $"'{tensor.Info.Name}' [{string.Join(", ", tensor.Info.Shape)}] holds {tensor.Info.ByteSize} bytes; the {layout} layout needs {expected}");
        }
    }

    private static FloatTensor OpenGptq(HfModelFolder folder, QuantizationInfo q, string prefix)
    {
        var qweight = Require(folder, prefix + ".qweight", SafetensorsDType.I32, 2);
        var qzeros = Require(folder, prefix + ".qzeros", SafetensorsDType.I32, 2);
        var scales = Require(folder, prefix + ".scales", SafetensorsDType.F16, 2);
        TensorRef? gIdx = folder.Find(prefix + ".g_idx") is not null ? Require(folder, prefix + ".g_idx", SafetensorsDType.I32, 1) : null;
        long[] qs = qweight.Info.Shape;
        int bits = q.Bits ?? (gIdx is { } gi && gi.Info.Shape[0] > 0 && qs[0] * 32 % gi.Info.Shape[0] == 0 ? (int)(qs[0] * 32 / gi.Info.Shape[0]) : 0);
        if (bits is not (2 or 3 or 4 or 8))
        {
            throw new NotSupportedException($"GPTQ layer '{prefix}': bits {bits} (GPTQ has 2, 3, 4 or 8)");
        }
        int outFeatures = checked((int)qs[1]);
        int inFeatures = checked((int)(gIdx is { } gx ? gx.Info.Shape[0] : qs[0] * 32 / bits));
        long groups = scales.Info.Shape[0];
        int groupSize = q.GroupSize ?? (groups <= 1 ? -1 : (int)(inFeatures / groups));
        var checkpoint = string.Equals(q.CheckpointFormat, "gptq_v2", StringComparison.OrdinalIgnoreCase) ? GPTQCheckpoint.GptqV2 : GPTQCheckpoint.Gptq;
        GPTQLayout layout;
        try
        {
            layout = new GPTQLayout(outFeatures, inFeatures, bits, groupSize, checkpoint);
        }
        catch (ArgumentException e)
        {
            throw new NotSupportedException($"GPTQ layer '{prefix}': {e.Message}");
        }
        CheckBytes(qweight, layout.QweightBytes, "GPTQ");
        CheckBytes(qzeros, layout.QzerosBytes, "GPTQ");
        CheckBytes(scales, layout.ScalesBytes, "GPTQ");
        if (gIdx is { } gc)
        {
            CheckBytes(gc, layout.GIdxBytes, "GPTQ");
        }
        string storage = $"GPTQ {bits}-bit {(groupSize == -1 ? "per-channel" : "g" + groupSize)}{(q.DescAct == true ? " act-order" : "")} ({(checkpoint == GPTQCheckpoint.Gptq ? "v1" : "v2")})";
        return new GptqLayerTensor(prefix + ".weight", storage, layout, qweight, qzeros, scales, gIdx);
    }

    private static FloatTensor OpenAwq(HfModelFolder folder, QuantizationInfo q, string prefix)
    {
        var qweight = Require(folder, prefix + ".qweight", SafetensorsDType.I32, 2);
        var qzeros = Require(folder, prefix + ".qzeros", SafetensorsDType.I32, 2);
        var scales = Require(folder, prefix + ".scales", SafetensorsDType.F16, 2);
        if (q.Bits is int b && b != 4)
        {
            throw new NotSupportedException($"AWQ layer '{prefix}': {b}-bit AWQ (only the 4-bit layouts exist)");
        }
        long[] qs = qweight.Info.Shape, ss = scales.Info.Shape;
        string version = q.AwqVersion?.ToLowerInvariant() ?? (ss[1] == qs[1] * 8 ? "gemm" : "gemv");
        try
        {
            if (version == "gemm")
            {
                int inFeatures = checked((int)qs[0]), outFeatures = checked((int)(qs[1] * 8));
                int groupSize = q.GroupSize is int g and > 0 ? g : q.GroupSize == -1 ? inFeatures : checked((int)(inFeatures / Math.Max(1, ss[0])));
                var layout = new AWQ_GEMMLayout(outFeatures, inFeatures, groupSize);
                CheckBytes(qweight, layout.QweightBytes, "AWQ gemm");
                CheckBytes(qzeros, layout.QzerosBytes, "AWQ gemm");
                CheckBytes(scales, layout.ScalesBytes, "AWQ gemm");
                return new AwqGemmLayerTensor(prefix + ".weight", $"AWQ 4-bit g{groupSize} (gemm)", layout, qweight, qzeros, scales);
            }
            if (version == "gemv")
            {
                int outFeatures = checked((int)qs[0]), inFeatures = checked((int)(qs[1] * 8));
                int groupSize = q.GroupSize is int g and > 0 ? g : q.GroupSize == -1 ? inFeatures
                    : throw new NotSupportedException($"AWQ GEMV layer '{prefix}': the group size is not stated and its padded scales do not show it");
                var layout = new AWQ_GEMVLayout(outFeatures, inFeatures, groupSize);
                CheckBytes(qweight, layout.QweightBytes, "AWQ gemv");
                CheckBytes(qzeros, layout.QzerosBytes, "AWQ gemv");
                CheckBytes(scales, layout.ScalesBytes, "AWQ gemv");
                return new AwqGemvLayerTensor(prefix + ".weight", $"AWQ 4-bit g{groupSize} (gemv)", layout, qweight, qzeros, scales);
            }
        }
        catch (ArgumentException e)
        {
            throw new NotSupportedException($"AWQ layer '{prefix}': {e.Message}");
        }
        throw new NotSupportedException($"AWQ layer '{prefix}': version '{version}' (KernelGen reads gemm and gemv)");
    }

    private static FloatTensor OpenBitNet(HfModelFolder folder, QuantizationInfo q, string prefix, TensorRef weight)
    {
        var scale = Require(folder, prefix + ".weight_scale", SafetensorsDType.BF16, 1);
        var warnings = new List<string>();
        BitNetLinearClass linearClass;
        switch (q.BitNetLinearClass?.ToLowerInvariant())
        {
            case "autobitlinear":
                linearClass = BitNetLinearClass.Autobitlinear;
                break;
            case "bitlinear":
                linearClass = BitNetLinearClass.Bitlinear;
                break;
            case null:
                linearClass = BitNetLinearClass.Bitlinear;
                warnings.Add($"BitNet layer '{prefix}': quantization_config.linear_class is not stated; assuming bitlinear (the transformers default: W = t / weight_scale)");
                break;
            default:
                throw new NotSupportedException($"BitNet layer '{prefix}': linear_class '{q.BitNetLinearClass}' (KernelGen reads autobitlinear and bitlinear)");
        }
        long[] shape = weight.Info.Shape;
        var layout = new BitNetLayout(checked((int)(shape[0] * 4)), checked((int)shape[1]), linearClass);
        CheckBytes(weight, layout.WeightBytes, "BitNet");
        CheckBytes(scale, layout.WeightScaleBytes, "BitNet");
        string storage = linearClass == BitNetLinearClass.Autobitlinear ? "BitNet ternary (autobitlinear: t * weight_scale)" : "BitNet ternary (bitlinear: t / weight_scale)";
        return new BitNetLayerTensor(prefix + ".weight", storage, layout, weight, scale, warnings);
    }
}
