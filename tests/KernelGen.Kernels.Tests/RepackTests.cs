using KernelGen.Kernels.Generated;
using KernelGen.Kernels.MatMul;

namespace KernelGen.Kernels.Tests;

/// <summary>
/// The one-time load repack of tensor-level layers (GPTQ, AWQ GEMM/GEMV, BitNet, I2_S) into kernel rows
/// (GQ4_G128/GQ4_G32/GQ8_G128/GQ8_G32/TB2_F32): for random layers made by the library's own quantizers, the repacked
/// rows, decoded by the generated block codec on every path and un-permuted, equal the tensor decoder's output bit for
/// bit; the reference matvec on the repacked layer matches a float64 product with the original weights.
/// </summary>
public sealed class RepackTests
{
    /// <summary>Decodes every row of a repacked matrix and puts stored column j back at input InputOrder[j].</summary>
    internal static float[] DecodeRepacked(QuantizedMatrix m, string path = "DecodeRow")
    {
        var decode = Paths.Get(m.Format, path);
        var result = new float[m.N * m.K];
        var row = new float[m.K];
        var order = m.InputOrder.ToArray();
        Assert.True(order.Length == 0 || order.Length == m.K);
        for (int r = 0; r < m.N; r++)
        {
            decode(m.Rows.Span.Slice((int)(r * m.RowBytes), (int)m.RowBytes), row);
            for (int j = 0; j < m.K; j++)
            {
                result[r * m.K + (order.Length == 0 ? j : order[j])] = row[j];
            }
        }
        return result;
    }

    /// <summary>Repacked rows decode to <paramref name="expected"/> on every block decode path.</summary>
    internal static void AssertDecodesTo(float[] expected, QuantizedMatrix m, string context)
    {
        Assert.Equal(m.N * m.RowBytes, m.Rows.Length);
        Assert.Equal(m.K / m.Format.BlockElements * m.Format.BlockBytes, m.RowBytes);
        foreach (var path in Paths.All)
        {
            Paths.AssertBitwiseEqual(expected, DecodeRepacked(m, path), $"{context} {m.Format.Name} {path}");
        }
    }

    /// <summary>MatVec and a 3-row MatMul against a float64 product with the original dequantized weights.</summary>
    internal static void AssertMatVecMatches(float[] weights, QuantizedMatrix m, int seed, string context)
    {
        var rng = new Random(seed);
        const int batch = 3;
        var x = new float[batch * m.K];
        for (int i = 0; i < x.Length; i++) x[i] = rng.NextSingle() * 4 - 2;
        var y = new float[batch * m.N];
        m.MatMul(x, batch, y);
        var y1 = new float[m.N];
        m.MatVec(x.AsSpan(0, m.K), y1);
        // The kernel sees the stored (possibly permuted) column order: compare in that order, where its activation
        // blocks of 32 are, so the integer kernels' bound (MatMulReference) applies.
        var (storedW, storedX) = InStoredOrder(m, weights, x, batch);
        MatMul.MatMulReference.Check(storedW, storedX, y, m.K, m.N, batch, m.Format.DotActivationKind == 1);
        // MatVec runs other register tiles than MatMul (four rows per pass), so it is checked on its own.
        MatMul.MatMulReference.Check(storedW, storedX.AsSpan(0, m.K).ToArray(), y1, m.K, m.N, 1, m.Format.DotActivationKind == 1);
        // The 8-row interleaved layout (4-bit kernel rows on AVX2) keeps the input order and meets the same bound,
        // with five activation rows so both its four-row and one-row tiles run.
        var interleaved = m.Interleaved();
        if (interleaved != m)
        {
            Assert.Equal(MatrixLayout.Interleaved8, interleaved.Layout);
            Assert.Equal(m.InputOrder.ToArray(), interleaved.InputOrder.ToArray());
            var x5 = Enumerable.Range(0, 5 * m.K).Select(i => x[i % x.Length] * (1 + i / x.Length)).ToArray();
            var (storedW5, storedX5) = InStoredOrder(m, weights, x5, 5);
            var y5 = new float[5 * m.N];
            interleaved.MatMul(x5, 5, y5);
            MatMul.MatMulReference.Check(storedW5, storedX5, y5, m.K, m.N, 5, true);
        }
    }

