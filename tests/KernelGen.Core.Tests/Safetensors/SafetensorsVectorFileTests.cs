using System.Buffers.Binary;
using KernelGen.Containers;
using KernelGen.Containers.Safetensors;

namespace KernelGen.Core.Tests.Safetensors;

/// <summary>
/// Every safetensors file under tests/data/vectors/quant opens with exactly the metadata and tensors that
/// tests/data/vectors/quant/README.md lists for it (values copied from the README by hand, in header order).
/// </summary>
public sealed class SafetensorsVectorFileTests
{
    private sealed record Expected(string[] Metadata, (string Name, SafetensorsDType DType, long[] Shape)[] Tensors);

    private const SafetensorsDType I32 = SafetensorsDType.I32, F16 = SafetensorsDType.F16, F32 = SafetensorsDType.F32,
        BF16 = SafetensorsDType.BF16, U8 = SafetensorsDType.U8, I8 = SafetensorsDType.I8;

    private const string Q = "model.layers.0.self_attn.q_proj.";
    private const string GptqProducer = "AutoGPTQ qlinear_cuda.QuantLinear.forward (torch fallback), scales upcast to fp32";

    private static string[] GptqMetadata(int bits, string descAct) =>
    [
        "format", "pt", "auto_gptq_version", "0.8.0.dev0", "gptq_bits", bits.ToString(), "gptq_group_size", "128",
        "gptq_desc_act", descAct, "gptq_damp_percent", "0.01", "gptq_checkpoint_format", "gptq", "gptq_quant_method", "gptq",
    ];

    private static (string, SafetensorsDType, long[])[] GptqTensors(long qweightRows, long outFeatures) =>
    [
        (Q + "g_idx", I32, [512]),
        (Q + "qweight", I32, [qweightRows, outFeatures]),
        (Q + "qzeros", I32, [4, outFeatures * qweightRows / 512]),
        (Q + "bias", F16, [outFeatures]),
        (Q + "scales", F16, [4, outFeatures]),
    ];

    private static (string, SafetensorsDType, long[])[] GptqReference(long outFeatures, long qzerosColumns) =>
    [
        ("qzeros_gptq_v2", I32, [4, qzerosColumns]),
        ("weight_dequant", F32, [outFeatures, 512]),
        ("x", F32, [4, 512]),
        ("y", F32, [4, outFeatures]),
    ];

    private static readonly Dictionary<string, Expected> Files = new()
    {
        ["awq/awq_gemm_b4_g128_512x256/model.safetensors"] = new(["format", "pt"],
        [
            (Q + "qweight", I32, [512, 32]), (Q + "qzeros", I32, [4, 32]), (Q + "bias", F16, [256]), (Q + "scales", F16, [4, 256]),
        ]),
        ["awq/awq_gemm_b4_g128_512x256/reference.safetensors"] = new(
            ["format", "pt", "producer", "AutoAWQ awq.utils.packing_utils.dequantize_gemm (scales upcast to fp32); y = x @ W^T + bias in fp32"],
            [("weight_dequant", F32, [256, 512]), ("x", F32, [4, 512]), ("y", F32, [4, 256])]),
        ["bitnet/bitnet_autobitlinear_offline_256x512/model.safetensors"] = new(["format", "pt"],
        [
            ("model.layers.0.mlp.down_proj.weight_scale", BF16, [1]), ("model.layers.0.mlp.down_proj.weight", U8, [64, 512]),
        ]),
        ["bitnet/bitnet_autobitlinear_offline_256x512/reference.safetensors"] = new(["format", "pt"],
        [
            ("x", F32, [3, 512]), ("y_module", F32, [3, 256]), ("y_no_act_quant", F32, [3, 256]), ("weight_ternary", BF16, [256, 512]),
        ]),
        ["bitnet/bitnet_i2s_256x512/i2s.safetensors"] = new(
            ["format", "pt", "gguf_ne", "[512, 256]", "layout", "x86 ACT_PARALLEL 128-element blocks"],
            [("weight_scale", F32, [1]), ("blk.0.ffn_down.weight.i2_s", U8, [32800]), ("weight_ternary", I8, [256, 512])]),
        ["gptq/gptq_b3_g128_asym_act0_512x128/model.safetensors"] = new(GptqMetadata(3, "False"), GptqTensors(48, 128)),
        ["gptq/gptq_b3_g128_asym_act0_512x128/reference.safetensors"] = new(["format", "pt", "producer", GptqProducer], GptqReference(128, 12)),
        ["gptq/gptq_b4_g128_asym_act0_512x128/model.safetensors"] = new(GptqMetadata(4, "False"), GptqTensors(64, 128)),
        ["gptq/gptq_b4_g128_asym_act0_512x128/reference.safetensors"] = new(["format", "pt", "producer", GptqProducer], GptqReference(128, 16)),
        ["gptq/gptq_b4_g128_asym_act1_512x128/model.safetensors"] = new(GptqMetadata(4, "True"), GptqTensors(64, 128)),
        ["gptq/gptq_b4_g128_asym_act1_512x128/reference.safetensors"] = new(["format", "pt", "producer", GptqProducer], GptqReference(128, 16)),
        ["gptq/gptq_b4_g128_asym_act0_512x64_edgezero/model.safetensors"] = new(GptqMetadata(4, "False"), GptqTensors(64, 64)),
        ["gptq/gptq_b4_g128_asym_act0_512x64_edgezero/reference.safetensors"] = new(["format", "pt", "producer", GptqProducer],
        [
            ("qzeros_gptq_v2", I32, [4, 8]), ("qzeros_gptqmodel_v1_export", I32, [4, 8]), ("qzeros_gptqmodel_v2_native", I32, [4, 8]),
            ("weight_dequant", F32, [64, 512]), ("weight_dequant_cuda_old", F32, [64, 512]), ("weight_dequant_gptqmodel", F32, [64, 512]),
            ("x", F32, [4, 512]), ("y", F32, [4, 64]), ("zero_points_true", I32, [4, 64]), ("weight_gptq_fakequant_fp16", F16, [64, 512]),
        ]),
    };

