using System.Text.Json.Nodes;
using KernelGen.Containers.Gguf;

namespace KernelGen.Conversion.HuggingFace;

/// <summary>config.json for a llama-family GGUF (FORMATS.md §7.6): the inverse of the converter's hyper-parameter keys.</summary>
public static class HfConfigBuilder
{
    /// <summary>The config, or null when the GGUF is not llama or qwen2.</summary>
    public static JsonObject? FromGguf(GgufFile g, string torchDType)
    {
        string? a = g.Metadata.GetString(GgufMetadata.ArchitectureKey);
        if (a is not ("llama" or "qwen2")) return null;
        long? Int(string key) => g.Metadata.TryGetValue($"{a}.{key}", out var v) && v.IsInteger ? (long)v.AsInteger() : null;
        double? Real(string key) => g.Metadata.TryGetValue($"{a}.{key}", out var v) ? v.AsDouble() : null;
        var config = new JsonObject
        {
            ["architectures"] = new JsonArray(a == "qwen2" ? "Qwen2ForCausalLM" : "LlamaForCausalLM"),
            ["model_type"] = a,
            ["hidden_size"] = Int("embedding_length"),
            ["intermediate_size"] = Int("feed_forward_length"),
            ["num_hidden_layers"] = Int("block_count"),
            ["num_attention_heads"] = Int("attention.head_count"),
            ["num_key_value_heads"] = Int("attention.head_count_kv") ?? Int("attention.head_count"),
            ["max_position_embeddings"] = Int("context_length"),
            ["rms_norm_eps"] = Real("attention.layer_norm_rms_epsilon"),
            ["rope_theta"] = Real("rope.freq_base"),
            ["vocab_size"] = Int("vocab_size") ?? (g.Metadata.TryGetValue("tokenizer.ggml.tokens", out var tokens) ? tokens.AsArray().Count : null),
            ["tie_word_embeddings"] = g.Find("output.weight") is null,
            ["torch_dtype"] = torchDType,
            ["hidden_act"] = "silu",
        };
        if (Int("attention.key_length") is long headDim) config["head_dim"] = headDim;
        if (g.Metadata.TryGetValue("tokenizer.ggml.bos_token_id", out var bos)) config["bos_token_id"] = (long)bos.AsInteger();
        if (g.Metadata.TryGetValue("tokenizer.ggml.eos_token_id", out var eos)) config["eos_token_id"] = (long)eos.AsInteger();
        return config;
    }
}