    /// <summary>Weights (N × K) and activations (batch × K) permuted into the matrix's stored column order.</summary>
    internal static (float[] W, float[] X) InStoredOrder(QuantizedMatrix m, float[] weights, float[] x, int batch)
    {
        var order = m.InputOrder.ToArray();
        var storedW = new float[weights.Length];
        var storedX = new float[x.Length];
        for (int j = 0; j < m.K; j++)
        {
            int src = order.Length == 0 ? j : order[j];
            for (int r = 0; r < m.N; r++) storedW[r * m.K + j] = weights[r * m.K + src];
            for (int b = 0; b < batch; b++) storedX[b * m.K + j] = x[b * m.K + src];
        }
        return (storedW, storedX);
    }

    private static float[] RandomWeights(Random rng, int n, int k)
    {
        var w = new float[n * k];
        for (int i = 0; i < w.Length; i++)
        {
            // Roughly normal, with a few outliers and some one-signed stretches.
            float v = (rng.NextSingle() + rng.NextSingle() + rng.NextSingle() - 1.5f) * 0.05f;
            if (rng.Next(97) == 0) v *= 8;
            w[i] = v;
        }
        return w;
    }

    /// <summary>
    /// A GPTQ layer made by the library's RTN quantizer. With <paramref name="actOrder"/> the inputs are quantized in a
    /// random order and g_idx maps each input to its group in that order (how act-order GPTQ checkpoints look).
    /// </summary>
    internal static (byte[] Qweight, byte[] Qzeros, byte[] Scales, byte[] GIdx) MakeGptq(float[] w, GPTQLayout layout, bool symmetric, bool actOrder, Random rng)
    {
        byte[] qweight = new byte[layout.QweightBytes], qzeros = new byte[layout.QzerosBytes], scales = new byte[layout.ScalesBytes], gIdx = new byte[layout.GIdxBytes];
        if (!actOrder)
        {
            Quantizer.QuantizeGptq(w, layout, symmetric, qweight, qzeros, scales, gIdx);
            return (qweight, qzeros, scales, gIdx);
        }
        int n = layout.OutFeatures, k = layout.InFeatures, groups = (int)layout.GroupCount;
        var perm = Enumerable.Range(0, k).ToArray();
        rng.Shuffle(perm); // stored-order position i quantizes input perm[i]
        var permuted = new float[n * k];
        for (int r = 0; r < n; r++)
        {
            for (int i = 0; i < k; i++) permuted[r * k + i] = w[r * k + perm[i]];
        }
        var codesP = new int[n * k];
        var zeros = new int[n * groups];
        var s = new ushort[n * groups];
        bool v1 = layout.Checkpoint == GPTQCheckpoint.Gptq;
        Quantizer.QuantizeGroups(permuted, n, k, layout.GroupSize, layout.Bits, symmetric ? GroupQuantScheme.Symmetric : GroupQuantScheme.Asymmetric,
            codesP, zeros, s, zeroPointAtLeastOne: v1);
        if (v1)
        {
            for (int i = 0; i < zeros.Length; i++) zeros[i] -= 1;
        }
        var codes = new int[n * k];
        var g = new int[k];
        for (int i = 0; i < k; i++)
        {
            g[perm[i]] = i / layout.GroupSize;
            for (int r = 0; r < n; r++) codes[r * k + perm[i]] = codesP[r * k + i];
        }
        GPTQCodec.Encode(layout, codes, zeros, s, g, qweight, qzeros, scales, gIdx);
        return (qweight, qzeros, scales, gIdx);
    }

