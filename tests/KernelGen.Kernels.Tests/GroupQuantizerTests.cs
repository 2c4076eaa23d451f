using KernelGen.Kernels.Generated;

namespace KernelGen.Kernels.Tests;

/// <summary>
/// Round-to-nearest GPTQ / AWQ group quantization (<see cref="Quantizer.QuantizeGroups"/>, <see cref="Quantizer.QuantizeGptq"/>,
/// <see cref="Quantizer.QuantizeAwqGemm"/>, <see cref="Quantizer.QuantizeAwqGemv"/>): logical values in range, packing
/// through the generated encoders, decode through the generated decoders equal to a float64 reconstruction, the
/// per-element RTN error bound, idempotence, edge cases, no allocation, and the shared checkpoint vectors.
/// </summary>
public sealed class GroupQuantizerTests
{
    // |s - h| <= 2^-11 h for a normal fp16 h = fp16(s) (half an ulp, 10 stored mantissa bits).
    private const double HalfRel = 1.0 / 2048;

    internal static float[] RandomWeights(int rows, int cols, int seed)
    {
        var rng = new Random(seed);
        var w = new float[rows * cols];
        for (int n = 0; n < rows; n++)
        {
            double rowScale = 0.01 * Math.Exp(3 * rng.NextDouble());
            double shift = rng.NextDouble() < 0.2 ? rowScale * (rng.NextDouble() - 0.5) : 0; // some off-centre rows
            for (int k = 0; k < cols; k++)
            {
                double u1 = 1 - rng.NextDouble(), u2 = rng.NextDouble();
                double gauss = Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
                if (rng.NextDouble() < 0.01) gauss *= 6; // outliers
                w[n * cols + k] = (float)(gauss * rowScale + shift);
            }
        }
        return w;
    }

    private static float Half(ushort h) => (float)BitConverter.UInt16BitsToHalf(h);

    public static TheoryData<int, bool, int, int, GPTQCheckpoint> GptqCases()
    {
        var data = new TheoryData<int, bool, int, int, GPTQCheckpoint>();
        foreach (int bits in new[] { 2, 3, 4, 8 })
            foreach (bool sym in new[] { true, false })
                foreach (var (inF, g) in new[] { (96, 32), (100, 32), (96, -1), (100, -1) })
                    foreach (var cp in new[] { GPTQCheckpoint.Gptq, GPTQCheckpoint.GptqV2 })
                        data.Add(bits, sym, inF, g, cp);
        return data;
    }

    /// <summary>
    /// Asserts the RTN bound element by element. With h the stored fp16 scale and s the fp32 scale it was rounded from:
    /// an unclamped code is the nearest grid point, |w − ŵ| ≤ h/2 (+ the fp32 division's rounding, ≤ |w|·2^-24 in units
    /// of h); a clamped one lies at most s/2 + maxq·|s − h| outside the grid (the range [xmin, xmax] is covered by the
    /// fp32 grid up to s/2), and |s − h| ≤ 2^-11·h. Returns how many elements were clamped.
    /// </summary>
    internal static int AssertRtnBound(ReadOnlySpan<float> w, ReadOnlySpan<float> decoded, ReadOnlySpan<int> codes, ReadOnlySpan<ushort> scales,
        int outFeatures, int inFeatures, int groupSize, int maxq, string context, Func<int, int, bool>? groupApplies = null)
    {
        if (groupSize == -1) groupSize = inFeatures;
        int groups = (inFeatures + groupSize - 1) / groupSize;
        int clamped = 0;
        for (int n = 0; n < outFeatures; n++)
        {
            for (int k = 0; k < inFeatures; k++)
            {
                int g = k / groupSize;
                if (groupApplies is not null && !groupApplies(n, g)) continue;
                int i = n * inFeatures + k;
                Assert.False(float.IsNaN(decoded[i]) || float.IsInfinity(decoded[i]), $"{context}: non-finite output at ({n}, {k})");
                double h = Half(scales[n * groups + g]);
                double x = w[i], err = Math.Abs(x - decoded[i]);
                double fpSlack = Math.Abs(x) * Math.Pow(2, -22);
                bool inside = codes[i] > 0 && codes[i] < maxq;
                double bound = inside ? h / 2 + fpSlack : h * (0.5 + maxq * HalfRel) / (1 - HalfRel) + fpSlack + h * Math.Pow(2, -18) * maxq;
                if (!inside) clamped++;
                if (err > bound)
                {
                    Assert.Fail($"{context}: |w - ŵ| at ({n}, {k}) = {err:G9} > bound {bound:G9} (w = {x:G9}, ŵ = {decoded[i]:G9}, q = {codes[i]}, h = {h:G9})");
                }
            }
        }
        return clamped;
    }

