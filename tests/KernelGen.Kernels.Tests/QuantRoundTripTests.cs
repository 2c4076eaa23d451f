using KernelGen.Kernels.Generated;

namespace KernelGen.Kernels.Tests;

/// <summary>
/// Fresh random layers: generated Encode then DecodeFields returns the same fields and re-encodes to the same bytes,
/// and every decode path (scalar, Vector128/256/512, dispatch) equals the value formula computed independently here,
/// bit for bit. Scales are random fp16/bf16 bit patterns (normal and subnormal, both signs).
/// </summary>
public sealed class QuantRoundTripTests
{
    private static ushort RandomHalf(Random rng)
    {
        while (true)
        {
            ushort h = (ushort)rng.Next(0x10000);
            if ((h & 0x7C00) != 0x7C00)
            {
                return h; // finite
            }
        }
    }

    private static ushort RandomBFloat16(Random rng)
    {
        while (true)
        {
            ushort h = (ushort)rng.Next(0x10000);
            if ((h & 0x7F80) != 0x7F80 && (h & 0x7FFF) != 0)
            {
                return h; // finite, non-zero
            }
        }
    }

    private static float HalfToFloat(ushort h) => (float)BitConverter.UInt16BitsToHalf(h);

    private static float BFloat16ToFloat(ushort b) => BitConverter.UInt32BitsToSingle((uint)b << 16);

    /// <summary>Act-order style map: a random permutation of the inputs, cut into groups of exactly groupSize.</summary>
    private static int[] GroupMap(Random rng, int k, int groupSize, bool actOrder)
    {
        var g = new int[k];
        var order = Enumerable.Range(0, k).ToArray();
        if (actOrder)
        {
            rng.Shuffle(order);
        }
        for (int i = 0; i < k; i++)
        {
            g[order[i]] = i / groupSize;
        }
        return g;
    }

