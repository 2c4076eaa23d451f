using System.Buffers.Binary;
using KernelGen.Kernels.Generated;

namespace KernelGen.Kernels.Tests;

/// <summary>
/// Real checkpoint layers (tests/data/vectors/quant, produced by AutoGPTQ, AutoAWQ, transformers and bitnet.cpp) decode
/// bit for bit to the projects' own dequantized weights, on every decode path (scalar, Vector128/256/512, dispatch).
/// </summary>
public sealed class QuantCheckpointVectorTests
{
    private const string Layer = "model.layers.0.self_attn.q_proj.";

    public static TheoryData<string> GptqFolders()
    {
        var data = new TheoryData<string>();
        foreach (var dir in Directory.GetDirectories(Path.Combine(QuantLayers.QuantRoot, "gptq")).OrderBy(d => d, StringComparer.Ordinal))
        {
            data.Add(Path.GetFileName(dir));
        }
        return data;
    }

    private static (GPTQLayout Layout, Dictionary<string, (Containers.Safetensors.SafetensorsDType DType, long[] Shape, byte[] Data)> Model,
        Dictionary<string, (Containers.Safetensors.SafetensorsDType DType, long[] Shape, byte[] Data)> Reference) LoadGptq(string folder, GPTQCheckpoint checkpoint = GPTQCheckpoint.Gptq)
    {
        string dir = Path.Combine(QuantLayers.QuantRoot, "gptq", folder);
        var config = QuantLayers.Json(Path.Combine(dir, "quantize_config.json"));
        var model = QuantLayers.ReadSafetensors(Path.Combine(dir, "model.safetensors"));
        var reference = QuantLayers.ReadSafetensors(Path.Combine(dir, "reference.safetensors"));
        int outFeatures = (int)model[Layer + "qweight"].Shape[1];
        int inFeatures = (int)model[Layer + "g_idx"].Shape[0];
        var layout = new GPTQLayout(outFeatures, inFeatures, config.GetProperty("bits").GetInt32(), config.GetProperty("group_size").GetInt32(), checkpoint);
        return (layout, model, reference);
    }

    [Theory]
    [MemberData(nameof(GptqFolders))]
    public void Gptq_layers_decode_bit_exactly_on_every_path_and_warn_only_when_damaged(string folder)
    {
        var (layout, model, reference) = LoadGptq(folder);
        bool edgezero = folder.EndsWith("_edgezero", StringComparison.Ordinal);
        var expected = QuantLayers.Floats(reference[edgezero ? "weight_dequant_gptqmodel" : "weight_dequant"].Data);
        byte[] qweight = model[Layer + "qweight"].Data, qzeros = model[Layer + "qzeros"].Data, scales = model[Layer + "scales"].Data, gIdx = model[Layer + "g_idx"].Data;
        foreach (var path in QuantLayers.DecodePaths)
        {
            QuantLayers.AssertBitwise(expected, QuantLayers.DecodeGptq(path, layout, qweight, qzeros, scales, gIdx), $"{folder} {path}");
        }

        var warnings = new List<string>();
        int fired = GPTQCodec.CheckWarnings(layout, qweight, qzeros, scales, gIdx, warnings.Add);
        Assert.Equal(edgezero ? 1 : 0, fired);
        Assert.Equal(edgezero ? 1 : 0, warnings.Count);
        if (edgezero)
        {
            Assert.Contains("damaged v1 checkpoint", warnings[0]);
            // AutoGPTQ's own (unmasked) reading differs: the warning is about a real disagreement.
            Assert.NotEqual(reference["weight_dequant"].Data, reference["weight_dequant_gptqmodel"].Data);
        }
    }

    [Theory]
    [MemberData(nameof(GptqFolders))]
    public void Gptq_v2_zero_points_decode_to_the_same_weights(string folder)
    {
        var (layout, model, reference) = LoadGptq(folder, GPTQCheckpoint.GptqV2);
        bool edgezero = folder.EndsWith("_edgezero", StringComparison.Ordinal);
        var expected = QuantLayers.Floats(reference[edgezero ? "weight_dequant_gptqmodel" : "weight_dequant"].Data);
        byte[] qzerosV2 = reference["qzeros_gptq_v2"].Data;
        var actual = QuantLayers.DecodeGptq("DecodeRows", layout, model[Layer + "qweight"].Data, qzerosV2, model[Layer + "scales"].Data, model[Layer + "g_idx"].Data);
        QuantLayers.AssertBitwise(expected, actual, folder + " v2");
        Assert.Equal(0, GPTQCodec.CheckWarnings(layout, model[Layer + "qweight"].Data, qzerosV2, model[Layer + "scales"].Data, model[Layer + "g_idx"].Data, null));
    }