    [Theory]
    [MemberData(nameof(GptqCases))]
    public void Gptq_rtn_packs_through_the_generated_encoder_and_stays_within_the_rtn_bound(int bits, bool sym, int inF, int groupSize, GPTQCheckpoint checkpoint)
    {
        const int outF = 37;
        int maxq = (1 << bits) - 1;
        var w = RandomWeights(outF, inF, seed: bits * 1000 + inF + (sym ? 7 : 0) + groupSize);
        var layout = new GPTQLayout(outF, inF, bits, groupSize, checkpoint);
        int groups = (int)layout.GroupCount, gs = layout.GroupSize;
        bool v1 = checkpoint == GPTQCheckpoint.Gptq;

        // Logical values.
        var codes = new int[outF * inF];
        var zeros = new int[outF * groups];
        var scales = new ushort[outF * groups];
        Quantizer.QuantizeGroups(w, outF, inF, groupSize, bits, sym ? GroupQuantScheme.Symmetric : GroupQuantScheme.Asymmetric,
            codes, zeros, scales, zeroPointAtLeastOne: v1);
        Assert.All(codes, q => Assert.InRange(q, 0, maxq));
        Assert.All(zeros, z => Assert.InRange(z, v1 ? 1 : 0, maxq));
        if (sym) Assert.All(zeros, z => Assert.Equal(1 << (bits - 1), z));
        Assert.All(scales, h => Assert.True(h is > 0 and <= 0x7BFF, $"scale 0x{h:X4}"));

        // Packed, with caller scratch, and with rented scratch: identical bytes.
        byte[] qweight = new byte[layout.QweightBytes], qzeros = new byte[layout.QzerosBytes], sc = new byte[layout.ScalesBytes], gIdx = new byte[layout.GIdxBytes];
        Quantizer.QuantizeGptq(w, layout, sym, qweight, qzeros, sc, gIdx, new int[Quantizer.LinearScratchLength(layout)]);
        byte[] qweight2 = new byte[layout.QweightBytes], qzeros2 = new byte[layout.QzerosBytes], sc2 = new byte[layout.ScalesBytes];
        Quantizer.QuantizeGptq(w, layout, sym, qweight2, qzeros2, sc2, Span<byte>.Empty);
        Assert.Equal(qweight, qweight2);
        Assert.Equal(qzeros, qzeros2);
        Assert.Equal(sc, sc2);

        // The stored fields are the logical values (v1: zero - 1), g_idx is trivial, and the layer never looks damaged.
        var q = new int[outF * inF];
        var qz = new int[outF * groups];
        var s = new ushort[outF * groups];
        var g = new int[inF];
        GPTQCodec.DecodeFields(layout, qweight, qzeros, sc, gIdx, q, qz, s, g);
        Assert.Equal(codes, q);
        Assert.Equal(zeros.Select(z => v1 ? z - 1 : z).ToArray(), qz);
        Assert.Equal(scales, s);
        Assert.Equal(Enumerable.Range(0, inF).Select(k => k / gs).ToArray(), g);
        Assert.Equal(0, GPTQCodec.CheckWarnings(layout, qweight, qzeros, sc, gIdx, null));
        if (sym)
        {
            // FORMATS.md §9.1: sym qzeros words are 0x55555555 / 0x77777777 / 0x7F7F7F7F (v1) when every field is full.
            uint expectedWord = bits switch { 2 => 0x55555555u, 4 => 0x77777777u, 8 => 0x7F7F7F7Fu, _ => 0u };
            int fullWords = outF * bits / 32, wordsPerRow = (int)layout.QzerosColumns;
            if (v1 && bits != 3)
                for (int r = 0; r < groups; r++)
                    for (int c = 0; c < fullWords; c++)
                        Assert.Equal(expectedWord, BitConverter.ToUInt32(qzeros, 4 * (r * wordsPerRow + c)));
        }

        // Decoding through every generated path equals the float64 reconstruction h·(q − z) (exact in fp32).
        var reference = new float[outF * inF];
        for (int n = 0; n < outF; n++)
            for (int k = 0; k < inF; k++)
            {
                int gi = n * groups + k / gs;
                reference[n * inF + k] = (float)((double)Half(scales[gi]) * (codes[n * inF + k] - zeros[gi]));
            }
        foreach (var path in QuantLayers.DecodePaths)
        {
            QuantLayers.AssertBitwise(reference, QuantLayers.DecodeGptq(path, layout, qweight, qzeros, sc, gIdx), $"GPTQ b{bits} {(sym ? "sym" : "asym")} g{groupSize} {checkpoint} {path}");
            QuantLayers.AssertBitwise(reference, QuantLayers.DecodeGptq(path, layout, qweight, qzeros, sc, Array.Empty<byte>()), $"GPTQ without g_idx {path}");
        }

        int clamped = AssertRtnBound(w, reference, codes, scales, outF, inF, groupSize, maxq, $"GPTQ b{bits} {(sym ? "sym" : "asym")} g{groupSize} {checkpoint}");
        Assert.True(clamped < w.Length / 2);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(8)]
    public void Asymmetric_requantization_of_the_decoded_weights_reproduces_codes_zeros_and_scales(int bits)
    {
        // Where a group's grid is fully used (min(q ∪ {z}) = 0 and max(q ∪ {z}) = maxq), its decoded values span exactly
        // [−z·h, (maxq − z)·h]: the re-quantized scale is h exactly, the zero point z and every code q (for AutoAWQ's
        // formula, whose range omits 0, the codes alone must reach 0 and maxq). Symmetric
        // quantization is not idempotent in general (its grid −2^(b−1)..2^(b−1)−1 is asymmetric, so the decoded
        // max|ŵ| gives a different 2·max|ŵ|/maxq), so only the asymmetric schemes are checked.
        foreach (var scheme in new[] { GroupQuantScheme.Asymmetric, GroupQuantScheme.AutoAwq })
        foreach (bool v1 in new[] { false, true })
        {
            if (scheme == GroupQuantScheme.AutoAwq && v1) continue;
            const int outF = 37, inF = 100, gs = 32;
            int maxq = (1 << bits) - 1, groups = 4;
            var w = RandomWeights(outF, inF, 77 + bits);
            var codes = new int[outF * inF];
            var zeros = new int[outF * groups];
            var scales = new ushort[outF * groups];
            Quantizer.QuantizeGroups(w, outF, inF, gs, bits, scheme, codes, zeros, scales, zeroPointAtLeastOne: v1);
            var decoded = new float[w.Length];
            for (int i = 0; i < w.Length; i++)
            {
                int gi = i / inF * groups + i % inF / gs;
                decoded[i] = Half(scales[gi]) * (codes[i] - zeros[gi]);
            }
            var codes2 = new int[codes.Length];
            var zeros2 = new int[zeros.Length];
            var scales2 = new ushort[scales.Length];
            Quantizer.QuantizeGroups(decoded, outF, inF, gs, bits, scheme, codes2, zeros2, scales2, zeroPointAtLeastOne: v1);
            int qualifying = 0;
            for (int n = 0; n < outF; n++)
                for (int g = 0; g < groups; g++)
                {
                    // AutoAWQ's range is [min ŵ, max ŵ] without 0: there the codes alone must reach 0 and maxq.
                    int gi = n * groups + g;
                    int lo = scheme == GroupQuantScheme.AutoAwq ? maxq : zeros[gi], hi = scheme == GroupQuantScheme.AutoAwq ? 0 : zeros[gi];
                    int k0 = g * gs, len = Math.Min(gs, inF - k0);
                    for (int k = k0; k < k0 + len; k++) { lo = Math.Min(lo, codes[n * inF + k]); hi = Math.Max(hi, codes[n * inF + k]); }
                    if (lo != 0 || hi != maxq) continue;
                    qualifying++;
                    Assert.True(scales[gi] == scales2[gi], $"{scheme} v1={v1} n={n} g={g} z={zeros[gi]} z2={zeros2[gi]} h={scales[gi]:X4} h2={scales2[gi]:X4} codes={string.Join(",", codes.AsSpan(n * inF + k0, len).ToArray())}");
                    Assert.Equal(zeros[gi], zeros2[gi]);
                    Assert.Equal(codes.AsSpan(n * inF + k0, len).ToArray(), codes2.AsSpan(n * inF + k0, len).ToArray());
                }
            Assert.True(qualifying > outF * groups / 2, $"{scheme} v1={v1}: only {qualifying} of {outF * groups} groups use their full grid");
        }
    }

