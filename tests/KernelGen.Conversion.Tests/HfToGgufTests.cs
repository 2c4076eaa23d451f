using System.Text;
using System.Text.Json.Nodes;
using KernelGen.Containers;
using KernelGen.Containers.Gguf;
using KernelGen.Containers.Safetensors;
using KernelGen.Conversion;
using KernelGen.Conversion.HuggingFace;
using KernelGen.Conversion.Tensors;
using KernelGen.IO;
using KernelGen.Tests.Infrastructure;

namespace KernelGen.Tests.Conversion;

/// <summary>
/// A Hugging Face llama folder made from the llama.cpp-written tiny model (names mapped back, Q/K rows un-permuted,
/// config.json, a SentencePiece tokenizer.model) converts back to the original tensors and keys.
/// </summary>
public class HfToGgufTests
{
    [Theory]
    [InlineData("F32")]
    [InlineData("F16")]
    [InlineData("Q4_K_M")]
    public void TinyLlamaRoundTripsThroughAHuggingFaceFolder(string type)
    {
        using var dir = new TempDir();
        using var original = GgufFile.Open(RepoPaths.Model("tiny-llama-f32.gguf"));
        BuildHfFolder(original, dir.File("hf"));
        using (var folder = ModelOpener.Open(dir.File("hf")))
            ConversionJob.Create(folder, "gguf", type, pure: false, threads: 2).Write(dir.File("out.gguf"), null, default);
        using var converted = GgufFile.Open(dir.File("out.gguf"));

        Assert.Equal("llama", converted.Metadata.GetString("general.architecture"));
        foreach (var (key, value) in original.Metadata)
            if ((key.StartsWith("llama.", StringComparison.Ordinal) || key.StartsWith("tokenizer.ggml.", StringComparison.Ordinal)) && key != "tokenizer.ggml.token_type")
                Assert.True(value.Equals(converted.Metadata[key]), $"{key}: {value} != {converted.Metadata[key]}");

        if (type == "Q4_K_M")
        {
            // Quantized file types come out as llama-quantize would make them from the converted float file.
            foreach (var t in converted.Tensors)
            {
                using var reference = GgufFile.Open(RepoPaths.Model("tiny-llama-Q4_K_M.gguf"));
                var r = reference.Find(t.Name)!;
                Assert.Equal(r.TypeName, t.TypeName);
                Assert.True(reference.GetData(r).SequenceEqual(converted.GetData(t)), t.Name);
            }
            return;
        }
        Assert.Equal(original.Tensors.Select(t => t.Name), converted.Tensors.Select(t => t.Name));
        foreach (var t in original.Tensors)
        {
            var c = converted.Find(t.Name)!;
            Assert.Equal(t.Ne, c.Ne);
            if (type == "F32") Assert.True(original.GetData(t).SequenceEqual(converted.GetData(c)), t.Name);
            else Assert.Equal(t.Ne.Count == 1 ? "F32" : "F16", c.TypeName);
        }
    }

    [Fact]
    public void UnknownArchitecturesAreRefusedBeforeWriting()
    {
        using var dir = new TempDir();
        using var original = GgufFile.Open(RepoPaths.Model("tiny-llama-f32.gguf"));
        BuildHfFolder(original, dir.File("hf"));
        var config = JsonNode.Parse(File.ReadAllText(dir.File("hf/config.json")))!;
        config["architectures"] = new JsonArray("GPTNeoXForCausalLM");
        File.WriteAllText(dir.File("hf/config.json"), config.ToJsonString());
        using var folder = ModelOpener.Open(dir.File("hf"));
        var e = Assert.Throws<NotSupportedException>(() => ConversionJob.Create(folder, "gguf", "F16", false, 1));
        Assert.Contains("GPTNeoXForCausalLM", e.Message);
        Assert.False(File.Exists(dir.File("out.gguf")));
    }