    [Fact]
    public void Gptq_act_order_vector_really_has_a_non_monotonic_group_map_and_without_it_decodes_differently()
    {
        var (layout, model, reference) = LoadGptq("gptq_b4_g128_asym_act1_512x128");
        var gIdx = model[Layer + "g_idx"].Data;
        bool monotonic = true;
        for (int k = 1; k < layout.InFeatures; k++)
        {
            monotonic &= BinaryPrimitives.ReadInt32LittleEndian(gIdx.AsSpan(4 * k)) >= BinaryPrimitives.ReadInt32LittleEndian(gIdx.AsSpan(4 * (k - 1)));
        }
        Assert.False(monotonic);
        var withoutMap = QuantLayers.DecodeGptq("DecodeRows", layout, model[Layer + "qweight"].Data, model[Layer + "qzeros"].Data, model[Layer + "scales"].Data, Array.Empty<byte>());
        Assert.NotEqual(reference["weight_dequant"].Data, System.Runtime.InteropServices.MemoryMarshal.AsBytes(withoutMap.AsSpan()).ToArray());
    }

    [Fact]
    public void Gptq_trivial_group_map_equals_the_implicit_k_over_group_size()
    {
        var (layout, model, reference) = LoadGptq("gptq_b3_g128_asym_act0_512x128");
        var actual = QuantLayers.DecodeGptq("DecodeRows", layout, model[Layer + "qweight"].Data, model[Layer + "qzeros"].Data, model[Layer + "scales"].Data, Array.Empty<byte>());
        QuantLayers.AssertBitwise(QuantLayers.Floats(reference["weight_dequant"].Data), actual, "3-bit without g_idx");
    }

    [Fact]
    public void Awq_gemm_layer_decodes_bit_exactly_on_every_path()
    {
        string dir = Path.Combine(QuantLayers.QuantRoot, "awq", "awq_gemm_b4_g128_512x256");
        var config = QuantLayers.Json(Path.Combine(dir, "config.json")).GetProperty("quantization_config");
        var model = QuantLayers.ReadSafetensors(Path.Combine(dir, "model.safetensors"));
        var reference = QuantLayers.ReadSafetensors(Path.Combine(dir, "reference.safetensors"));
        var qweight = model[Layer + "qweight"];
        var layout = new AWQ_GEMMLayout((int)qweight.Shape[1] * 8, (int)qweight.Shape[0], config.GetProperty("group_size").GetInt32());
        var expected = QuantLayers.Floats(reference["weight_dequant"].Data);
        foreach (var path in QuantLayers.DecodePaths)
        {
            QuantLayers.AssertBitwise(expected, QuantLayers.DecodeAwqGemm(path, layout, qweight.Data, model[Layer + "qzeros"].Data, model[Layer + "scales"].Data), "AWQ gemm " + path);
        }
    }

    [Fact]
    public void Awq_gemm_vector_repacked_as_gemv_decodes_to_the_same_weights()
    {
        // The GEMV directories of the full data set hold the GEMM quantization repacked; rebuild that here through the
        // generated codecs: GEMM fields -> GEMV encode -> GEMV decode.
        string dir = Path.Combine(QuantLayers.QuantRoot, "awq", "awq_gemm_b4_g128_512x256");
        var model = QuantLayers.ReadSafetensors(Path.Combine(dir, "model.safetensors"));
        var reference = QuantLayers.ReadSafetensors(Path.Combine(dir, "reference.safetensors"));
        var qweight = model[Layer + "qweight"];
        int n = (int)qweight.Shape[1] * 8, k = (int)qweight.Shape[0];
        var gemm = new AWQ_GEMMLayout(n, k, 128);
        var q = new int[n * k];
        var z = new int[n * (int)gemm.GroupCount];
        var s = new ushort[n * (int)gemm.GroupCount];
        AWQ_GEMMCodec.DecodeFields(gemm, qweight.Data, model[Layer + "qzeros"].Data, model[Layer + "scales"].Data, q, z, s);
        var gemv = new AWQ_GEMVLayout(n, k, 128);
        byte[] vq = new byte[gemv.QweightBytes], vz = new byte[gemv.QzerosBytes], vs = new byte[gemv.ScalesBytes];
        AWQ_GEMVCodec.Encode(gemv, q, z, s, vq, vz, vs);
        foreach (var path in QuantLayers.DecodePaths)
        {
            QuantLayers.AssertBitwise(QuantLayers.Floats(reference["weight_dequant"].Data), QuantLayers.DecodeAwqGemv(path, gemv, vq, vz, vs), "AWQ gemv " + path);
        }
    }

