using System.Buffers.Binary;
using KernelGen.Kernels.Generated;

namespace KernelGen.Kernels.Tests;

/// <summary>
/// BitNet b1.58 absmean ternarisation (<see cref="Quantizer.TernarizeAbsMean"/>, <see cref="Quantizer.QuantizeBitNet"/>,
/// <see cref="Quantizer.QuantizeI2S"/>): the FORMATS.md §7.7 rule, both weight_scale conventions, I2_S's f32 tail,
/// and the shared bitnet vectors reproduced byte for byte.
/// </summary>
public sealed class BitNetQuantizerTests
{
    private static float Bf16(ReadOnlySpan<byte> b) => BitConverter.UInt32BitsToSingle((uint)BinaryPrimitives.ReadUInt16LittleEndian(b) << 16);

    private static float Bf16Round(float f)
    {
        uint u = BitConverter.SingleToUInt32Bits(f);
        return BitConverter.UInt32BitsToSingle(((u + 0x7FFF + ((u >> 16) & 1)) >> 16) << 16);
    }

    [Theory]
    [InlineData(37, 100, BitNetLinearClass.Autobitlinear)]
    [InlineData(37, 100, BitNetLinearClass.Bitlinear)]
    [InlineData(64, 96, BitNetLinearClass.Autobitlinear)]
    public void Random_weights_ternarize_by_the_absmean_rule_and_decode_to_t_times_the_stored_scale(int outF, int inF, BitNetLinearClass linearClass)
    {
        var w = GroupQuantizerTests.RandomWeights(outF, inF, outF + inF);
        double sum = 0;
        foreach (float v in w) sum += Math.Abs(v);
        float s = Math.Max((float)(sum / w.Length), 1e-5f);

        var ternary = new sbyte[w.Length];
        Assert.Equal(s, Quantizer.TernarizeAbsMean(w, ternary));
        float inverse = 1f / s;
        for (int i = 0; i < w.Length; i++)
        {
            // torch: (W * (1/s)).round().clamp(-1, 1), round = half to even.
            Assert.Equal((sbyte)Math.Clamp(Math.Round(w[i] * inverse, MidpointRounding.ToEven), -1, 1), ternary[i]);
        }
        Assert.Contains((sbyte)-1, ternary);
        Assert.Contains((sbyte)0, ternary);
        Assert.Contains((sbyte)1, ternary);

        var layout = new BitNetLayout(outF, inF, linearClass);
        byte[] weight = new byte[layout.WeightBytes], ws = new byte[layout.WeightScaleBytes];
        Assert.Equal(s, Quantizer.QuantizeBitNet(w, layout, weight, ws, new int[Quantizer.LinearScratchLength(layout)]));
        float stored = Bf16(ws);
        Assert.Equal(Bf16Round(linearClass == BitNetLinearClass.Bitlinear ? 1f / s : s), stored);

        var q = new int[w.Length];
        var wsBits = new ushort[1];
        BitNetCodec.DecodeFields(layout, weight, ws, q, wsBits);
        Assert.Equal(ternary.Select(t => t + 1).ToArray(), q);

        var expected = ternary.Select(t => linearClass == BitNetLinearClass.Bitlinear ? t / stored : t * stored).ToArray();
        foreach (var path in QuantLayers.DecodePaths)
        {
            QuantLayers.AssertBitwise(expected, QuantLayers.DecodeBitNet(path, layout, weight, ws), $"BitNet {linearClass} {path}");
        }

        // I2_S: the same codes, the fp32 scale in the tail.
        var i2s = new I2_SLayout(outF, inF);
        var data = new byte[i2s.DataBytes];
        Assert.Equal(s, Quantizer.QuantizeI2S(w, i2s, data));
        Assert.Equal(s, BinaryPrimitives.ReadSingleLittleEndian(data.AsSpan((int)i2s.TailOffset)));
        Assert.All(data.AsSpan((int)i2s.TailOffset + 4).ToArray(), b => Assert.Equal(0, b));
        foreach (var path in QuantLayers.DecodePaths)
        {
            QuantLayers.AssertBitwise(ternary.Select(t => t * s).ToArray(), QuantLayers.DecodeI2S(path, i2s, data), $"I2_S {path}");
        }
    }

