using System.Text.Json;
using KernelGen.Containers.Gguf;

namespace KernelGen.Conversion.HuggingFace;

/// <summary>
/// Builds the GGUF <c>tokenizer.*</c> keys from a Hugging Face folder the way llama.cpp's converter does (FORMATS.md
/// §2.3): a SentencePiece <c>tokenizer.model</c> becomes the <c>llama</c> tokenizer, otherwise a byte-level BPE
/// <c>tokenizer.json</c> becomes <c>gpt2</c>. Special token ids and add_bos/add_eos come from tokenizer_config.json,
/// then config.json.
/// </summary>
public static class HfTokenizerMetadata
{
    private const int Normal = 1, Unknown = 2, Control = 3, UserDefined = 4, Unused = 5, Byte = 6;

    /// <summary>Appends the tokenizer keys to <paramref name="md"/>; false when the folder has no tokenizer.</summary>
    public static bool Add(GgufMetadata md, string folder, JsonElement config, string architecture, int? vocabSize)
    {
        string spm = Path.Combine(folder, "tokenizer.model"), json = Path.Combine(folder, "tokenizer.json");
        JsonElement? tokenizerConfig = ReadJson(Path.Combine(folder, "tokenizer_config.json"));
        List<string> tokens;
        if (File.Exists(spm)) tokens = AddSentencePiece(md, spm, folder, tokenizerConfig, vocabSize);
        else if (File.Exists(json)) tokens = AddBpe(md, json, architecture, vocabSize);
        else return false;
        AddSpecialTokens(md, tokens, tokenizerConfig, config);
        return true;
    }

    private static List<string> AddSentencePiece(GgufMetadata md, string path, string folder, JsonElement? tokenizerConfig, int? vocabSize)
    {
        var pieces = SentencePieceModel.ReadPieces(File.ReadAllBytes(path));
        int n = Math.Max(vocabSize ?? pieces.Count, pieces.Count);
        var tokens = new string[n];
        var scores = new float[n];
        var types = new int[n];
        for (int i = 0; i < n; i++) { tokens[i] = $"[PAD{i}]"; scores[i] = -10000f; types[i] = Unused; }
        for (int i = 0; i < pieces.Count; i++)
        {
            tokens[i] = pieces[i].Piece;
            scores[i] = pieces[i].Score;
            // The converter asks IsUnknown/IsControl/IsUnused/IsByte; anything else (user-defined included) is NORMAL.
            types[i] = pieces[i].Type is Unknown or Control or Unused or Byte ? pieces[i].Type : Normal;
        }
        if (ReadJson(Path.Combine(folder, "added_tokens.json")) is { ValueKind: JsonValueKind.Object } added)
            foreach (var p in added.EnumerateObject())
                if (p.Value.TryGetInt32(out int id) && id >= 0 && id < n) { tokens[id] = p.Name; scores[id] = -1000f; types[id] = UserDefined; }
        if (tokenizerConfig is { } tc && tc.TryGetProperty("added_tokens_decoder", out var decoder) && decoder.ValueKind == JsonValueKind.Object)
            foreach (var p in decoder.EnumerateObject())
            {
                if (!int.TryParse(p.Name, out int id) || id < 0 || id >= n || !p.Value.TryGetProperty("content", out var content)) continue;
                bool special = p.Value.TryGetProperty("special", out var s) && s.ValueKind == JsonValueKind.True;
                tokens[id] = special ? content.GetString()! : content.GetString()!.Replace('\u2581', ' ');
                scores[id] = -1000f;
                types[id] = special ? Control : UserDefined;
            }
        md.Set("tokenizer.ggml.model", GgufValue.String("llama"));
        md.Set("tokenizer.ggml.pre", GgufValue.String("default"));
        md.Set("tokenizer.ggml.tokens", GgufValue.Array(GgufArray.Of(tokens)));
        md.Set("tokenizer.ggml.scores", GgufValue.Array(GgufArray.Of(scores)));
        md.Set("tokenizer.ggml.token_type", GgufValue.Array(GgufArray.Of(types)));
        return tokens.ToList();
    }

