using System.Text.Json.Nodes;
using KernelGen.Containers;
using KernelGen.Containers.HuggingFace;
using KernelGen.Containers.Safetensors;

namespace KernelGen.Core.Tests.HuggingFace;

/// <summary>
/// Every checkpoint folder under tests/data/vectors/quant opens as a model, with the checkpoint kind and
/// quantization settings its config files state (values from tests/data/vectors/quant/README.md), and only
/// model.safetensors as weights (reference.safetensors beside it is test data, not a shard).
/// </summary>
public sealed class HfVectorFolderTests
{
    private static HfModelFolder Open(string kind, string name) => HfModelFolder.Open(HfFolderBuilder.Vector(kind, name));

    private static void AssertRawJson(string expected, string? actual) =>
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(expected), JsonNode.Parse(actual!)), actual);

    private static void AssertSingleModelShard(HfModelFolder folder, int tensors)
    {
        var shard = Assert.Single(folder.Shards);
        Assert.Equal("model.safetensors", Path.GetFileName(shard.Path));
        Assert.Null(folder.Index);
        Assert.Equal(tensors, folder.Tensors.Count);
        Assert.All(folder.Tensors, t => Assert.Equal(shard.Path, t.File));
        Assert.Empty(folder.Warnings);
    }

    public static TheoryData<string, int, bool, int> GptqFolders() => new()
    {
        { "gptq_b3_g128_asym_act0_512x128", 3, false, 48 },
        { "gptq_b4_g128_asym_act0_512x128", 4, false, 64 },
        { "gptq_b4_g128_asym_act1_512x128", 4, true, 64 },
        { "gptq_b4_g128_asym_act0_512x64_edgezero", 4, false, 64 },
    };

    [Theory]
    [MemberData(nameof(GptqFolders))]
    public void Gptq_folders(string name, int bits, bool descAct, int qweightRows)
    {
        using var folder = Open("gptq", name);
        Assert.Equal(CheckpointKind.Gptq, folder.Checkpoint);
        Assert.Null(folder.Config);
        var q = folder.Quantization!;
        Assert.Equal(new QuantizationInfo
        {
            Kind = CheckpointKind.Gptq, QuantMethod = "gptq", Bits = bits, GroupSize = 128, Sym = false, DescAct = descAct,
            CheckpointFormat = "gptq", Source = QuantizationInfo.FromQuantizeConfigJson, RawJson = q.RawJson,
        }, q);
        AssertRawJson($$"""
            {"bits":{{bits}},"group_size":128,"damp_percent":0.01,"desc_act":{{(descAct ? "true" : "false")}},"static_groups":false,"sym":false,
             "true_sequential":true,"model_name_or_path":null,"model_file_base_name":null,"quant_method":"gptq","checkpoint_format":"gptq"}
            """, q.RawJson);
        AssertSingleModelShard(folder, 5);

        var (file, qweight) = folder.Find("model.layers.0.self_attn.q_proj.qweight")!.Value;
        Assert.Same(folder.Shards[0], file);
        Assert.Equal(SafetensorsDType.I32, qweight.DType);
        Assert.Equal(qweightRows, qweight.Shape[0]);
        Assert.Equal(bits.ToString(), file.GetMetadata("gptq_bits"));
        Assert.Null(folder.Find("weight_dequant"));
    }

    [Fact]
    public void Awq_gemm_folder()
    {
        using var folder = Open("awq", "awq_gemm_b4_g128_512x256");
        Assert.Equal(CheckpointKind.Awq, folder.Checkpoint);
        var q = folder.Quantization!;
        Assert.Equal(new QuantizationInfo
        {
            Kind = CheckpointKind.Awq, QuantMethod = "awq", Bits = 4, GroupSize = 128, AwqVersion = "gemm", ZeroPoint = true,
            Source = QuantizationInfo.FromConfigJson, RawJson = q.RawJson,
        }, q);
        AssertRawJson("""{"quant_method":"awq","zero_point":true,"group_size":128,"bits":4,"version":"gemm","modules_to_not_convert":null}""", q.RawJson);
        Assert.NotNull(folder.Config);
        AssertSingleModelShard(folder, 4);
        Assert.Equal([512L, 32L], folder.Find("model.layers.0.self_attn.q_proj.qweight")!.Value.Tensor.Shape);
    }

    [Fact]
    public void BitNet_folder()
    {
        using var folder = Open("bitnet", "bitnet_autobitlinear_offline_256x512");
        Assert.Equal(CheckpointKind.BitNet, folder.Checkpoint);
        var q = folder.Quantization!;
        // Bits is not in the config: the packed U8 layout shows 2-bit codes.
        Assert.Equal(new QuantizationInfo
        {
            Kind = CheckpointKind.BitNet, QuantMethod = "bitnet", Bits = 2, BitNetLinearClass = "autobitlinear", QuantizationMode = "offline",
            Source = QuantizationInfo.FromConfigJson, RawJson = q.RawJson,
        }, q);
        AssertRawJson("""{"quant_method":"bitnet","linear_class":"autobitlinear","quantization_mode":"offline"}""", q.RawJson);
        Assert.Equal("bfloat16", folder.Config!.RootElement.GetProperty("torch_dtype").GetString());
        AssertSingleModelShard(folder, 2);
        var weight = folder.Find("model.layers.0.mlp.down_proj.weight")!.Value.Tensor;
        Assert.Equal((SafetensorsDType.U8, 64L, 512L), (weight.DType, weight.Shape[0], weight.Shape[1]));
    }

    /// <summary>
    /// The I2_S folder has no config.json and no model.safetensors: it opens through its only safetensors file. It
    /// is reported as Plain: <c>blk.0.ffn_down.weight.i2_s</c> is bitnet.cpp's GGUF-side I2_S encoding stored as raw
    /// U8 bytes (next to its I8 ternary source and F32 scale), not an HF BitNet checkpoint, whose
    /// <c>&lt;proj&gt;.weight</c> U8 + <c>&lt;proj&gt;.weight_scale</c> pair it does not have; nothing in the folder
    /// says how to decode it, so claiming BitNet would send a converter down the wrong path.
    /// </summary>
    [Fact]
    public void BitNet_i2s_folder_is_plain()
    {
        using var folder = Open("bitnet", "bitnet_i2s_256x512");
        Assert.Equal(CheckpointKind.Plain, folder.Checkpoint);
        Assert.Null(folder.Quantization);
        Assert.Null(folder.Config);
        Assert.Equal("i2s.safetensors", Path.GetFileName(Assert.Single(folder.Shards).Path));
        Assert.Equal(["weight_scale", "blk.0.ffn_down.weight.i2_s", "weight_ternary"], folder.Tensors.Select(t => t.Name));
        Assert.Equal(["F32", "U8", "I8"], folder.Tensors.Select(t => t.Type));
        Assert.Empty(folder.Warnings);
    }

    [Fact]
    public void Container_view()
    {
        using var folder = Open("awq", "awq_gemm_b4_g128_512x256");
        IModelContainer container = folder;
        Assert.Equal(ContainerKind.HfFolder, container.Kind);
        Assert.Null(container.Version);
        Assert.Equal(Path.GetFullPath(HfFolderBuilder.Vector("awq", "awq_gemm_b4_g128_512x256")), container.Path);
        var shard = folder.Shards[0];
        Assert.Equal(
            shard.Tensors.Select(t => new TensorEntry(t.Name, t.TypeName, t.Shape, t.AbsoluteOffset, t.ByteSize, shard.Path).ToString()),
            container.Tensors.Select(t => t.ToString()));
        Assert.Equal(shard.Tensors.Select(t => t.Shape), container.Tensors.Select(t => t.Shape.ToArray()));
        Assert.True(Path.IsPathFullyQualified(container.Tensors[0].File));
    }

    [Theory]
    [InlineData("awq", "awq_gemm_b4_g128_512x256")]
    [InlineData("bitnet", "bitnet_i2s_256x512")]
    [InlineData("gptq", "gptq_b3_g128_asym_act0_512x128")]
    public void Vector_folders_look_like_model_folders(string kind, string name) =>
        Assert.True(HfModelFolder.LooksLikeModelFolder(HfFolderBuilder.Vector(kind, name)));
}
