using System.Buffers.Binary;
using KernelGen.Containers.Safetensors;

namespace KernelGen.Containers.HuggingFace;

/// <summary>
/// Recognises a quantized checkpoint from its tensors alone (FORMATS.md §9), for folders whose config is missing or
/// says nothing, and to cross-check a config that does. Tensors are grouped by the name prefix before the last dot
/// (<c>model.layers.0.self_attn.q_proj</c>); the first group in tensor order that matches a pattern decides:
/// GPTQ = I32 <c>qweight</c> + <c>qzeros</c> + <c>scales</c> + <c>g_idx</c>; AWQ = the same without <c>g_idx</c>;
/// BitNet = U8 <c>weight</c> + <c>weight_scale</c>. Parameters are read off the shapes where they are unambiguous.
/// bitnet.cpp's I2_S data stored raw in safetensors (a U8 <c>….weight.i2_s</c> tensor, as in the
/// <c>bitnet_i2s_256x512</c> vectors) matches none of these on purpose: it is a GGUF-side encoding, not an HF
/// checkpoint layout, and such a folder is reported as Plain.
/// </summary>
internal static class CheckpointLayout
{
    /// <summary><c>g_idx</c> tensors larger than this are not read to decide act-order (it stays unknown).</summary>
    private const long MaxGIdxBytesToRead = 64L << 20;

    /// <summary>The layout the tensors show, or null when they look like a plain checkpoint.</summary>
    public static QuantizationInfo? Infer(IEnumerable<(SafetensorsFile File, SafetensorsTensorInfo Tensor)> tensors)
    {
        var groups = new Dictionary<string, Dictionary<string, (SafetensorsFile File, SafetensorsTensorInfo Tensor)>>(StringComparer.Ordinal);
        var order = new List<string>();
        foreach (var entry in tensors)
        {
            string name = entry.Tensor.Name;
            int dot = name.LastIndexOf('.');
            if (dot < 0) continue;
            string prefix = name[..dot];
            if (!groups.TryGetValue(prefix, out var members))
            {
                groups[prefix] = members = new(StringComparer.Ordinal);
                order.Add(prefix);
            }
            members[name[(dot + 1)..]] = entry;
        }
        foreach (string prefix in order)
            if (Match(groups[prefix]) is { } info) return info;
        return null;
    }

    private static QuantizationInfo? Match(Dictionary<string, (SafetensorsFile File, SafetensorsTensorInfo Tensor)> m)
    {
        if (m.TryGetValue("qweight", out var qweight) && qweight.Tensor is { DType: SafetensorsDType.I32, Rank: 2 }
            && m.ContainsKey("qzeros") && m.TryGetValue("scales", out var scales) && scales.Tensor.Rank == 2)
        {
            return m.TryGetValue("g_idx", out var gIdx)
                ? Gptq(qweight.Tensor, scales.Tensor, gIdx)
                : Awq(qweight.Tensor, scales.Tensor);
        }
        if (m.TryGetValue("weight", out var weight) && weight.Tensor is { DType: SafetensorsDType.U8, Rank: 2 } && m.ContainsKey("weight_scale"))
            return new QuantizationInfo { Kind = CheckpointKind.BitNet, QuantMethod = "bitnet", Bits = 2, Source = QuantizationInfo.FromTensorLayout };
        return null;
    }

    /// <summary>GPTQ: qweight <c>[in*bits/32, out]</c>, scales <c>[n_groups, out]</c>, g_idx <c>[in]</c>.</summary>
    private static QuantizationInfo Gptq(SafetensorsTensorInfo qweight, SafetensorsTensorInfo scales, (SafetensorsFile File, SafetensorsTensorInfo Tensor) gIdx)
    {
        long inFeatures = gIdx.Tensor.Rank == 1 ? gIdx.Tensor.ShapeSpan[0] : 0;
        long packedBits = qweight.ShapeSpan[0] * 32;
        long ratio = inFeatures > 0 && packedBits % inFeatures == 0 ? packedBits / inFeatures : 0;
        int? bits = ratio is 2 or 3 or 4 or 8 ? (int)ratio : null;
        long groups = scales.ShapeSpan[0];
        // One group covering every input is what group_size = -1 means; any other count must divide the inputs.
        int? groupSize = groups == 1 ? -1 : GroupSize(inFeatures, groups);
        return new QuantizationInfo
        {
            Kind = CheckpointKind.Gptq,
            QuantMethod = "gptq",
            Bits = bits,
            GroupSize = groupSize,
            DescAct = groupSize is int g ? IsActOrder(gIdx.File, gIdx.Tensor, g) : null,
            Source = QuantizationInfo.FromTensorLayout,
        };
    }

    /// <summary>
    /// AWQ GEMM: qweight <c>[in, out/8]</c>, scales <c>[in/g, out]</c>. GEMV: qweight <c>[out, in/8]</c>, scales
    /// <c>[out, 8W]</c> whose padding hides the group size, which is left unknown.
    /// </summary>
    private static QuantizationInfo Awq(SafetensorsTensorInfo qweight, SafetensorsTensorInfo scales)
    {
        ReadOnlySpan<long> q = qweight.ShapeSpan, s = scales.ShapeSpan;
        string? version = null;
        int? groupSize = null;
        if (s[1] == q[1] * 8)
        {
            version = "gemm";
            groupSize = GroupSize(q[0], s[0]);
        }
        else if (s[0] == q[0])
        {
            version = "gemv";
        }
        return new QuantizationInfo
        {
            Kind = CheckpointKind.Awq,
            QuantMethod = "awq",
            Bits = 4,
            GroupSize = groupSize,
            AwqVersion = version,
            Source = QuantizationInfo.FromTensorLayout,
        };
    }

    private static int? GroupSize(long inputs, long groups) =>
        groups > 0 && inputs % groups == 0 && inputs / groups <= int.MaxValue ? (int)(inputs / groups) : null;

    /// <summary>
    /// Act-order shows in <c>g_idx</c>: without it <c>g_idx[k] = k / group_size</c> (all zeros for -1). Returns null
    /// when the tensor is not a readable I32 vector.
    /// </summary>
    private static bool? IsActOrder(SafetensorsFile file, SafetensorsTensorInfo gIdx, int groupSize)
    {
        if (gIdx is not { DType: SafetensorsDType.I32, Rank: 1 } || gIdx.ByteSize > MaxGIdxBytesToRead) return null;
        ReadOnlySpan<byte> data = file.GetData(gIdx);
        for (int k = 0; k < gIdx.ElementCount; k++)
        {
            int expected = groupSize <= 0 ? 0 : k / groupSize;
            if (BinaryPrimitives.ReadInt32LittleEndian(data[(k * 4)..]) != expected) return true;
        }
        return false;
    }
}