    private static List<string> AddBpe(GgufMetadata md, string path, string architecture, int? vocabSize)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        var model = doc.RootElement.GetProperty("model");
        if (model.TryGetProperty("type", out var t) && t.GetString() is string type && type != "BPE")
            throw new NotSupportedException($"tokenizer.json model type '{type}' is not supported (only BPE, or a SentencePiece tokenizer.model)");
        var byId = new Dictionary<int, (string Text, int Type)>();
        foreach (var p in model.GetProperty("vocab").EnumerateObject()) byId[p.Value.GetInt32()] = (p.Name, Normal);
        if (doc.RootElement.TryGetProperty("added_tokens", out var added))
            foreach (var a in added.EnumerateArray())
                byId[a.GetProperty("id").GetInt32()] = (a.GetProperty("content").GetString()!, a.TryGetProperty("special", out var s) && s.GetBoolean() ? Control : UserDefined);
        int n = Math.Max(vocabSize ?? 0, byId.Count == 0 ? 0 : byId.Keys.Max() + 1);
        var tokens = new string[n];
        var types = new int[n];
        for (int i = 0; i < n; i++) (tokens[i], types[i]) = byId.TryGetValue(i, out var v) ? v : ($"[PAD{i}]", Unused);
        var merges = model.TryGetProperty("merges", out var m)
            ? m.EnumerateArray().Select(x => x.ValueKind == JsonValueKind.Array ? string.Join(' ', x.EnumerateArray().Select(y => y.GetString())) : x.GetString()!).ToArray()
            : [];
        md.Set("tokenizer.ggml.model", GgufValue.String("gpt2"));
        // llama.cpp picks the pre-tokenizer by hashing the tokenizer's output on a probe text; without that table the
        // architecture's usual choice is used: Qwen2's own, llama-bpe for Llama 3 style BPE.
        md.Set("tokenizer.ggml.pre", GgufValue.String(architecture == "qwen2" ? "qwen2" : "llama-bpe"));
        md.Set("tokenizer.ggml.tokens", GgufValue.Array(GgufArray.Of(tokens)));
        md.Set("tokenizer.ggml.token_type", GgufValue.Array(GgufArray.Of(types)));
        if (merges.Length > 0) md.Set("tokenizer.ggml.merges", GgufValue.Array(GgufArray.Of(merges)));
        return tokens.ToList();
    }

    private static void AddSpecialTokens(GgufMetadata md, List<string> tokens, JsonElement? tokenizerConfig, JsonElement config)
    {
        foreach (var (key, name) in new[] { ("bos", "bos_token"), ("eos", "eos_token"), ("unknown", "unk_token"), ("seperator", "sep_token"), ("padding", "pad_token") })
        {
            int id = -1;
            if (tokenizerConfig is { } tc && tc.TryGetProperty(name, out var token))
            {
                string? text = token.ValueKind == JsonValueKind.String ? token.GetString()
                    : token.ValueKind == JsonValueKind.Object && token.TryGetProperty("content", out var c) ? c.GetString() : null;
                if (text is not null) id = tokens.IndexOf(text);
            }
            if (id < 0 && config.TryGetProperty(name + "_id", out var configId) && configId.TryGetInt32(out int cid)) id = cid;
            if (id >= 0) md.Set($"tokenizer.ggml.{key}_token_id", GgufValue.UInt32((uint)id));
        }
        foreach (string flag in new[] { "add_bos_token", "add_eos_token" })
            if (tokenizerConfig is { } tc && tc.TryGetProperty(flag, out var v) && v.ValueKind is JsonValueKind.True or JsonValueKind.False)
                md.Set($"tokenizer.ggml.{flag}", GgufValue.Bool(v.GetBoolean()));
        if (tokenizerConfig is { } cfg && cfg.TryGetProperty("chat_template", out var template) && template.ValueKind == JsonValueKind.String)
            md.Set("tokenizer.chat_template", GgufValue.String(template.GetString()!));
    }

    private static JsonElement? ReadJson(string path)
    {
        if (!File.Exists(path)) return null;
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        return doc.RootElement.Clone();
    }
}
