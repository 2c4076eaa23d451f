using KernelGen.Formats;

namespace KernelGen.Conversion.Quantization;

/// <summary>What the type policy needs to know about one tensor.</summary>
public sealed record TensorShapeInfo(string Name, IReadOnlyList<long> Ne, GgmlType CurrentType)
{
    /// <summary>ggml_n_dims: the index of the last dimension that is not 1, plus one (at least 1).</summary>
    public int EffectiveDimensions
    {
        get
        {
            for (int i = Ne.Count - 1; i >= 1; i--)
                if (Ne[i] != 1) return i + 1;
            return 1;
        }
    }
}

/// <summary>Model facts the mixtures depend on.</summary>
public sealed record ModelHyperParameters(string Architecture, int LayerCount, int HeadCount, int HeadCountKv)
{
    public int Gqa => HeadCountKv > 0 ? HeadCount / HeadCountKv : 1;
}

/// <summary>
/// llama-quantize's per-tensor type selection (<c>llama_tensor_get_type</c>, FORMATS.md §6): which tensors are
/// quantized at all, the mixture rules of each file type (skipped by <c>--pure</c>), and the fallback for row lengths
/// the chosen type's block does not divide. Stateful like the reference: the attn_v and ffn_down counters advance as
/// tensors are visited, so call <see cref="Choose"/> in llama-quantize's tensor order.
/// </summary>
public sealed class TensorTypePolicy
{
    private readonly LlamaFileType _fileType;
    private readonly bool _pure;
    private readonly ModelHyperParameters _model;
    private readonly bool _tiedEmbeddings;
    private readonly int _attentionVCount;
    private int _attentionV;
    private int _ffnDown;

    public TensorTypePolicy(LlamaFileType fileType, bool pure, ModelHyperParameters model, IReadOnlyCollection<TensorShapeInfo> tensors)
    {
        _fileType = fileType;
        _pure = pure;
        _model = model;
        _tiedEmbeddings = !tensors.Any(t => t.Name == "output.weight");
        _attentionVCount = tensors.Count(t => IsAttentionVLike(t.Name));
    }

    /// <summary>tensor_allows_quantization: 2-D+ weights other than norms and a few special small tensors.</summary>
    public static bool AllowsQuantization(TensorShapeInfo t)
    {
        string n = t.Name;
        if (t.EffectiveDimensions < 2 || !n.EndsWith("weight", StringComparison.Ordinal) || n.Contains("_norm.weight", StringComparison.Ordinal)) return false;
        string[] excluded = ["ffn_gate_inp.weight", "ssm_conv1d.weight", "pos_embd.weight", "token_types.weight", "attn_rel_b.weight",
            "time_mix_first.weight", "time_mix_w0.weight", "time_mix_w1.weight", "time_mix_w2.weight", "time_mix_v0.weight",
            "time_mix_v1.weight", "time_mix_v2.weight", "time_mix_a0.weight", "time_mix_a1.weight", "time_mix_a2.weight",
            "time_mix_g1.weight", "time_mix_g2.weight", "time_mix_decay_w1.weight", "time_mix_decay_w2.weight",
            "time_mix_lerp_fused.weight", "patch_embd.weight", "position_embd.weight", "altup", "laurel"];
        return !excluded.Any(e => n.Contains(e, StringComparison.Ordinal));
    }

    /// <summary>The type <paramref name="t"/> gets in the output file.</summary>
    public GgmlType Choose(TensorShapeInfo t)
    {
        if (!AllowsQuantization(t)) return t.CurrentType;
        var type = _fileType.DefaultType;
        if (!GgmlTypeInfo.Of(type).IsQuantized) return type; // F16/BF16/F32 files: no mixtures, no fallback
        if (!_pure) type = Mixture(t, type);
        return Fallback(t, type);
    }

    private static bool IsAttentionVLike(string n) =>
        n.Contains("attn_v.weight", StringComparison.Ordinal) || n.Contains("attn_qkv.weight", StringComparison.Ordinal) || n.Contains("attn_kv_b.weight", StringComparison.Ordinal);

    private static bool UseMoreBits(int i, int n) => i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2;