    [Fact]
    public void Symmetric_requantization_stays_within_the_rtn_bound_of_the_first_decode()
    {
        const int outF = 37, inF = 96, gs = 32, groups = 3;
        foreach (int bits in new[] { 2, 3, 4, 8 })
        {
            int maxq = (1 << bits) - 1;
            var w = RandomWeights(outF, inF, 5 + bits);
            var codes = new int[outF * inF];
            var zeros = new int[outF * groups];
            var scales = new ushort[outF * groups];
            Quantizer.QuantizeGroups(w, outF, inF, gs, bits, GroupQuantScheme.Symmetric, codes, zeros, scales);
            var decoded = new float[w.Length];
            for (int i = 0; i < w.Length; i++) decoded[i] = Half(scales[i / inF * groups + i % inF / gs]) * (codes[i] - zeros[i / inF * groups + i % inF / gs]);
            Quantizer.QuantizeGroups(decoded, outF, inF, gs, bits, GroupQuantScheme.Symmetric, codes, zeros, scales);
            var decoded2 = new float[w.Length];
            for (int i = 0; i < w.Length; i++) decoded2[i] = Half(scales[i / inF * groups + i % inF / gs]) * (codes[i] - zeros[i / inF * groups + i % inF / gs]);
            AssertRtnBound(decoded, decoded2, codes, scales, outF, inF, gs, maxq, $"sym b{bits} second pass");
        }
    }