    public static TheoryData<int, int, int, bool, GPTQCheckpoint, bool> GptqCases()
    {
        var data = new TheoryData<int, int, int, bool, GPTQCheckpoint, bool>();
        foreach (int bits in new[] { 2, 3, 4, 8 })
        {
            foreach (int group in new[] { 32, 64, 128, -1 })
            {
                foreach (bool act in new[] { false, true })
                {
                    if (act && group == -1) continue; // one group: act-order changes nothing
                    data.Add(bits, 256, group, act, GPTQCheckpoint.Gptq, false);
                    data.Add(bits, 256, group, act, GPTQCheckpoint.GptqV2, true);
                }
            }
            // Groups of 256 (blocks repeat the scale), per channel with K only a multiple of 32, a partial last group.
            data.Add(bits, 512, 256, true, GPTQCheckpoint.Gptq, true);
            data.Add(bits, 352, -1, false, GPTQCheckpoint.Gptq, false);
            data.Add(bits, 352, 128, false, GPTQCheckpoint.GptqV2, false);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(GptqCases))]
    public void Gptq_repack_decodes_bitwise_to_the_tensor_decoder(int bits, int k, int groupSize, bool actOrder, GPTQCheckpoint checkpoint, bool symmetric)
    {
        const int n = 24;
        var rng = new Random(bits * 7919 + k * 31 + groupSize * 3 + (actOrder ? 1 : 0) + (int)checkpoint * 17);
        var layout = new GPTQLayout(n, k, bits, groupSize, checkpoint);
        var w = RandomWeights(rng, n, k);
        var (qweight, qzeros, scales, gIdx) = MakeGptq(w, layout, symmetric, actOrder, rng);
        var expected = new float[n * k];
        GPTQCodec.DecodeRows(layout, qweight, qzeros, scales, gIdx, 0, n, expected);

        var m = QuantizedMatrix.FromGptq(layout, qweight, qzeros, scales, gIdx);
        string context = $"GPTQ b{bits} K{k} g{groupSize} act{actOrder} {checkpoint}";
        int gs = layout.GroupSize;
        bool whole128 = gs % 128 == 0 && k % 128 == 0;
        Assert.Equal((bits == 8 ? "GQ8_" : "GQ4_") + (whole128 ? "G128" : "G32"), m.Format.Name);
        Assert.Equal("GPTQ", m.SourceFormat);
        Assert.Equal(n, m.N);
        Assert.Equal(k, m.K);
        Assert.Equal(actOrder, !m.InputOrder.IsEmpty);
        if (actOrder)
        {
            // A permutation that stores every group contiguously, in group order, stable within a group.
            var order = m.InputOrder.ToArray();
            Assert.Equal(Enumerable.Range(0, k), order.Order());
            var groupOf = new int[k];
            GPTQCodec.DecodeFields(layout, qweight, qzeros, scales, gIdx, new int[n * k], new int[n * layout.GroupCount], new ushort[n * layout.GroupCount], groupOf);
            for (int j = 1; j < k; j++)
            {
                Assert.True(groupOf[order[j]] > groupOf[order[j - 1]] || (groupOf[order[j]] == groupOf[order[j - 1]] && order[j] > order[j - 1]), $"stored column {j}");
            }
        }
        AssertDecodesTo(expected, m, context);
        // Without g_idx (trivial map) the same layer repacks identically.
        if (!actOrder)
        {
            var m2 = QuantizedMatrix.FromGptq(layout, qweight, qzeros, scales, default);
            Assert.Equal(m.Rows.ToArray(), m2.Rows.ToArray());
        }
        AssertMatVecMatches(expected, m, bits + k, context);
    }

    [Theory]
    [InlineData(2, GPTQCheckpoint.Gptq)]
    [InlineData(3, GPTQCheckpoint.Gptq)]
    [InlineData(4, GPTQCheckpoint.Gptq)]
    [InlineData(8, GPTQCheckpoint.Gptq)]
    [InlineData(3, GPTQCheckpoint.GptqV2)]
    [InlineData(8, GPTQCheckpoint.GptqV2)]
    public void Gptq_repack_of_random_raw_fields_is_bit_exact(int bits, GPTQCheckpoint checkpoint)
    {
        // Every stored field value (v1 fields of 2^bits - 1, i.e. damaged zeros, included), fp16 scales of any finite
        // bit pattern (subnormal, negative, zero), and an act-order map with groups of unequal sizes (multiples of 32).
        const int n = 13, k = 448;
        var rng = new Random(bits * 100 + (int)checkpoint);
        int[] sizes = { 64, 32, 128, 96, 128 };
        var layout = new GPTQLayout(n, k, bits, 96, checkpoint); // ceil(448 / 96) = 5 groups; the map sizes them as above
        Assert.Equal(sizes.Length, layout.GroupCount);
        var g = new int[k];
        var perm = Enumerable.Range(0, k).ToArray();
        rng.Shuffle(perm);
        for (int i = 0, grp = 0, left = sizes[0]; i < k; i++)
        {
            if (left == 0) left = sizes[++grp];
            g[perm[i]] = grp;
            left--;
        }
        int groups = (int)layout.GroupCount, maxq = (1 << bits) - 1;
        var q = Enumerable.Range(0, n * k).Select(_ => rng.Next(maxq + 1)).ToArray();
        var qz = Enumerable.Range(0, n * groups).Select(_ => rng.Next(maxq + 1)).ToArray();
        var s = Enumerable.Range(0, n * groups).Select(_ =>
        {
            while (true)
            {
                ushort h = (ushort)rng.Next(0x10000);
                if ((h & 0x7C00) != 0x7C00) return h;
            }
        }).ToArray();
        byte[] qweight = new byte[layout.QweightBytes], qzeros = new byte[layout.QzerosBytes], scales = new byte[layout.ScalesBytes], gIdx = new byte[layout.GIdxBytes];
        GPTQCodec.Encode(layout, q, qz, s, g, qweight, qzeros, scales, gIdx);
        var expected = new float[n * k];
        GPTQCodec.DecodeRows(layout, qweight, qzeros, scales, gIdx, 0, n, expected);

        var m = QuantizedMatrix.FromGptq(layout, qweight, qzeros, scales, gIdx);
        Assert.Equal(bits == 8 ? "GQ8_G32" : "GQ4_G32", m.Format.Name);
        AssertDecodesTo(expected, m, $"raw GPTQ b{bits} {checkpoint}");

        // The same unequal groups in input order (a monotonic map): no permutation.
        Array.Sort(g);
        GPTQCodec.Encode(layout, q, qz, s, g, qweight, qzeros, scales, gIdx);
        GPTQCodec.DecodeRows(layout, qweight, qzeros, scales, gIdx, 0, n, expected);
        m = QuantizedMatrix.FromGptq(layout, qweight, qzeros, scales, gIdx);
        Assert.True(m.InputOrder.IsEmpty);
        AssertDecodesTo(expected, m, $"raw GPTQ b{bits} {checkpoint} monotonic");
    }