    [Fact]
    public void Qwen2WithABpeTokenizerKeepsRowOrderAndBiases()
    {
        using var dir = new TempDir();
        using var original = GgufFile.Open(RepoPaths.Model("tiny-llama-f32.gguf"));
        BuildHfFolder(original, dir.File("hf"));
        var config = JsonNode.Parse(File.ReadAllText(dir.File("hf/config.json")))!;
        config["architectures"] = new JsonArray("Qwen2ForCausalLM");
        File.WriteAllText(dir.File("hf/config.json"), config.ToJsonString());
        File.Delete(dir.File("hf/tokenizer.model"));
        File.WriteAllText(dir.File("hf/tokenizer.json"), """
            {"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2, "Ġ": 3}, "merges": ["a b", ["Ġ", "a"]]},
             "added_tokens": [{"id": 4, "content": "<|endoftext|>", "special": true}, {"id": 5, "content": "<tool>", "special": false}]}
            """);
        File.WriteAllText(dir.File("hf/tokenizer_config.json"), """{"eos_token": "<|endoftext|>", "add_bos_token": false}""");
        using (var folder = ModelOpener.Open(dir.File("hf")))
            ConversionJob.Create(folder, "gguf", "F32", false, 1).Write(dir.File("q.gguf"), null, default);
        using var g = GgufFile.Open(dir.File("q.gguf"));
        Assert.Equal("qwen2", g.Metadata.GetString("general.architecture"));
        Assert.Equal("gpt2", g.Metadata.GetString("tokenizer.ggml.model"));
        Assert.Equal("qwen2", g.Metadata.GetString("tokenizer.ggml.pre"));
        var tokens = (string[])g.Metadata["tokenizer.ggml.tokens"].AsArray().Items;
        Assert.Equal(["a", "b", "ab", "Ġ", "<|endoftext|>", "<tool>"], tokens[..6]);
        Assert.Equal("[PAD6]", tokens[6]); // vocab_size from config.json is larger than the tokenizer
        Assert.Equal([1, 1, 1, 1, 3, 4], ((int[])g.Metadata["tokenizer.ggml.token_type"].AsArray().Items)[..6]);
        Assert.Equal(["a b", "Ġ a"], (string[])g.Metadata["tokenizer.ggml.merges"].AsArray().Items);
        Assert.Equal(4u, (uint)g.Metadata["tokenizer.ggml.eos_token_id"].Raw);
        Assert.False(g.Metadata["tokenizer.ggml.add_bos_token"].AsBool());
        // Qwen2 uses NEOX rope: no Q/K permutation, so the rows are the HF rows.
        var hf = KernelGen.Containers.Safetensors.SafetensorsFile.Open(dir.File("hf/model.safetensors"));
        Assert.True(hf.GetData(hf.Find("model.layers.0.self_attn.q_proj.weight")!).SequenceEqual(g.GetData(g.Find("blk.0.attn_q.weight")!)));
        hf.Dispose();
    }

    [Fact]
    public void FloatBitNetCheckpointsAreTernarisedOnTheWay()
    {
        using var dir = new TempDir();
        using var original = GgufFile.Open(RepoPaths.Model("tiny-llama-f32.gguf"));
        BuildHfFolder(original, dir.File("hf"));
        var config = JsonNode.Parse(File.ReadAllText(dir.File("hf/config.json")))!;
        config["architectures"] = new JsonArray("BitnetForCausalLM");
        File.WriteAllText(dir.File("hf/config.json"), config.ToJsonString());
        using (var folder = ModelOpener.Open(dir.File("hf")))
            ConversionJob.Create(folder, "gguf", "F32", false, 1).Write(dir.File("b.gguf"), null, default);
        using var g = GgufFile.Open(dir.File("b.gguf"));
        Assert.Equal("bitnet", g.Metadata.GetString("general.architecture"));
        Assert.Equal("linear", g.Metadata.GetString("bitnet.rope.scaling.type"));
        var up = ReadAll(new GgufFloatTensor(g, g.Find("blk.0.ffn_up.weight")!));
        Assert.Equal(3, up.Distinct().Count());
        Assert.True(ReadAll(new GgufFloatTensor(g, g.Find("token_embd.weight")!)).Distinct().Count() > 3); // embeddings stay float
    }

    [Fact]
    public void QkPermutationIsItsOwnInverseThroughBothDirections()
    {
        using var original = GgufFile.Open(RepoPaths.Model("tiny-llama-f32.gguf"));
        var q = new GgufFloatTensor(original, original.Find("blk.0.attn_q.weight")!);
        var roundTrip = new PermutedRowsTensor(new PermutedRowsTensor(q, 4, toGguf: false), 4, toGguf: true);
        var a = new float[q.ElementCount];
        var b = new float[q.ElementCount];
        q.ReadRows(0, (int)q.RowCount, a);
        roundTrip.ReadRows(0, (int)q.RowCount, b);
        Assert.Equal(a, b);
        Assert.NotEqual(a, ReadAll(new PermutedRowsTensor(q, 4, toGguf: false)));
    }