    [Theory]
    [InlineData(32, false, GroupQuantScheme.Asymmetric, GroupCodeScale.Fp16)]
    [InlineData(32, true, GroupQuantScheme.Asymmetric, GroupCodeScale.Fp16)]
    [InlineData(96, false, GroupQuantScheme.Asymmetric, GroupCodeScale.Fp32)]
    [InlineData(96, true, GroupQuantScheme.Asymmetric, GroupCodeScale.Fp16)]
    [InlineData(32, false, GroupQuantScheme.AutoAwq, GroupCodeScale.Fp32)]
    [InlineData(32, true, GroupQuantScheme.AutoAwq, GroupCodeScale.Fp16)]
    [InlineData(32, true, GroupQuantScheme.Symmetric, GroupCodeScale.Fp16)]
    public void Awq_rtn_packs_gemm_and_gemv_and_decodes_to_the_logical_values(int groupSize, bool gemv, GroupQuantScheme scheme, GroupCodeScale codeScale)
    {
        const int outF = 40, inF = 96; // AWQ packs 8 outputs (GEMM) / 8 inputs (GEMV) per word; 3 groups of 32 leave GEMV scale padding
        int groups = inF / groupSize;
        var w = RandomWeights(outF, inF, 4242 + groupSize);
        var codes = new int[outF * inF];
        var zeros = new int[outF * groups];
        var scales = new ushort[outF * groups];
        Quantizer.QuantizeGroups(w, outF, inF, groupSize, 4, scheme, codes, zeros, scales, codeScale);
        Assert.All(codes, q => Assert.InRange(q, 0, 15));
        Assert.All(zeros, z => Assert.InRange(z, 0, 15));

        var q = new int[outF * inF];
        var z2 = new int[outF * groups];
        var s2 = new ushort[outF * groups];
        float[][] decodedPaths;
        if (gemv)
        {
            var layout = new AWQ_GEMVLayout(outF, inF, groupSize);
            byte[] qw = new byte[layout.QweightBytes], qzb = new byte[layout.QzerosBytes], sc = new byte[layout.ScalesBytes];
            Quantizer.QuantizeAwqGemv(w, layout, qw, qzb, sc, new int[Quantizer.LinearScratchLength(layout)], scheme, codeScale);
            AWQ_GEMVCodec.DecodeFields(layout, qw, qzb, sc, q, z2, s2);
            // Scale columns past the group count are zero padding.
            for (int n = 0; n < outF; n++)
                for (long c = groups; c < layout.ScalesColumns; c++)
                    Assert.Equal(0, BitConverter.ToUInt16(sc, (int)((n * layout.ScalesColumns + c) * 2)));
            decodedPaths = QuantLayers.DecodePaths.Select(p => QuantLayers.DecodeAwqGemv(p, layout, qw, qzb, sc)).ToArray();
        }
        else
        {
            var layout = new AWQ_GEMMLayout(outF, inF, groupSize);
            byte[] qw = new byte[layout.QweightBytes], qzb = new byte[layout.QzerosBytes], sc = new byte[layout.ScalesBytes];
            Quantizer.QuantizeAwqGemm(w, layout, qw, qzb, sc, default, scheme, codeScale);
            AWQ_GEMMCodec.DecodeFields(layout, qw, qzb, sc, q, z2, s2);
            decodedPaths = QuantLayers.DecodePaths.Select(p => QuantLayers.DecodeAwqGemm(p, layout, qw, qzb, sc)).ToArray();
        }
        Assert.Equal(codes, q);
        Assert.Equal(zeros, z2);
        Assert.Equal(scales, s2);

        var reference = new float[outF * inF];
        for (int i = 0; i < reference.Length; i++)
        {
            int gi = i / inF * groups + i % inF / groupSize;
            reference[i] = (float)((double)Half(scales[gi]) * (codes[i] - zeros[gi]));
        }
        foreach (var decoded in decodedPaths) QuantLayers.AssertBitwise(reference, decoded, $"AWQ {(gemv ? "gemv" : "gemm")} g{groupSize} {scheme}");

        // AutoAWQ's verbatim formula only meets the RTN bound on groups that straddle 0 (a one-signed group's range
        // does not contain the grid's 0); the other schemes on every group.
        bool Straddles(int n, int g)
        {
            float lo = float.MaxValue, hi = float.MinValue;
            for (int k = g * groupSize; k < (g + 1) * groupSize; k++) { lo = Math.Min(lo, w[n * inF + k]); hi = Math.Max(hi, w[n * inF + k]); }
            return lo <= 0 && hi >= 0;
        }
        Func<int, int, bool>? applies = scheme == GroupQuantScheme.AutoAwq ? Straddles : null;
        if (codeScale == GroupCodeScale.Fp16)
        {
            AssertRtnBound(w, reference, codes, scales, outF, inF, groupSize, 15, $"AWQ {scheme}", applies);
        }
        else
        {
            // Codes chosen with the fp32 scale: every element within s/2 + 15·|s − h| of its reconstruction.
            for (int i = 0; i < w.Length; i++)
            {
                if (applies is not null && !applies(i / inF, i % inF / groupSize)) continue;
                double h = Half(scales[i / inF * groups + i % inF / groupSize]);
                Assert.True(Math.Abs(w[i] - reference[i]) <= h * (0.5 + 15 * HalfRel) / (1 - HalfRel) + Math.Abs(w[i]) * 1e-6, $"element {i}");
            }
        }
    }