    public static TheoryData<string, int, int> AwqCases()
    {
        var data = new TheoryData<string, int, int>();
        foreach (string kind in new[] { "gemm", "gemv" })
        {
            foreach (int group in new[] { 32, 64, 128, 256 })
            {
                data.Add(kind, 512, group);
            }
            data.Add(kind, 96, 32);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(AwqCases))]
    public void Awq_repack_decodes_bitwise_to_the_tensor_decoder(string kind, int k, int groupSize)
    {
        const int n = 40;
        var rng = new Random(k + groupSize + kind.Length);
        var w = RandomWeights(rng, n, k);
        var expected = new float[n * k];
        QuantizedMatrix m;
        if (kind == "gemm")
        {
            var layout = new AWQ_GEMMLayout(n, k, groupSize);
            byte[] qweight = new byte[layout.QweightBytes], qzeros = new byte[layout.QzerosBytes], scales = new byte[layout.ScalesBytes];
            Quantizer.QuantizeAwqGemm(w, layout, qweight, qzeros, scales);
            AWQ_GEMMCodec.DecodeRows(layout, qweight, qzeros, scales, 0, n, expected);
            m = QuantizedMatrix.FromAwqGemm(layout, qweight, qzeros, scales);
            Assert.Equal("AWQ_GEMM", m.SourceFormat);
        }
        else
        {
            var layout = new AWQ_GEMVLayout(n, k, groupSize);
            byte[] qweight = new byte[layout.QweightBytes], qzeros = new byte[layout.QzerosBytes], scales = new byte[layout.ScalesBytes];
            Quantizer.QuantizeAwqGemv(w, layout, qweight, qzeros, scales, scheme: GroupQuantScheme.AutoAwq);
            AWQ_GEMVCodec.DecodeRows(layout, qweight, qzeros, scales, 0, n, expected);
            m = QuantizedMatrix.FromAwqGemv(layout, qweight, qzeros, scales);
            Assert.Equal("AWQ_GEMV", m.SourceFormat);
        }
        Assert.Equal(groupSize % 128 == 0 ? "GQ4_G128" : "GQ4_G32", m.Format.Name);
        Assert.True(m.InputOrder.IsEmpty);
        AssertDecodesTo(expected, m, $"AWQ {kind} K{k} g{groupSize}");
        AssertMatVecMatches(expected, m, k * 3 + groupSize, $"AWQ {kind}");
    }