    [Fact]
    public void Edge_cases_zero_tensor_uses_the_minimum_scale_and_ties_round_to_even()
    {
        var zeros = new float[4 * 8];
        var t = new sbyte[zeros.Length];
        Assert.Equal(1e-5f, Quantizer.TernarizeAbsMean(zeros, t));
        Assert.All(t, v => Assert.Equal(0, v));
        var layout = new BitNetLayout(4, 8, BitNetLinearClass.Bitlinear);
        byte[] weight = new byte[layout.WeightBytes], ws = new byte[layout.WeightScaleBytes];
        Quantizer.QuantizeBitNet(zeros, layout, weight, ws);
        Assert.All(QuantLayers.DecodeBitNet("DecodeRows", layout, weight, ws), v => Assert.Equal(0f, v));

        // |w|·(1/s) = 0.5 exactly rounds to 0 (half to even), 1.5 to 2 -> clamped to 1.
        var w = new float[] { 0.5f, -0.5f, 1.5f, -1.5f, 2f, 0f, 0f, 0f };
        Assert.Equal(1f, Quantizer.TernarizeAbsMean(w, t.AsSpan(0, 8), 1f));
        Assert.Equal(new sbyte[] { 0, 0, 1, -1, 1, 0, 0, 0 }, t.AsSpan(0, 8).ToArray());
        Assert.Throws<ArgumentOutOfRangeException>(() => Quantizer.TernarizeAbsMean(w, new sbyte[8], 0f));
    }

    [Fact]
    public void BitNet_vector_ternary_times_scale_requantizes_to_the_checkpoint_bytes()
    {
        string dir = Path.Combine(QuantLayers.QuantRoot, "bitnet", "bitnet_autobitlinear_offline_256x512");
        const string p = "model.layers.0.mlp.down_proj.";
        var model = QuantLayers.ReadSafetensors(Path.Combine(dir, "model.safetensors"));
        var reference = QuantLayers.ReadSafetensors(Path.Combine(dir, "reference.safetensors"));
        var ternary = reference["weight_ternary"];
        int outF = (int)ternary.Shape[0], inF = (int)ternary.Shape[1];
        float ws = Bf16(model[p + "weight_scale"].Data);
        var w = new float[outF * inF];
        for (int i = 0; i < w.Length; i++) w[i] = Bf16(ternary.Data.AsSpan(2 * i)) * ws;

        var layout = new BitNetLayout(outF, inF, BitNetLinearClass.Autobitlinear);
        byte[] weight = new byte[layout.WeightBytes], scale = new byte[layout.WeightScaleBytes];

        // Absmean of t·ws is ws · (non-zero fraction), not ws; every |t·ws|/s ≥ 1 still rounds to ±1: same codes.
        float s = Quantizer.QuantizeBitNet(w, layout, weight, scale);
        Assert.Equal(model[p + "weight"].Data, weight);
        int nonZero = w.Count(v => v != 0);
        Assert.Equal((float)((double)ws * nonZero / w.Length), s);

        // With the checkpoint's own scale (bitnet.cpp's override_scale), weight_scale is reproduced too.
        Quantizer.QuantizeBitNet(w, layout, weight, scale, default, ws);
        Assert.Equal(model[p + "weight"].Data, weight);
        Assert.Equal(model[p + "weight_scale"].Data, scale);

        // bitlinear stores 1/s.
        var bitlinear = new BitNetLayout(outF, inF, BitNetLinearClass.Bitlinear);
        Quantizer.QuantizeBitNet(w, bitlinear, weight, scale, default, ws);
        Assert.Equal(model[p + "weight"].Data, weight);
        Assert.Equal(Bf16Round(1f / ws), Bf16(scale));
    }

    [Fact]
    public void I2_S_vector_ternary_times_scale_requantizes_to_the_bitnet_cpp_bytes()
    {
        string dir = Path.Combine(QuantLayers.QuantRoot, "bitnet", "bitnet_i2s_256x512");
        var file = QuantLayers.ReadSafetensors(Path.Combine(dir, "i2s.safetensors"));
        var ternary = file["weight_ternary"];
        int outF = (int)ternary.Shape[0], inF = (int)ternary.Shape[1];
        float scale = BinaryPrimitives.ReadSingleLittleEndian(file["weight_scale"].Data);
        var expected = file["blk.0.ffn_down.weight.i2_s"].Data;
        var w = new float[outF * inF];
        for (int i = 0; i < w.Length; i++) w[i] = (sbyte)ternary.Data[i] * scale;

        var layout = new I2_SLayout(outF, inF);
        var data = new byte[layout.DataBytes];
        Assert.Equal(scale, Quantizer.QuantizeI2S(w, layout, data, default, scale));
        Assert.Equal(expected, data);

        // Absmean scale: identical codes, the tail holds mean|t·scale|.
        float s = Quantizer.QuantizeI2S(w, layout, data);
        Assert.Equal(expected.AsSpan(0, (int)layout.CodesLength).ToArray(), data.AsSpan(0, (int)layout.CodesLength).ToArray());
        Assert.Equal(s, BinaryPrimitives.ReadSingleLittleEndian(data.AsSpan((int)layout.TailOffset)));
    }
}