    public static TheoryData<int, int, bool, GPTQCheckpoint> GptqCases()
    {
        var data = new TheoryData<int, int, bool, GPTQCheckpoint>();
        foreach (int bits in new[] { 2, 3, 4, 8 })
        {
            foreach (int group in new[] { 32, 128, -1 })
            {
                foreach (bool act in new[] { false, true })
                {
                    data.Add(bits, group, act, act ? GPTQCheckpoint.GptqV2 : GPTQCheckpoint.Gptq);
                }
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(GptqCases))]
    public void Gptq_encode_then_decode_round_trips(int bits, int groupSize, bool actOrder, GPTQCheckpoint checkpoint)
    {
        const int n = 64, k = 256;
        var rng = new Random(bits * 1000 + groupSize + (actOrder ? 7 : 0));
        var layout = new GPTQLayout(n, k, bits, groupSize, checkpoint);
        int gs = groupSize == -1 ? k : groupSize;
        Assert.Equal(gs, layout.GroupSize);
        int groups = (int)layout.GroupCount;
        Assert.Equal((k + gs - 1) / gs, groups);
        int maxq = (1 << bits) - 1;
        var q = Enumerable.Range(0, n * k).Select(_ => rng.Next(maxq + 1)).ToArray();
        // v1 fields never hold maxq in a clean checkpoint (the zero would be 2^bits); v2 fields use the full range.
        var qz = Enumerable.Range(0, n * groups).Select(_ => rng.Next(checkpoint == GPTQCheckpoint.Gptq ? maxq : maxq + 1)).ToArray();
        var s = Enumerable.Range(0, n * groups).Select(_ => RandomHalf(rng)).ToArray();
        var g = GroupMap(rng, k, gs, actOrder);

        byte[] qweight = new byte[layout.QweightBytes], qzeros = new byte[layout.QzerosBytes], scales = new byte[layout.ScalesBytes], gIdx = new byte[layout.GIdxBytes];
        Assert.Equal((long)k * bits / 32 * n * 4, layout.QweightBytes);
        GPTQCodec.Encode(layout, q, qz, s, g, qweight, qzeros, scales, gIdx);

        var q2 = new int[q.Length];
        var qz2 = new int[qz.Length];
        var s2 = new ushort[s.Length];
        var g2 = new int[k];
        GPTQCodec.DecodeFields(layout, qweight, qzeros, scales, gIdx, q2, qz2, s2, g2);
        Assert.Equal(q, q2);
        Assert.Equal(qz, qz2);
        Assert.Equal(s, s2);
        Assert.Equal(g, g2);

        var expected = new float[n * k];
        for (int row = 0; row < n; row++)
        {
            for (int col = 0; col < k; col++)
            {
                int field = qz[row * groups + g[col]];
                int zero = checkpoint == GPTQCheckpoint.Gptq ? (field + 1) & maxq : field;
                expected[row * k + col] = HalfToFloat(s[row * groups + g[col]]) * (float)(q[row * k + col] - zero);
            }
        }
        foreach (var path in QuantLayers.DecodePaths)
        {
            QuantLayers.AssertBitwise(expected, QuantLayers.DecodeGptq(path, layout, qweight, qzeros, scales, gIdx), $"GPTQ b{bits} g{groupSize} act{actOrder} {path}");
        }
        if (!actOrder)
        {
            QuantLayers.AssertBitwise(expected, QuantLayers.DecodeGptq("V256", layout, qweight, qzeros, scales, Array.Empty<byte>()), "no g_idx");
        }
        Assert.Equal(0, GPTQCodec.CheckWarnings(layout, qweight, qzeros, scales, gIdx, _ => Assert.Fail("no warning expected")));
    }

    [Fact]
    public void Gptq_v1_zero_of_zero_stored_as_maxq_decodes_to_zero_and_warns_once()
    {
        const int n = 32, k = 64;
        var layout = new GPTQLayout(n, k, 4, 32, GPTQCheckpoint.Gptq);
        var q = new int[n * k];
        Array.Fill(q, 3);
        var qz = new int[n * 2];
        Array.Fill(qz, 7);
        qz[5] = 15; // zero 0 in v1 = -1 & 15
        qz[40] = 15;
        var s = Enumerable.Repeat(BitConverter.HalfToUInt16Bits((Half)0.5f), n * 2).ToArray();
        var g = Enumerable.Range(0, k).Select(i => i / 32).ToArray();
        byte[] qweight = new byte[layout.QweightBytes], qzeros = new byte[layout.QzerosBytes], scales = new byte[layout.ScalesBytes], gIdx = new byte[layout.GIdxBytes];
        GPTQCodec.Encode(layout, q, qz, s, g, qweight, qzeros, scales, gIdx);
        var w = QuantLayers.DecodeGptq("DecodeRows", layout, qweight, qzeros, scales, gIdx);
        Assert.Equal(1.5f, w[2 * k + 40]); // row 2, group 1 = field index 5: zero (15 + 1) & 15 = 0
        Assert.Equal(-2.5f, w[0]);         // zero 8
        var messages = new List<string>();
        Assert.Equal(1, GPTQCodec.CheckWarnings(layout, qweight, qzeros, scales, gIdx, messages.Add));
        Assert.Single(messages);
        Assert.Contains("output row 2, group 1", messages[0]);
    }

    public static TheoryData<string, int> AwqCases()
    {
        var data = new TheoryData<string, int>();
        foreach (var version in new[] { "gemm", "gemv" })
        {
            foreach (int g in new[] { 32, 64, 128 })
            {
                data.Add(version, g);
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(AwqCases))]
    public void Awq_encode_then_decode_round_trips(string version, int groupSize)
    {
        const int n = 64, k = 512;
        var rng = new Random(groupSize + version.Length);
        int groups = k / groupSize;
        var q = Enumerable.Range(0, n * k).Select(_ => rng.Next(16)).ToArray();
        var z = Enumerable.Range(0, n * groups).Select(_ => rng.Next(16)).ToArray();
        var s = Enumerable.Range(0, n * groups).Select(_ => RandomHalf(rng)).ToArray();
        var expected = new float[n * k];
        for (int row = 0; row < n; row++)
        {
            for (int col = 0; col < k; col++)
            {
                int grp = col / groupSize;
                expected[row * k + col] = HalfToFloat(s[row * groups + grp]) * (float)(q[row * k + col] - z[row * groups + grp]);
            }
        }
        var q2 = new int[q.Length];
        var z2 = new int[z.Length];
        var s2 = new ushort[s.Length];
        if (version == "gemm")
        {
            var layout = new AWQ_GEMMLayout(n, k, groupSize);
            byte[] qweight = new byte[layout.QweightBytes], qzeros = new byte[layout.QzerosBytes], scales = new byte[layout.ScalesBytes];
            AWQ_GEMMCodec.Encode(layout, q, z, s, qweight, qzeros, scales);
            // The documented interleave: nibble 1 of word 0 of row 0 is output column 2.
            Assert.Equal(q[2 * k + 0], (qweight[0] >> 4) & 15);
            AWQ_GEMMCodec.DecodeFields(layout, qweight, qzeros, scales, q2, z2, s2);
            foreach (var path in QuantLayers.DecodePaths)
            {
                QuantLayers.AssertBitwise(expected, QuantLayers.DecodeAwqGemm(path, layout, qweight, qzeros, scales), $"AWQ gemm g{groupSize} {path}");
            }
        }
        else
        {
            var layout = new AWQ_GEMVLayout(n, k, groupSize);
            int m = groupSize >= 128 ? 1 : 128 / groupSize;
            long width = ((groups + 7) / 8 + m - 1) / m * m;
            Assert.Equal(width, layout.W);
            Assert.Equal(n * 8 * width * 2, layout.ScalesBytes);
            byte[] qweight = new byte[layout.QweightBytes], qzeros = new byte[layout.QzerosBytes], scales = new byte[layout.ScalesBytes];
            AWQ_GEMVCodec.Encode(layout, q, z, s, qweight, qzeros, scales);
            Assert.Equal(q[0 * k + 1], (qweight[0] >> 4) & 15); // no interleave: nibble 1 = input 1
            AWQ_GEMVCodec.DecodeFields(layout, qweight, qzeros, scales, q2, z2, s2);
            foreach (var path in QuantLayers.DecodePaths)
            {
                QuantLayers.AssertBitwise(expected, QuantLayers.DecodeAwqGemv(path, layout, qweight, qzeros, scales), $"AWQ gemv g{groupSize} {path}");
            }
        }
        Assert.Equal(q, q2);
        Assert.Equal(z, z2);
        Assert.Equal(s, s2);
    }

    [Theory]
    [InlineData(256, 128, BitNetLinearClass.Autobitlinear)]
    [InlineData(256, 128, BitNetLinearClass.Bitlinear)]
    [InlineData(10, 40, BitNetLinearClass.Bitlinear)]
    [InlineData(13, 24, BitNetLinearClass.Autobitlinear)]
    public void BitNet_encode_then_decode_round_trips(int n, int k, BitNetLinearClass linearClass)
    {
        var rng = new Random(n * 31 + k);
        var layout = new BitNetLayout(n, k, linearClass);
        Assert.Equal((n + 3) / 4, layout.R);
        var q = Enumerable.Range(0, n * k).Select(_ => rng.Next(3)).ToArray();
        var ws = new[] { RandomBFloat16(rng) };
        byte[] weight = new byte[layout.WeightBytes], weightScale = new byte[layout.WeightScaleBytes];
        BitNetCodec.Encode(layout, q, ws, weight, weightScale);
        // Row i*R + r sits in bits 2i..2i+1 of byte [r, k].
        int last = n - 1, R = (int)layout.R;
        Assert.Equal(q[last * k + 0], (weight[(last % R) * k + 0] >> (2 * (last / R))) & 3);
        var q2 = new int[q.Length];
        var ws2 = new ushort[1];
        BitNetCodec.DecodeFields(layout, weight, weightScale, q2, ws2);
        Assert.Equal(q, q2);
        Assert.Equal(ws, ws2);
        float scale = BFloat16ToFloat(ws[0]);
        var expected = q.Select(c => linearClass == BitNetLinearClass.Autobitlinear ? (float)(c - 1) * scale : (float)(c - 1) / scale).ToArray();
        foreach (var path in QuantLayers.DecodePaths)
        {
            QuantLayers.AssertBitwise(expected, QuantLayers.DecodeBitNet(path, layout, weight, weightScale), $"BitNet {n}x{k} {linearClass} {path}");
        }
    }

    [Theory]
    [InlineData(64, 256)]
    [InlineData(3, 128)]
    [InlineData(5, 96)]
    public void I2_S_encode_then_decode_round_trips(int n, int k)
    {
        var rng = new Random(n + k);
        var layout = new I2_SLayout(n, k);
        Assert.Equal(((long)n * k + 127) / 128 * 32 + 32, layout.DataBytes);
        var q = Enumerable.Range(0, n * k).Select(_ => rng.Next(3)).ToArray();
        var s = new[] { (float)rng.NextDouble() * 0.1f + 1e-3f };
        var data = new byte[layout.DataBytes];
        I2_SCodec.Encode(layout, q, s, data);
        // byte 32b + p = c[128b+p] << 6 | c[128b+32+p] << 4 | c[128b+64+p] << 2 | c[128b+96+p]
        Assert.Equal(q[0] << 6 | q[32] << 4 | q[64] << 2 | q[96], data[0]);
        Assert.Equal(s[0], BitConverter.ToSingle(data, (int)layout.TailOffset));
        var q2 = new int[q.Length];
        var s2 = new float[1];
        I2_SCodec.DecodeFields(layout, data, q2, s2);
        Assert.Equal(q, q2);
        Assert.Equal(s, s2);
        var expected = q.Select(c => (float)(c - 1) * s[0]).ToArray();
        foreach (var path in QuantLayers.DecodePaths)
        {
            QuantLayers.AssertBitwise(expected, QuantLayers.DecodeI2S(path, layout, data), $"I2_S {n}x{k} {path}");
        }
    }

    [Fact]
    public void Layouts_reject_invalid_parameters_and_short_buffers()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new GPTQLayout(64, 256, 5, 128, GPTQCheckpoint.Gptq));
        Assert.Throws<ArgumentOutOfRangeException>(() => new GPTQLayout(64, 256, 4, 0, GPTQCheckpoint.Gptq));
        Assert.Throws<ArgumentOutOfRangeException>(() => new GPTQLayout(64, 256, 4, -2, GPTQCheckpoint.Gptq));
        Assert.Throws<ArgumentOutOfRangeException>(() => new GPTQLayout(0, 256, 4, 128, GPTQCheckpoint.Gptq));
        Assert.Throws<ArgumentOutOfRangeException>(() => new BitNetLayout(4, 4, (BitNetLinearClass)7));
        var layout = new GPTQLayout(64, 256, 4, 128, GPTQCheckpoint.Gptq);
        Assert.Throws<ArgumentException>(() => GPTQCodec.DecodeRows(layout, new byte[10], new byte[layout.QzerosBytes], new byte[layout.ScalesBytes], Array.Empty<byte>(), 0, 1, new float[256]));
        Assert.Throws<ArgumentOutOfRangeException>(() => GPTQCodec.DecodeRows(layout, new byte[layout.QweightBytes], new byte[layout.QzerosBytes], new byte[layout.ScalesBytes], Array.Empty<byte>(), 60, 5, new float[5 * 256]));
        Assert.Throws<ArgumentException>(() => GPTQCodec.DecodeRows(default, Array.Empty<byte>(), Array.Empty<byte>(), Array.Empty<byte>(), Array.Empty<byte>(), 0, 0, Span<float>.Empty));
        // A group map pointing outside the groups is corrupt data, not an index error.
        var gIdx = new byte[layout.GIdxBytes];
        BitConverter.GetBytes(9).CopyTo(gIdx, 0);
        Assert.Throws<InvalidDataException>(() => GPTQCodec.DecodeRowsScalar(layout, new byte[layout.QweightBytes], new byte[layout.QzerosBytes], new byte[layout.ScalesBytes], gIdx, 0, 1, new float[256]));
    }
}