    private GgmlType Mixture(TensorShapeInfo t, GgmlType type)
    {
        string n = t.Name, f = _fileType.Name;
        bool isOutput = n == "output.weight" || (_tiedEmbeddings && n == "token_embd.weight");
        if (isOutput)
        {
            int block = GgmlTypeInfo.Of(type).BlockElements;
            if (_model.Architecture == "falcon" || t.Ne[0] % block != 0) return GgmlType.Q8_0;
            return type != GgmlType.Q8_0 ? GgmlType.Q6_K : type;
        }
        if (n == "token_embd.weight" || n == "per_layer_token_embd.weight")
            return f is "TQ1_0" or "TQ2_0" ? GgmlType.Q4_K : type;
        if (IsAttentionVLike(n))
        {
            int i = _attentionV++;
            return f switch
            {
                "Q2_K" => _model.Gqa >= 4 ? GgmlType.Q4_K : GgmlType.Q3_K,
                "Q3_K_M" => i < 2 ? GgmlType.Q5_K : GgmlType.Q4_K,
                "Q3_K_L" => GgmlType.Q5_K,
                "Q4_K_S" when i < 4 => GgmlType.Q5_K,
                "Q4_K_M" or "Q5_K_M" when UseMoreBits(i, _attentionVCount) => GgmlType.Q6_K,
                "IQ4_NL" or "IQ4_XS" when _model.Gqa >= 4 => GgmlType.Q5_K,
                _ => type,
            };
        }
        if (n.Contains("ffn_down", StringComparison.Ordinal))
        {
            int i = _ffnDown++, layers = _model.LayerCount;
            return f switch
            {
                "Q2_K" => GgmlType.Q3_K,
                "Q3_K_M" => i < layers / 16 ? GgmlType.Q5_K : _model.Architecture != "falcon" || UseMoreBits(i, layers) ? GgmlType.Q4_K : GgmlType.Q3_K,
                "Q3_K_L" => _model.Architecture == "falcon" ? GgmlType.Q4_K : GgmlType.Q5_K,
                "Q4_K_M" or "Q5_K_M" when UseMoreBits(i, layers) => GgmlType.Q6_K,
                "Q4_K_S" when i < layers / 8 => GgmlType.Q5_K,
                "IQ4_NL" or "IQ4_XS" when i < layers / 8 => GgmlType.Q5_K,
                _ => type,
            };
        }
        if (n.Contains("attn_output.weight", StringComparison.Ordinal))
        {
            return f switch
            {
                "Q2_K" => GgmlType.Q3_K,
                "Q3_K_M" => GgmlType.Q4_K,
                "Q3_K_L" => GgmlType.Q5_K,
                _ => type,
            };
        }
        return type;
    }

    /// <summary>tensor_type_fallback: a type whose block does not divide the row length falls back (FORMATS.md §6.4).</summary>
    private static GgmlType Fallback(TensorShapeInfo t, GgmlType type)
    {
        long rowLength = t.Ne[0];
        if (rowLength % GgmlTypeInfo.Of(type).BlockElements == 0) return type;
        GgmlType fallback = type switch
        {
            GgmlType.IQ1_S or GgmlType.IQ1_M or GgmlType.IQ2_XXS or GgmlType.IQ2_XS or GgmlType.IQ2_S or GgmlType.IQ3_XXS
                or GgmlType.IQ3_S or GgmlType.IQ4_XS => GgmlType.IQ4_NL,
            GgmlType.Q2_0 or GgmlType.Q2_K or GgmlType.Q3_K or GgmlType.TQ1_0 or GgmlType.TQ2_0 => GgmlType.Q4_0,
            GgmlType.Q4_K => GgmlType.Q5_0,
            GgmlType.Q5_K => GgmlType.Q5_1,
            GgmlType.Q6_K => GgmlType.Q8_0,
            _ => throw new NotSupportedException($"tensor '{t.Name}': row length {rowLength} is not a multiple of {type}'s block and no fallback type is defined"),
        };
        return rowLength % GgmlTypeInfo.Of(fallback).BlockElements == 0 ? fallback : GgmlType.F16;
    }
}