    [Fact]
    public void Fp16_code_scale_is_never_farther_than_fp32_code_scale()
    {
        const int outF = 37, inF = 96;
        foreach (int bits in new[] { 2, 3, 4, 8 })
        {
            var w = RandomWeights(outF, inF, 99 + bits);
            var c16 = new int[w.Length];
            var c32 = new int[w.Length];
            var z16 = new int[outF * 3];
            var z32 = new int[outF * 3];
            var s16 = new ushort[outF * 3];
            var s32 = new ushort[outF * 3];
            Quantizer.QuantizeGroups(w, outF, inF, 32, bits, GroupQuantScheme.Asymmetric, c16, z16, s16, GroupCodeScale.Fp16);
            Quantizer.QuantizeGroups(w, outF, inF, 32, bits, GroupQuantScheme.Asymmetric, c32, z32, s32, GroupCodeScale.Fp32);
            Assert.Equal(s16, s32);
            Assert.Equal(z16, z32);
            double e16 = 0, e32 = 0;
            for (int i = 0; i < w.Length; i++)
            {
                int gi = i / inF * 3 + i % inF / 32;
                double a = Math.Abs(w[i] - Half(s16[gi]) * (c16[i] - z16[gi]));
                double b = Math.Abs(w[i] - Half(s32[gi]) * (c32[i] - z32[gi]));
                Assert.True(a <= b + Math.Abs(w[i]) * 1e-7 + 1e-12, $"b{bits} element {i}: fp16-scale code error {a} > fp32-scale code error {b}");
                e16 += a * a;
                e32 += b * b;
            }
            Assert.True(e16 <= e32);
        }
    }