    [Theory]
    [InlineData(BitNetLinearClass.Autobitlinear, 12, 512)]
    [InlineData(BitNetLinearClass.Bitlinear, 12, 512)]
    [InlineData(BitNetLinearClass.Autobitlinear, 7, 256)]
    [InlineData(BitNetLinearClass.Bitlinear, 10, 768)]
    public void BitNet_repack_decodes_bitwise_to_the_tensor_decoder(BitNetLinearClass linearClass, int n, int k)
    {
        var rng = new Random(n * k + (int)linearClass);
        var w = RandomWeights(rng, n, k);
        var layout = new BitNetLayout(n, k, linearClass);
        byte[] weight = new byte[layout.WeightBytes], weightScale = new byte[layout.WeightScaleBytes];
        Quantizer.QuantizeBitNet(w, layout, weight, weightScale);
        var expected = new float[n * k];
        BitNetCodec.DecodeRows(layout, weight, weightScale, 0, n, expected);
        var m = QuantizedMatrix.FromBitNet(layout, weight, weightScale);
        Assert.Equal("TB2_F32", m.Format.Name);
        Assert.Equal("BitNet", m.SourceFormat);
        Assert.True(m.InputOrder.IsEmpty);
        AssertDecodesTo(expected, m, $"BitNet {linearClass} {n}x{k}");
        AssertMatVecMatches(expected, m, n + k, $"BitNet {linearClass}");
    }

    [Fact]
    public void BitNet_repack_carries_code_3_and_any_scale_bit_pattern()
    {
        // Raw fields: every 2-bit code (3 never comes from a quantizer) with bf16 scales of both signs and magnitudes.
        const int n = 9, k = 256;
        var rng = new Random(99);
        var q = Enumerable.Range(0, n * k).Select(_ => rng.Next(4)).ToArray();
        foreach (var linearClass in new[] { BitNetLinearClass.Autobitlinear, BitNetLinearClass.Bitlinear })
        {
            foreach (ushort ws in new ushort[] { 0x3C80, 0xBF00, 0x4278, 0x0081, 0x7F00, 0x3A83, 0x7F01, 0x7F35, 0xFF21 })
            {
                var layout = new BitNetLayout(n, k, linearClass);
                byte[] weight = new byte[layout.WeightBytes], weightScale = new byte[layout.WeightScaleBytes];
                BitNetCodec.Encode(layout, q, new[] { ws }, weight, weightScale);
                var expected = new float[n * k];
                BitNetCodec.DecodeRows(layout, weight, weightScale, 0, n, expected);
                float scale = BitConverter.UInt32BitsToSingle((uint)ws << 16);
                bool exact = linearClass == BitNetLinearClass.Autobitlinear
                    || BitConverter.SingleToUInt32Bits(2f * (1f / scale)) == BitConverter.SingleToUInt32Bits(2f / scale);
                if (exact)
                {
                    AssertDecodesTo(expected, QuantizedMatrix.FromBitNet(layout, weight, weightScale), $"BitNet raw {linearClass} ws 0x{ws:X4}");
                }
                else
                {
                    var e = Assert.Throws<ArgumentException>(() => QuantizedMatrix.FromBitNet(layout, weight, weightScale));
                    Assert.Contains("cannot be repacked exactly", e.Message);
                }
            }
        }
    }

    [Theory]
    [InlineData(16, 512)]
    [InlineData(5, 768)]
    [InlineData(3, 256)]
    public void I2_S_repack_decodes_bitwise_to_the_tensor_decoder(int n, int k)
    {
        var rng = new Random(n * 1000 + k);
        var w = RandomWeights(rng, n, k);
        var layout = new I2_SLayout(n, k);
        var data = new byte[layout.DataBytes];
        Quantizer.QuantizeI2S(w, layout, data);
        var expected = new float[n * k];
        I2_SCodec.DecodeRows(layout, data, 0, n, expected);
        var m = QuantizedMatrix.FromI2S(layout, data);
        Assert.Equal("TB2_F32", m.Format.Name);
        Assert.Equal("I2_S", m.SourceFormat);
        AssertDecodesTo(expected, m, $"I2_S {n}x{k}");
        AssertMatVecMatches(expected, m, n + k, "I2_S");
    }

