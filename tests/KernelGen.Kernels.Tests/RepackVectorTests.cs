using System.Buffers.Binary;
using KernelGen.Kernels.Generated;
using KernelGen.Kernels.MatMul;

namespace KernelGen.Kernels.Tests;

/// <summary>
/// The shared checkpoint vectors (tests/data/vectors/quant: AutoGPTQ, AutoAWQ, transformers and bitnet.cpp layers)
/// repacked into kernel rows decode bit for bit to the projects' own dequantized weights, and the reference matvec on
/// the repacked layer reproduces the projects' y.
/// </summary>
public sealed class RepackVectorTests
{
    private const string Layer = "model.layers.0.self_attn.q_proj.";

    public static TheoryData<string> GptqFolders() => QuantCheckpointVectorTests.GptqFolders();

    [Theory]
    [MemberData(nameof(GptqFolders))]
    public void Gptq_vectors_repack_and_decode_to_the_reference_weights(string folder)
    {
        string dir = Path.Combine(QuantLayers.QuantRoot, "gptq", folder);
        var config = QuantLayers.Json(Path.Combine(dir, "quantize_config.json"));
        var model = QuantLayers.ReadSafetensors(Path.Combine(dir, "model.safetensors"));
        var reference = QuantLayers.ReadSafetensors(Path.Combine(dir, "reference.safetensors"));
        int n = (int)model[Layer + "qweight"].Shape[1], k = (int)model[Layer + "g_idx"].Shape[0];
        int bits = config.GetProperty("bits").GetInt32(), groupSize = config.GetProperty("group_size").GetInt32();
        bool edgezero = folder.EndsWith("_edgezero", StringComparison.Ordinal);
        var expected = QuantLayers.Floats(reference[edgezero ? "weight_dequant_gptqmodel" : "weight_dequant"].Data);
        byte[] qweight = model[Layer + "qweight"].Data, scales = model[Layer + "scales"].Data, gIdx = model[Layer + "g_idx"].Data;
        bool actOrder = folder.Contains("_act1", StringComparison.Ordinal);

        foreach (var (checkpoint, qzeros) in new[] { (GPTQCheckpoint.Gptq, model[Layer + "qzeros"].Data), (GPTQCheckpoint.GptqV2, reference["qzeros_gptq_v2"].Data) })
        {
            var layout = new GPTQLayout(n, k, bits, groupSize, checkpoint);
            var m = QuantizedMatrix.FromGptq(layout, qweight, qzeros, scales, gIdx);
            Assert.Equal(actOrder, !m.InputOrder.IsEmpty);
            Assert.Equal(groupSize % 128 == 0 ? "GQ4_G128" : "GQ4_G32", m.Format.Name);
            RepackTests.AssertDecodesTo(expected, m, $"{folder} {checkpoint}");
        }

        // y = x·Wᵀ + bias from the repacked layer, against the project's fp32 y (tolerance per the README).
        var mv1 = QuantizedMatrix.FromGptq(new GPTQLayout(n, k, bits, groupSize, GPTQCheckpoint.Gptq), qweight, model[Layer + "qzeros"].Data, scales, gIdx);
        if (!edgezero)
        {
            AssertY(mv1, reference["x"], reference["y"], model[Layer + "bias"].Data, folder);
        }
        RepackTests.AssertMatVecMatches(expected, mv1, 5, folder);
    }

    [Fact]
    public void Awq_gemm_vector_and_its_gemv_repacking_decode_to_the_reference_weights()
    {
        string dir = Path.Combine(QuantLayers.QuantRoot, "awq", "awq_gemm_b4_g128_512x256");
        var model = QuantLayers.ReadSafetensors(Path.Combine(dir, "model.safetensors"));
        var reference = QuantLayers.ReadSafetensors(Path.Combine(dir, "reference.safetensors"));
        var qweight = model[Layer + "qweight"];
        int n = (int)qweight.Shape[1] * 8, k = (int)qweight.Shape[0];
        var expected = QuantLayers.Floats(reference["weight_dequant"].Data);
        var gemm = new AWQ_GEMMLayout(n, k, 128);
        var m = QuantizedMatrix.FromAwqGemm(gemm, qweight.Data, model[Layer + "qzeros"].Data, model[Layer + "scales"].Data);
        Assert.Equal("GQ4_G128", m.Format.Name);
        RepackTests.AssertDecodesTo(expected, m, "AWQ gemm");
        AssertY(m, reference["x"], reference["y"], model[Layer + "bias"].Data, "AWQ gemm");

        // The GEMV packing of the same quantization (built through the generated codecs) repacks to the same rows.
        var q = new int[n * k];
        var z = new int[n * (int)gemm.GroupCount];
        var s = new ushort[n * (int)gemm.GroupCount];
        AWQ_GEMMCodec.DecodeFields(gemm, qweight.Data, model[Layer + "qzeros"].Data, model[Layer + "scales"].Data, q, z, s);
        var gemv = new AWQ_GEMVLayout(n, k, 128);
        byte[] vq = new byte[gemv.QweightBytes], vz = new byte[gemv.QzerosBytes], vs = new byte[gemv.ScalesBytes];
        AWQ_GEMVCodec.Encode(gemv, q, z, s, vq, vz, vs);
        var mv = QuantizedMatrix.FromAwqGemv(gemv, vq, vz, vs);
        Assert.Equal(m.Rows.ToArray(), mv.Rows.ToArray());
    }