    public static TheoryData<string> VectorFiles() => new(Files.Keys.Order(StringComparer.Ordinal));

    [Fact]
    public void Every_vector_file_has_an_expectation()
    {
        Assert.Equal(Files.Keys.Order(StringComparer.Ordinal), SafetensorsTestData.QuantFiles());
    }

    [Theory]
    [MemberData(nameof(VectorFiles))]
    public void Opens_with_the_documented_metadata_and_tensors(string relativePath)
    {
        var expected = Files[relativePath];
        using var file = SafetensorsFile.Open(SafetensorsTestData.Quant(relativePath));

        var metadata = file.Metadata.SelectMany(kv => new[] { kv.Key, kv.Value }).ToArray();
        Assert.Equal(expected.Metadata, metadata);
        Assert.Equal(expected.Tensors.Select(t => t.Name), file.Tensors.Select(t => t.Name));
        Assert.Equal(expected.Tensors.Select(t => t.DType), file.Tensors.Select(t => t.DType));
        for (int i = 0; i < expected.Tensors.Length; i++)
            Assert.Equal(expected.Tensors[i].Shape, file.Tensors[i].Shape);

        // The layout every reference-written file has: padded header, tensors tiling the rest of the file.
        Assert.Equal(0, file.HeaderLength % 8);
        Assert.Equal(8 + file.HeaderLength, file.DataOffset);
        long position = file.DataOffset;
        foreach (var t in file.Tensors)
        {
            Assert.Equal(position, t.AbsoluteOffset);
            Assert.Equal(t.End - t.Begin, t.ByteSize);
            position += t.ByteSize;
        }
        Assert.Equal(file.FileLength, position);
    }

    [Fact]
    public void Offsets_and_container_view_of_a_gptq_file()
    {
        string path = SafetensorsTestData.Quant("gptq", "gptq_b3_g128_asym_act0_512x128", "model.safetensors");
        using var file = SafetensorsFile.Open(path);
        Assert.Equal(720, file.HeaderLength);
        Assert.Equal(728, file.DataOffset);
        Assert.Equal(28824, file.FileLength);
        Assert.Equal("3", file.GetMetadata("gptq_bits"));
        Assert.Null(file.GetMetadata("missing"));

        var qweight = file.Find(Q + "qweight")!;
        Assert.Equal(SafetensorsDType.I32, qweight.DType);
        Assert.Equal([48L, 128L], qweight.Shape);
        Assert.Equal((2048L, 26624L), (qweight.Begin, qweight.End));
        Assert.Equal(728 + 2048, qweight.AbsoluteOffset);
        Assert.Equal(48 * 128, qweight.ElementCount);
        Assert.Null(file.Find("nope"));

        IModelContainer container = file;
        Assert.Equal(ContainerKind.Safetensors, container.Kind);
        Assert.Null(container.Version);
        var entry = container.Tensors.Single(t => t.Name == Q + "qweight");
        Assert.Equal(new TensorEntry(Q + "qweight", "I32", entry.Shape, 728 + 2048, 24576, path), entry);
        Assert.Equal([48L, 128L], entry.Shape);
    }

    [Fact]
    public void Tensor_data_is_read_from_the_right_place()
    {
        // act0: g_idx[k] = k / 128 (README "g_idx" section).
        using (var gptq = SafetensorsFile.Open(SafetensorsTestData.Quant("gptq", "gptq_b4_g128_asym_act0_512x128", "model.safetensors")))
        {
            var gIdx = gptq.GetData(gptq.Find(Q + "g_idx")!);
            for (int k = 0; k < 512; k++)
                Assert.Equal(k / 128, BinaryPrimitives.ReadInt32LittleEndian(gIdx[(k * 4)..]));
        }

        // I2_S: bytes 32768.. of the raw tensor start with the f32 scale, which manifest.json records as 0.0159912109375.
        using var i2s = SafetensorsFile.Open(SafetensorsTestData.Quant("bitnet", "bitnet_i2s_256x512", "i2s.safetensors"));
        var raw = i2s.GetData(i2s.Find("blk.0.ffn_down.weight.i2_s")!);
        Assert.Equal(0.0159912109375f, BinaryPrimitives.ReadSingleLittleEndian(raw[32768..]));
        using var stream = i2s.OpenData(i2s.Find("weight_scale")!);
        var scale = new byte[4];
        stream.ReadExactly(scale);
        Assert.Equal(0.0159912109375f, BinaryPrimitives.ReadSingleLittleEndian(scale));
        Assert.Equal(-1, stream.ReadByte());
    }

    [Fact]
    public void A_tensor_from_another_file_is_refused()
    {
        using var a = SafetensorsFile.Open(SafetensorsTestData.Quant("bitnet", "bitnet_i2s_256x512", "i2s.safetensors"));
        using var b = SafetensorsFile.Open(SafetensorsTestData.Quant("awq", "awq_gemm_b4_g128_512x256", "reference.safetensors"));
        Assert.Throws<ArgumentException>(() => b.OpenData(a.Tensors[0]));
    }
}