    [Fact]
    public void Unsupported_layers_and_bad_buffers_are_argument_errors_that_say_why()
    {
        // Group size not a multiple of 32.
        var g16 = new GPTQLayout(8, 256, 4, 16, GPTQCheckpoint.Gptq);
        var e = Assert.Throws<ArgumentException>(() => QuantizedMatrix.FromGptq(g16, new byte[g16.QweightBytes], new byte[g16.QzerosBytes], new byte[g16.ScalesBytes], default));
        Assert.Contains("group 0 holds 16 inputs", e.Message);
        Assert.Contains("multiple of 32", e.Message);

        // Per channel with K not a multiple of 32.
        var pc = new GPTQLayout(8, 200, 4, -1, GPTQCheckpoint.GptqV2);
        e = Assert.Throws<ArgumentException>(() => QuantizedMatrix.FromGptq(pc, new byte[pc.QweightBytes], new byte[pc.QzerosBytes], new byte[pc.ScalesBytes], default));
        Assert.Contains("200 inputs", e.Message);

        // Partial last group of 16.
        var partial = new GPTQLayout(8, 272, 4, 128, GPTQCheckpoint.Gptq);
        e = Assert.Throws<ArgumentException>(() => QuantizedMatrix.FromGptq(partial, new byte[partial.QweightBytes], new byte[partial.QzerosBytes], new byte[partial.ScalesBytes], default));
        Assert.Contains("group 2 holds 16 inputs", e.Message);

        // Wrong buffer lengths, g_idx out of range, an uninitialized layout.
        var ok = new GPTQLayout(8, 256, 4, 128, GPTQCheckpoint.Gptq);
        e = Assert.Throws<ArgumentException>(() => QuantizedMatrix.FromGptq(ok, new byte[ok.QweightBytes - 4], new byte[ok.QzerosBytes], new byte[ok.ScalesBytes], default));
        Assert.Equal("qweight", e.ParamName);
        Assert.Contains("needs exactly", e.Message);
        e = Assert.Throws<ArgumentException>(() => QuantizedMatrix.FromGptq(ok, new byte[ok.QweightBytes], new byte[ok.QzerosBytes], new byte[ok.ScalesBytes], new byte[8]));
        Assert.Equal("gIdx", e.ParamName);
        var badMap = new byte[ok.GIdxBytes];
        BitConverter.GetBytes(2).CopyTo(badMap, 4 * 5);
        e = Assert.Throws<ArgumentException>(() => QuantizedMatrix.FromGptq(ok, new byte[ok.QweightBytes], new byte[ok.QzerosBytes], new byte[ok.ScalesBytes], badMap));
        Assert.Contains("the group of input 5 is 2, outside 0..1", e.Message);
        e = Assert.Throws<ArgumentException>(() => QuantizedMatrix.FromGptq(default, Array.Empty<byte>(), Array.Empty<byte>(), Array.Empty<byte>(), default));
        Assert.Contains("not initialized", e.Message);

        // AWQ: group size 16; GEMM out features not a multiple of 8.
        var awq = new AWQ_GEMMLayout(16, 256, 16);
        e = Assert.Throws<ArgumentException>(() => QuantizedMatrix.FromAwqGemm(awq, new byte[awq.QweightBytes], new byte[awq.QzerosBytes], new byte[awq.ScalesBytes]));
        Assert.Contains("multiple of 32", e.Message);
        var gemv = new AWQ_GEMVLayout(8, 256, 16);
        e = Assert.Throws<ArgumentException>(() => QuantizedMatrix.FromAwqGemv(gemv, new byte[gemv.QweightBytes], new byte[gemv.QzerosBytes], new byte[gemv.ScalesBytes]));
        Assert.Contains("multiple of 32", e.Message);
        var awq12 = new AWQ_GEMMLayout(12, 256, 128);
        e = Assert.Throws<ArgumentException>(() => QuantizedMatrix.FromAwqGemm(awq12, new byte[awq12.QweightBytes], new byte[awq12.QzerosBytes], new byte[awq12.ScalesBytes]));
        Assert.Contains("not a multiple of 8", e.Message);

        // Ternary rows are whole 256-element blocks.
        var bitnet = new BitNetLayout(8, 384, BitNetLinearClass.Autobitlinear);
        e = Assert.Throws<ArgumentException>(() => QuantizedMatrix.FromBitNet(bitnet, new byte[bitnet.WeightBytes], new byte[bitnet.WeightScaleBytes]));
        Assert.Contains("in features 384 is not a multiple of 256", e.Message);
        var i2s = new I2_SLayout(8, 128);
        e = Assert.Throws<ArgumentException>(() => QuantizedMatrix.FromI2S(i2s, new byte[i2s.DataBytes]));
        Assert.Contains("TB2_F32", e.Message);
        var i2sOk = new I2_SLayout(8, 256);
        e = Assert.Throws<ArgumentException>(() => QuantizedMatrix.FromI2S(i2sOk, new byte[i2sOk.DataBytes - 1]));
        Assert.Equal("data", e.ParamName);
    }
}