    [Fact]
    public void BitNet_autobitlinear_layer_decodes_to_ternary_times_weight_scale()
    {
        string dir = Path.Combine(QuantLayers.QuantRoot, "bitnet", "bitnet_autobitlinear_offline_256x512");
        var config = QuantLayers.Json(Path.Combine(dir, "config.json")).GetProperty("quantization_config");
        Assert.Equal("autobitlinear", config.GetProperty("linear_class").GetString());
        var model = QuantLayers.ReadSafetensors(Path.Combine(dir, "model.safetensors"));
        var reference = QuantLayers.ReadSafetensors(Path.Combine(dir, "reference.safetensors"));
        const string p = "model.layers.0.mlp.down_proj.";
        var weight = model[p + "weight"];
        var ternary = reference["weight_ternary"];
        int n = (int)ternary.Shape[0], k = (int)ternary.Shape[1];
        var layout = new BitNetLayout(n, k, BitNetLinearClass.Autobitlinear);
        float ws = BitConverter.UInt32BitsToSingle((uint)BinaryPrimitives.ReadUInt16LittleEndian(model[p + "weight_scale"].Data) << 16);
        var expected = new float[n * k];
        for (int i = 0; i < expected.Length; i++)
        {
            expected[i] = BitConverter.UInt32BitsToSingle((uint)BinaryPrimitives.ReadUInt16LittleEndian(ternary.Data.AsSpan(2 * i)) << 16) * ws;
        }
        foreach (var path in QuantLayers.DecodePaths)
        {
            QuantLayers.AssertBitwise(expected, QuantLayers.DecodeBitNet(path, layout, weight.Data, model[p + "weight_scale"].Data), "BitNet " + path);
        }
        // The same codes under the bitlinear convention divide.
        var divided = QuantLayers.DecodeBitNet("DecodeRows", new BitNetLayout(n, k, BitNetLinearClass.Bitlinear), weight.Data, model[p + "weight_scale"].Data);
        for (int i = 0; i < expected.Length; i++)
        {
            float t = BitConverter.UInt32BitsToSingle((uint)BinaryPrimitives.ReadUInt16LittleEndian(ternary.Data.AsSpan(2 * i)) << 16);
            Assert.Equal(BitConverter.SingleToUInt32Bits(t / ws), BitConverter.SingleToUInt32Bits(divided[i]));
        }
    }

    [Fact]
    public void I2_S_tensor_decodes_to_ternary_times_scale()
    {
        string dir = Path.Combine(QuantLayers.QuantRoot, "bitnet", "bitnet_i2s_256x512");
        var file = QuantLayers.ReadSafetensors(Path.Combine(dir, "i2s.safetensors"));
        var ternary = file["weight_ternary"];
        int n = (int)ternary.Shape[0], k = (int)ternary.Shape[1];
        float scale = BinaryPrimitives.ReadSingleLittleEndian(file["weight_scale"].Data);
        var layout = new I2_SLayout(n, k);
        var data = file["blk.0.ffn_down.weight.i2_s"].Data;
        Assert.Equal(layout.DataBytes, data.Length);
        var expected = new float[n * k];
        for (int i = 0; i < expected.Length; i++)
        {
            expected[i] = (float)(sbyte)ternary.Data[i] * scale;
        }
        foreach (var path in QuantLayers.DecodePaths)
        {
            QuantLayers.AssertBitwise(expected, QuantLayers.DecodeI2S(path, layout, data), "I2_S " + path);
        }
        // Re-encoding the unpacked fields reproduces bitnet.cpp's bytes exactly (codes and the scale's tail).
        var q = new int[n * k];
        var s = new float[1];
        I2_SCodec.DecodeFields(layout, data, q, s);
        var again = new byte[layout.DataBytes];
        I2_SCodec.Encode(layout, q, s, again);
        Assert.Equal(data, again);
    }

    [Theory]
    [MemberData(nameof(GptqFolders))]
    public void Gptq_fields_reencode_to_the_checkpoint_bytes(string folder)
    {
        var (layout, model, _) = LoadGptq(folder);
        byte[] qweight = model[Layer + "qweight"].Data, qzeros = model[Layer + "qzeros"].Data, scales = model[Layer + "scales"].Data, gIdx = model[Layer + "g_idx"].Data;
        int n = layout.OutFeatures, k = layout.InFeatures, groups = (int)layout.GroupCount;
        var q = new int[n * k];
        var qz = new int[n * groups];
        var s = new ushort[n * groups];
        var g = new int[k];
        GPTQCodec.DecodeFields(layout, qweight, qzeros, scales, gIdx, q, qz, s, g);
        byte[] q2 = new byte[qweight.Length], z2 = new byte[qzeros.Length], s2 = new byte[scales.Length], g2 = new byte[gIdx.Length];
        GPTQCodec.Encode(layout, q, qz, s, g, q2, z2, s2, g2);
        Assert.Equal(qweight, q2);
        Assert.Equal(scales, s2);
        Assert.Equal(gIdx, g2);
        // Damaged words (edgezero) too: their all-ones higher fields are read and written back as fields.
        Assert.Equal(qzeros, z2);
    }
}