    [Fact]
    public void Edge_cases_all_zero_constant_one_signed_and_tiny_groups_are_finite_and_within_the_bound()
    {
        const int inF = 64, gs = 32, groups = 2;
        var rows = new List<float[]>
        {
            new float[inF],                                                                 // all zero
            Enumerable.Repeat(0.37f, inF).ToArray(),                                       // max == min > 0
            Enumerable.Repeat(-2.5f, inF).ToArray(),                                       // max == min < 0
            Enumerable.Range(0, inF).Select(k => k == 5 || k == 40 ? 1.25f : 0f).ToArray(), // one non-zero per group
            Enumerable.Range(0, inF).Select(k => 0.1f + 0.01f * k).ToArray(),              // all positive: asym zero point 0
            Enumerable.Range(0, inF).Select(k => -0.3f - 0.02f * k).ToArray(),             // all negative: zero point maxq
            Enumerable.Range(0, inF).Select(k => (k % 3 - 1) * 1e-9f).ToArray(),           // scale underflows fp16
            Enumerable.Range(0, inF).Select(k => k < 32 ? 0f : 1e-3f * (k - 40)).ToArray(), // zero group next to a live one
        };
        int outF = rows.Count;
        var w = rows.SelectMany(r => r).ToArray();
        foreach (int bits in new[] { 2, 3, 4, 8 })
        foreach (var scheme in new[] { GroupQuantScheme.Symmetric, GroupQuantScheme.Asymmetric })
        foreach (bool v1 in new[] { false, true })
        {
            int maxq = (1 << bits) - 1;
            string ctx = $"b{bits} {scheme} v1={v1}";
            var layout = new GPTQLayout(outF, inF, bits, gs, v1 ? GPTQCheckpoint.Gptq : GPTQCheckpoint.GptqV2);
            byte[] qweight = new byte[layout.QweightBytes], qzeros = new byte[layout.QzerosBytes], sc = new byte[layout.ScalesBytes];
            Quantizer.QuantizeGptq(w, layout, scheme == GroupQuantScheme.Symmetric, qweight, qzeros, sc, Span<byte>.Empty);
            var decoded = QuantLayers.DecodeGptq("DecodeRows", layout, qweight, qzeros, sc, Array.Empty<byte>());
            Assert.All(decoded, v => Assert.True(float.IsFinite(v), ctx));
            Assert.Equal(0, GPTQCodec.CheckWarnings(layout, qweight, qzeros, sc, Array.Empty<byte>(), null));

            var codes = new int[w.Length];
            var zeros = new int[outF * groups];
            var scales = new ushort[outF * groups];
            Quantizer.QuantizeGroups(w, outF, inF, gs, bits, scheme, codes, zeros, scales, zeroPointAtLeastOne: v1);
            if (v1) Assert.All(zeros, z => Assert.True(z >= 1, ctx));

            // All-zero groups decode to exact zeros.
            foreach (var (n, g) in new[] { (0, 0), (0, 1), (7, 0) })
                for (int k = g * gs; k < (g + 1) * gs; k++) Assert.Equal(0f, decoded[n * inF + k]);

            // The fp16-underflow row decodes to zeros (error = |w| ≤ 1e-9); every other row meets the RTN bound.
            for (int k = 0; k < inF; k++) Assert.True(Math.Abs(decoded[6 * inF + k] - w[6 * inF + k]) <= 1e-9, ctx);
            AssertRtnBound(w, decoded, codes, scales, outF, inF, gs, maxq, ctx, (n, _) => n != 6);

            if (scheme == GroupQuantScheme.Asymmetric)
            {
                // The all-positive row has zero point 0 in v2; v1 moves it to 1 with s = xmax / (maxq − 1).
                Assert.Equal(v1 ? 1 : 0, zeros[4 * groups]);
                // The all-negative row has zero point maxq (stored as maxq − 1 in v1: not the damaged all-ones field).
                Assert.Equal(maxq, zeros[5 * groups]);
                // Constant groups: within the bound already asserted; the constant is reproduced to fp16 precision.
                Assert.True(Math.Abs(decoded[inF] - 0.37f) <= 0.37 * maxq * HalfRel * 2, ctx);
                Assert.True(Math.Abs(decoded[2 * inF] + 2.5f) <= 2.5 * maxq * HalfRel * 2, ctx);
            }
        }

        // AutoAWQ's verbatim formula: an all-zero group is s = 1e-5/15, z = 0, codes 0 -> exact zeros.
        var awqCodes = new int[w.Length];
        var awqZeros = new int[outF * groups];
        var awqScales = new ushort[outF * groups];
        Quantizer.QuantizeGroups(w, outF, inF, gs, 4, GroupQuantScheme.AutoAwq, awqCodes, awqZeros, awqScales, GroupCodeScale.Fp32);
        Assert.Equal(0, awqZeros[0]);
        Assert.Equal(BitConverter.HalfToUInt16Bits((Half)(1e-5f / 15)), awqScales[0]);
        Assert.All(awqCodes.AsSpan(0, inF).ToArray(), c => Assert.Equal(0, c));
    }

