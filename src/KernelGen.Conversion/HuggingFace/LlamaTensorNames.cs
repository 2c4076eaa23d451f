using System.Text.RegularExpressions;

namespace KernelGen.Conversion.HuggingFace;

/// <summary>
/// Hugging Face ↔ GGUF tensor names for the llama family (llama, mistral, qwen2) and BitNet (FORMATS.md §7.2).
/// </summary>
public static partial class LlamaTensorNames
{
    private static readonly (string Hf, string Gguf)[] Globals =
    [
        ("model.embed_tokens.weight", "token_embd.weight"),
        ("model.norm.weight", "output_norm.weight"),
        ("lm_head.weight", "output.weight"),
    ];

    private static readonly (string Hf, string Gguf)[] Block =
    [
        ("input_layernorm", "attn_norm"), ("self_attn.q_proj", "attn_q"), ("self_attn.k_proj", "attn_k"),
        ("self_attn.v_proj", "attn_v"), ("self_attn.o_proj", "attn_output"), ("post_attention_layernorm", "ffn_norm"),
        ("mlp.gate_proj", "ffn_gate"), ("mlp.up_proj", "ffn_up"), ("mlp.down_proj", "ffn_down"),
        ("self_attn.inner_attn_ln", "attn_sub_norm"), ("mlp.ffn_layernorm", "ffn_sub_norm"),
    ];

    [GeneratedRegex(@"^model\.layers\.(\d+)\.(.+)\.(weight|bias)$")]
    private static partial Regex HfBlockName();

    [GeneratedRegex(@"^blk\.(\d+)\.([a-z_]+)\.(weight|bias)$")]
    private static partial Regex GgufBlockName();

    /// <summary>True for tensors the reference converter drops (rotary caches, attention masks).</summary>
    public static bool IsDropped(string hfName) =>
        hfName.EndsWith(".rotary_emb.inv_freq", StringComparison.Ordinal) || hfName.EndsWith(".attention.masked_bias", StringComparison.Ordinal)
        || hfName.EndsWith(".attention.bias", StringComparison.Ordinal);

    /// <summary>The GGUF name of a Hugging Face tensor, or null when there is no mapping.</summary>
    public static string? ToGguf(string hfName)
    {
        foreach (var (hf, gguf) in Globals)
            if (hf == hfName) return gguf;
        var m = HfBlockName().Match(hfName);
        if (!m.Success) return null;
        foreach (var (hf, gguf) in Block)
            if (hf == m.Groups[2].Value) return $"blk.{m.Groups[1].Value}.{gguf}.{m.Groups[3].Value}";
        return null;
    }

    /// <summary>The Hugging Face name of a GGUF tensor, or null when there is no mapping.</summary>
    public static string? ToHf(string ggufName)
    {
        foreach (var (hf, gguf) in Globals)
            if (gguf == ggufName) return hf;
        var m = GgufBlockName().Match(ggufName);
        if (!m.Success) return null;
        foreach (var (hf, gguf) in Block)
            if (gguf == m.Groups[2].Value) return $"model.layers.{m.Groups[1].Value}.{hf}.{m.Groups[3].Value}";
        return null;
    }
}
