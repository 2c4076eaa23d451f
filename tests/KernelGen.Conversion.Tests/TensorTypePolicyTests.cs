using KernelGen.Conversion.Quantization;
using KernelGen.Formats;

namespace KernelGen.Tests.Conversion;

/// <summary>The llama-quantize rules that the tiny model cannot reach (more layers, GQA, odd row lengths, tied embeddings).</summary>
public class TensorTypePolicyTests
{
    private static List<TensorShapeInfo> Model(int layers, long rowLength = 4096, bool tied = false)
    {
        var t = new List<TensorShapeInfo> { new("token_embd.weight", [rowLength, 32000], GgmlType.F16), new("output_norm.weight", [rowLength], GgmlType.F32) };
        if (!tied) t.Add(new("output.weight", [rowLength, 32000], GgmlType.F16));
        for (int i = 0; i < layers; i++)
            foreach (string n in new[] { "attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down" })
                t.Add(new($"blk.{i}.{n}.weight", [rowLength, rowLength], GgmlType.F16));
        return t;
    }

    private static Dictionary<string, GgmlType> Choose(string fileType, bool pure, List<TensorShapeInfo> model, int heads = 32, int kvHeads = 8)
    {
        var policy = new TensorTypePolicy(LlamaFileType.Parse(fileType)!, pure, new ModelHyperParameters("llama", model.Count(t => t.Name.EndsWith("ffn_down.weight")), heads, kvHeads), model);
        return model.OrderBy(t => t.Name, LlamaTensorOrder.Instance).ToDictionary(t => t.Name, policy.Choose);
    }

    [Fact]
    public void Q4_K_M_GivesMoreBitsToTheFirstLastAndEveryThirdLayer()
    {
        var types = Choose("Q4_K_M", false, Model(32));
        // use_more_bits(i, 32): i < 4, i >= 28, or (i - 4) % 3 == 2
        int[] more = Enumerable.Range(0, 32).Where(i => i < 4 || i >= 28 || (i - 4) % 3 == 2).ToArray();
        for (int i = 0; i < 32; i++)
        {
            var want = more.Contains(i) ? GgmlType.Q6_K : GgmlType.Q4_K;
            Assert.Equal(want, types[$"blk.{i}.attn_v.weight"]);
            Assert.Equal(want, types[$"blk.{i}.ffn_down.weight"]);
            Assert.Equal(GgmlType.Q4_K, types[$"blk.{i}.attn_q.weight"]);
        }
        Assert.Equal(GgmlType.Q6_K, types["output.weight"]);
        Assert.Equal(GgmlType.Q4_K, types["token_embd.weight"]);
        Assert.Equal(GgmlType.F32, types["output_norm.weight"]);
    }

    [Fact]
    public void Q2_KUsesGqaForAttentionV()
    {
        Assert.Equal(GgmlType.Q4_K, Choose("Q2_K", false, Model(4), heads: 32, kvHeads: 8)["blk.0.attn_v.weight"]);
        Assert.Equal(GgmlType.Q3_K, Choose("Q2_K", false, Model(4), heads: 32, kvHeads: 32)["blk.0.attn_v.weight"]);
        Assert.Equal(GgmlType.Q3_K, Choose("Q2_K", false, Model(4))["blk.3.ffn_down.weight"]);
        Assert.Equal(GgmlType.Q3_K, Choose("Q2_K", false, Model(4))["blk.3.attn_output.weight"]);
    }

    [Fact]
    public void TernaryFilesKeepEmbeddingsAtQ4_KAndOutputAtQ6_K()
    {
        var types = Choose("TQ2_0", false, Model(2));
        Assert.Equal(GgmlType.Q4_K, types["token_embd.weight"]);
        Assert.Equal(GgmlType.Q6_K, types["output.weight"]);
        Assert.Equal(GgmlType.TQ2_0, types["blk.1.ffn_up.weight"]);
    }

    [Fact]
    public void TiedEmbeddingsTakeTheOutputRule()
    {
        var types = Choose("Q4_0", false, Model(2, tied: true));
        Assert.Equal(GgmlType.Q6_K, types["token_embd.weight"]);
        Assert.Equal(GgmlType.Q8_0, Choose("Q8_0", false, Model(2, tied: true))["token_embd.weight"]);
    }

    [Fact]
    public void RowLengthsTheBlockDoesNotDivideFallBack()
    {
        // 4096 + 32: divisible by 32 but not 256, so k-quants fall back to their 32-element substitutes.
        var model = Model(2, rowLength: 4128);
        Assert.Equal(GgmlType.Q5_0, Choose("Q4_K_S", true, model)["blk.0.attn_q.weight"]);
        Assert.Equal(GgmlType.Q8_0, Choose("Q6_K", true, model)["blk.0.attn_q.weight"]);
        Assert.Equal(GgmlType.Q4_0, Choose("TQ2_0", true, model)["blk.0.attn_q.weight"]);
        Assert.Equal(GgmlType.Q8_0, Choose("Q4_K_M", false, model)["output.weight"]); // ne[0] % 256 != 0 → q8_0
        // 4100: no 32-element block fits either → F16.
        Assert.Equal(GgmlType.F16, Choose("Q4_K_M", true, Model(1, rowLength: 4100))["blk.0.attn_q.weight"]);
    }

    [Fact]
    public void TensorOrderIsLlamaQuantizes()
    {
        string[] names = ["blk.10.attn_q.weight", "blk.2.ffn_up.weight", "output.weight", "blk.2.attn_k.weight", "token_embd.weight", "output_norm.weight"];
        Assert.Equal(["output.weight", "output_norm.weight", "token_embd.weight", "blk.2.attn_k.weight", "blk.2.ffn_up.weight", "blk.10.attn_q.weight"],
            names.Order(LlamaTensorOrder.Instance));
    }
}