    [Fact]
    public void Packed_quantizers_allocate_nothing_with_caller_scratch_or_pooled_scratch()
    {
        const int outF = 40, inF = 96;
        var w = RandomWeights(outF, inF, 1);
        var gptq = new GPTQLayout(outF, inF, 4, 32, GPTQCheckpoint.Gptq);
        var gemm = new AWQ_GEMMLayout(outF, inF, 32);
        var gemv = new AWQ_GEMVLayout(outF, inF, 32);
        var bitnet = new BitNetLayout(outF, inF, BitNetLinearClass.Autobitlinear);
        var i2s = new I2_SLayout(outF, inF);
        var scratch = new int[new[] { Quantizer.LinearScratchLength(gptq), Quantizer.LinearScratchLength(gemm), Quantizer.LinearScratchLength(gemv), Quantizer.LinearScratchLength(bitnet), Quantizer.LinearScratchLength(i2s) }.Max()];
        byte[] a = new byte[gptq.QweightBytes], b = new byte[gptq.QzerosBytes], c = new byte[gptq.ScalesBytes], d = new byte[gptq.GIdxBytes];
        byte[] ma = new byte[gemm.QweightBytes], mb = new byte[gemm.QzerosBytes], mc = new byte[gemm.ScalesBytes];
        byte[] va = new byte[gemv.QweightBytes], vb = new byte[gemv.QzerosBytes], vc = new byte[gemv.ScalesBytes];
        byte[] ba = new byte[bitnet.WeightBytes], bb = new byte[bitnet.WeightScaleBytes], ia = new byte[i2s.DataBytes];

        void RunAll(Span<int> s)
        {
            Quantizer.QuantizeGptq(w, gptq, false, a, b, c, d, s);
            Quantizer.QuantizeAwqGemm(w, gemm, ma, mb, mc, s);
            Quantizer.QuantizeAwqGemv(w, gemv, va, vb, vc, s);
            Quantizer.QuantizeBitNet(w, bitnet, ba, bb, s);
            Quantizer.QuantizeI2S(w, i2s, ia, s);
        }

        RunAll(scratch);
        RunAll(default);
        long before = GC.GetAllocatedBytesForCurrentThread();
        RunAll(scratch);
        long withScratch = GC.GetAllocatedBytesForCurrentThread() - before;
        // The shared pool may drop its cached arrays when a gen-2 GC trims it; the best of three calls shows the steady state.
        long pooled = long.MaxValue;
        for (int attempt = 0; attempt < 3 && pooled != 0; attempt++)
        {
            before = GC.GetAllocatedBytesForCurrentThread();
            RunAll(default);
            pooled = Math.Min(pooled, GC.GetAllocatedBytesForCurrentThread() - before);
        }
        Assert.Equal(0, withScratch);
        Assert.Equal(0, pooled);
    }

    [Fact]
    public void Awq_vector_requantized_from_its_dequantized_weight_reproduces_the_checkpoint_bytes()
    {
        string dir = Path.Combine(QuantLayers.QuantRoot, "awq", "awq_gemm_b4_g128_512x256");
        const string layer = "model.layers.0.self_attn.q_proj.";
        var model = QuantLayers.ReadSafetensors(Path.Combine(dir, "model.safetensors"));
        var reference = QuantLayers.ReadSafetensors(Path.Combine(dir, "reference.safetensors"));
        var wdq = QuantLayers.Floats(reference["weight_dequant"].Data);
        int outF = (int)reference["weight_dequant"].Shape[0], inF = (int)reference["weight_dequant"].Shape[1];
        var layout = new AWQ_GEMMLayout(outF, inF, 128);
        foreach (var scheme in new[] { GroupQuantScheme.Asymmetric, GroupQuantScheme.AutoAwq })
        foreach (var codeScale in new[] { GroupCodeScale.Fp16, GroupCodeScale.Fp32 })
        {
            byte[] qw = new byte[layout.QweightBytes], qz = new byte[layout.QzerosBytes], sc = new byte[layout.ScalesBytes];
            Quantizer.QuantizeAwqGemm(wdq, layout, qw, qz, sc, default, scheme, codeScale);
            Assert.Equal(model[layer + "scales"].Data, sc);
            Assert.Equal(model[layer + "qzeros"].Data, qz);
            Assert.Equal(model[layer + "qweight"].Data, qw);
        }
    }