    private static float[] ReadAll(FloatTensor t)
    {
        var d = new float[t.ElementCount];
        t.ReadRows(0, (int)t.RowCount, d);
        return d;
    }

    /// <summary>The inverse of the GGUF converter: HF names, un-permuted Q/K rows, config.json, tokenizer.model.</summary>
    private static void BuildHfFolder(GgufFile g, string folder)
    {
        Directory.CreateDirectory(folder);
        uint heads = (uint)g.Metadata["llama.attention.head_count"].Raw, kvHeads = (uint)g.Metadata["llama.attention.head_count_kv"].Raw;
        var writer = new SafetensorsWriter { PreserveOrder = true };
        foreach (var t in g.Tensors)
        {
            FloatTensor tensor = new GgufFloatTensor(g, t);
            if (t.Name.Contains(".attn_q.", StringComparison.Ordinal)) tensor = new PermutedRowsTensor(tensor, (int)heads, toGguf: false);
            if (t.Name.Contains(".attn_k.", StringComparison.Ordinal)) tensor = new PermutedRowsTensor(tensor, (int)kvHeads, toGguf: false);
            float[] data = ReadAll(tensor);
            var bytes = new byte[data.Length * 4];
            Buffer.BlockCopy(data, 0, bytes, 0, bytes.Length);
            writer.AddTensor(LlamaTensorNames.ToHf(t.Name)!, SafetensorsDType.F32, t.Shape, TensorDataSource.FromMemory(bytes));
        }
        writer.WriteFile(Path.Combine(folder, "model.safetensors"), false);
        var md = g.Metadata;
        var config = new JsonObject
        {
            ["architectures"] = new JsonArray("LlamaForCausalLM"), ["model_type"] = "llama",
            ["hidden_size"] = (uint)md["llama.embedding_length"].Raw, ["intermediate_size"] = (uint)md["llama.feed_forward_length"].Raw,
            ["num_hidden_layers"] = (uint)md["llama.block_count"].Raw, ["num_attention_heads"] = heads, ["num_key_value_heads"] = kvHeads,
            ["max_position_embeddings"] = (uint)md["llama.context_length"].Raw, ["rms_norm_eps"] = 1e-5,
            ["rope_theta"] = (double)(float)md["llama.rope.freq_base"].Raw, ["vocab_size"] = md["tokenizer.ggml.tokens"].AsArray().Count,
            ["bos_token_id"] = 1, ["eos_token_id"] = 2, ["torch_dtype"] = "float32",
        };
        File.WriteAllText(Path.Combine(folder, "config.json"), config.ToJsonString());
        File.WriteAllText(Path.Combine(folder, "tokenizer_config.json"),
            """{"add_bos_token": true, "add_eos_token": false, "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"}""");
        var tokens = (string[])md["tokenizer.ggml.tokens"].AsArray().Items;
        var scores = (float[])md["tokenizer.ggml.scores"].AsArray().Items;
        var types = (int[])md["tokenizer.ggml.token_type"].AsArray().Items;
        File.WriteAllBytes(Path.Combine(folder, "tokenizer.model"), SentencePieceProto(tokens, scores, types));
    }

    // ModelProto { repeated SentencePiece pieces = 1 { piece = 1; score = 2; type = 3 } }
    private static byte[] SentencePieceProto(string[] tokens, float[] scores, int[] types)
    {
        var output = new MemoryStream();
        for (int i = 0; i < tokens.Length; i++)
        {
            var piece = new MemoryStream();
            Field(piece, 1, 2, Encoding.UTF8.GetBytes(tokens[i]));
            Tag(piece, 2, 5);
            piece.Write(BitConverter.GetBytes(scores[i]));
            Tag(piece, 3, 0);
            Varint(piece, (ulong)(types[i] == 6 ? 1 : types[i]));
            Field(output, 1, 2, piece.ToArray());
        }
        return output.ToArray();
    }

    private static void Field(Stream s, int field, int wire, byte[] payload)
    {
        Tag(s, field, wire);
        Varint(s, (ulong)payload.Length);
        s.Write(payload);
    }

    private static void Tag(Stream s, int field, int wire) => Varint(s, (ulong)(field << 3 | wire));

    private static void Varint(Stream s, ulong v)
    {
        do
        {
            byte b = (byte)(v & 0x7F);
            v >>= 7;
            s.WriteByte(v != 0 ? (byte)(b | 0x80) : b);
        } while (v != 0);
    }
}