    [Fact]
    public void BitNet_vector_repacks_to_ternary_times_weight_scale_in_both_conventions()
    {
        string dir = Path.Combine(QuantLayers.QuantRoot, "bitnet", "bitnet_autobitlinear_offline_256x512");
        var model = QuantLayers.ReadSafetensors(Path.Combine(dir, "model.safetensors"));
        var reference = QuantLayers.ReadSafetensors(Path.Combine(dir, "reference.safetensors"));
        const string p = "model.layers.0.mlp.down_proj.";
        var ternary = reference["weight_ternary"];
        int n = (int)ternary.Shape[0], k = (int)ternary.Shape[1];
        byte[] weight = model[p + "weight"].Data, weightScale = model[p + "weight_scale"].Data;
        float ws = BitConverter.UInt32BitsToSingle((uint)BinaryPrimitives.ReadUInt16LittleEndian(weightScale) << 16);
        var times = new float[n * k];
        var divided = new float[n * k];
        for (int i = 0; i < times.Length; i++)
        {
            float t = BitConverter.UInt32BitsToSingle((uint)BinaryPrimitives.ReadUInt16LittleEndian(ternary.Data.AsSpan(2 * i)) << 16);
            times[i] = t * ws;
            divided[i] = t / ws;
        }
        var m = QuantizedMatrix.FromBitNet(new BitNetLayout(n, k, BitNetLinearClass.Autobitlinear), weight, weightScale);
        Assert.Equal("TB2_F32", m.Format.Name);
        RepackTests.AssertDecodesTo(times, m, "BitNet autobitlinear");
        // y without activation quantization: x·(T·ws)ᵀ.
        AssertY(m, reference["x"], reference["y_no_act_quant"], null, "BitNet autobitlinear");
        RepackTests.AssertDecodesTo(divided, QuantizedMatrix.FromBitNet(new BitNetLayout(n, k, BitNetLinearClass.Bitlinear), weight, weightScale), "BitNet bitlinear");
    }

    [Fact]
    public void I2_S_vector_repacks_to_ternary_times_scale()
    {
        string dir = Path.Combine(QuantLayers.QuantRoot, "bitnet", "bitnet_i2s_256x512");
        var file = QuantLayers.ReadSafetensors(Path.Combine(dir, "i2s.safetensors"));
        var ternary = file["weight_ternary"];
        int n = (int)ternary.Shape[0], k = (int)ternary.Shape[1];
        float scale = BinaryPrimitives.ReadSingleLittleEndian(file["weight_scale"].Data);
        var expected = new float[n * k];
        for (int i = 0; i < expected.Length; i++) expected[i] = (float)(sbyte)ternary.Data[i] * scale;
        var m = QuantizedMatrix.FromI2S(new I2_SLayout(n, k), file["blk.0.ffn_down.weight.i2_s"].Data);
        Assert.Equal("TB2_F32", m.Format.Name);
        Assert.Equal("I2_S", m.SourceFormat);
        RepackTests.AssertDecodesTo(expected, m, "I2_S");
        RepackTests.AssertMatVecMatches(expected, m, 11, "I2_S");
    }

    /// <summary>y = x·Wᵀ (+ fp16 bias) from the repacked layer's MatMul against the project's fp32 y (absolute 1e-4 with magnitude).</summary>
    private static void AssertY(QuantizedMatrix m, (Containers.Safetensors.SafetensorsDType DType, long[] Shape, byte[] Data) x,
        (Containers.Safetensors.SafetensorsDType DType, long[] Shape, byte[] Data) y, byte[]? bias, string context)
    {
        var xs = QuantLayers.Floats(x.Data);
        var ys = QuantLayers.Floats(y.Data);
        int batch = (int)x.Shape[0];
        Assert.Equal(m.K, (int)x.Shape[1]);
        Assert.Equal(m.N, (int)y.Shape[1]);
        var actual = new float[batch * m.N];
        m.MatMul(xs, batch, actual);
        // Integer kernels quantize x to int8 blocks in the stored column order: allow exactly that much more.
        var (storedW, storedX) = RepackTests.InStoredOrder(m, RepackTests.DecodeRepacked(m), xs, batch);
        for (int b = 0; b < batch; b++)
        {
            for (int r = 0; r < m.N; r++)
            {
                float v = actual[b * m.N + r];
                if (bias is not null) v += (float)BitConverter.UInt16BitsToHalf(BinaryPrimitives.ReadUInt16LittleEndian(bias.AsSpan(2 * r)));
                float want = ys[b * m.N + r];
                double allowed = 1e-4 + 1e-5 * Math.Abs(want)
                    + (m.Format.DotActivationKind == 1 ? MatMul.MatMulReference.ActivationBound(storedW, storedX, m.K, r, b) : 0);
                Assert.True(Math.Abs(v - want) <= allowed, $"{context}: y[{b}, {r}] = {v}, reference {want}, allowed error {allowed:E2}");
            }
        }
    }
}