    [Theory]
    [InlineData("gptq_b3_g128_asym_act0_512x128")]
    [InlineData("gptq_b4_g128_asym_act0_512x128")]
    public void Gptq_vector_groups_that_use_their_full_grid_requantize_to_the_checkpoint_fields(string folder)
    {
        // The GPTQ vectors come from real GPTQ (error feedback), not RTN; but a group whose codes reach both 0 and maxq
        // has a decoded range of exactly [−z·h, (maxq − z)·h], so RTN on weight_dequant must give back its scale, zero
        // point and codes, through the v1 packing (including 3-bit's 96-bit streams).
        string dir = Path.Combine(QuantLayers.QuantRoot, "gptq", folder);
        const string layer = "model.layers.0.self_attn.q_proj.";
        var model = QuantLayers.ReadSafetensors(Path.Combine(dir, "model.safetensors"));
        var reference = QuantLayers.ReadSafetensors(Path.Combine(dir, "reference.safetensors"));
        var config = QuantLayers.Json(Path.Combine(dir, "quantize_config.json"));
        int bits = config.GetProperty("bits").GetInt32(), maxq = (1 << bits) - 1;
        int outF = (int)model[layer + "qweight"].Shape[1], inF = (int)model[layer + "g_idx"].Shape[0];
        var layout = new GPTQLayout(outF, inF, bits, config.GetProperty("group_size").GetInt32(), GPTQCheckpoint.Gptq);
        int groups = (int)layout.GroupCount, gs = layout.GroupSize;
        var wdq = QuantLayers.Floats(reference["weight_dequant"].Data);

        byte[] qw = new byte[layout.QweightBytes], qz = new byte[layout.QzerosBytes], sc = new byte[layout.ScalesBytes], gi = new byte[layout.GIdxBytes];
        Quantizer.QuantizeGptq(wdq, layout, false, qw, qz, sc, gi);
        Assert.Equal(model[layer + "g_idx"].Data, gi); // act0: the trivial map

        var q0 = new int[outF * inF]; var z0 = new int[outF * groups]; var s0 = new ushort[outF * groups]; var g0 = new int[inF];
        var q1 = new int[outF * inF]; var z1 = new int[outF * groups]; var s1 = new ushort[outF * groups]; var g1 = new int[inF];
        GPTQCodec.DecodeFields(layout, model[layer + "qweight"].Data, model[layer + "qzeros"].Data, model[layer + "scales"].Data, model[layer + "g_idx"].Data, q0, z0, s0, g0);
        GPTQCodec.DecodeFields(layout, qw, qz, sc, gi, q1, z1, s1, g1);
        int full = 0;
        for (int n = 0; n < outF; n++)
            for (int g = 0; g < groups; g++)
            {
                int zero = z0[n * groups + g] + 1, lo = zero, hi = zero;
                for (int k = g * gs; k < (g + 1) * gs; k++) { lo = Math.Min(lo, q0[n * inF + k]); hi = Math.Max(hi, q0[n * inF + k]); }
                if (lo != 0 || hi != maxq) continue;
                full++;
                Assert.Equal(s0[n * groups + g], s1[n * groups + g]);
                Assert.Equal(z0[n * groups + g], z1[n * groups + g]);
                Assert.Equal(q0.AsSpan(n * inF + g * gs, gs).ToArray(), q1.AsSpan(n * inF + g * gs, gs).ToArray());
            }
        Assert.True(full > 0, "no group uses its full grid");

        // Every group, full grid or not, is re-quantized within the RTN bound of weight_dequant.
        var decoded = QuantLayers.DecodeGptq("DecodeRows", layout, qw, qz, sc, gi);
        AssertRtnBound(wdq, decoded, q1, s1, outF, inF, gs, maxq, folder);
    }
}
