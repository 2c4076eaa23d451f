using KernelGen.Kernels.Generated;
using KernelGen.Kernels.MatMul;
using KernelGen.Kernels.Threading;

namespace KernelGen.Kernels.Tests.MatMul;

/// <summary>
/// The 8-row interleaved layout and its AVX2 kernels (<see cref="QuantizedMatrix.Interleaved"/>): against the float64
/// reference of the decoded weights on fresh random inputs, with row counts that cut the last group of 8, batches that
/// run both register tiles, and thread counts; and the repack's edge cases. The GPTQ/AWQ kernel rows (GQ4_*) are
/// covered through RepackTests, which interleave every repacked 4-bit layer.
/// </summary>
public sealed class InterleavedKernelTests : IDisposable
{
    private readonly KernelThreadPool _pool = new(3);

    private static bool HasAvx2Fma => System.Runtime.Intrinsics.X86.Avx2.IsSupported && System.Runtime.Intrinsics.X86.Fma.IsSupported;

    public static TheoryData<string> Formats()
    {
        var data = new TheoryData<string>();
        foreach (var f in KernelGenFormatRegistry.Formats)
        {
            if (f.Interleave8 is not null && Quantizer.IsSupported(f.Name))
            {
                data.Add(f.Name);
            }
        }
        return data;
    }

    [Fact]
    public void TheUnsigned2To6BitAndSigned8BitFormatsHaveTheInterleavedKernel()
    {
        var names = KernelGenFormatRegistry.Formats.Where(f => f.Interleave8 is not null).Select(f => f.Name).Order().ToArray();
        Assert.Equal(new[] { "GQ4_G128", "GQ4_G32", "Q4_0", "Q4_1", "Q4_K", "Q6_K", "Q8_0", "Q8_1", "TQ2_0" }, names);
        // Q4_0 and GQ4 layouts cost no extra byte; Q4_K stores its 6-bit scales and mins as bytes (+2.8 %).
        Assert.Equal(8 * 18, Q4_0Dot.InterleavedBlockBytes);
        Assert.Equal(8 * 67, GQ4_G128Dot.InterleavedBlockBytes);
        Assert.Equal(8 * 144 + 32, Q4_KDot.InterleavedBlockBytes);
        Assert.Equal(8 * 66, TQ2_0Dot.InterleavedBlockBytes);
        // Q6_K: 4-bit low planes, then the 2-bit high planes, signed sub-scales per 16 as bytes: no extra byte.
        Assert.Equal(8 * 210, Q6_KDot.InterleavedBlockBytes);
        // Q8_0: signed codes as they are (|w| times x with w's sign in the kernel).
        Assert.Equal(8 * 34, Q8_0Dot.InterleavedBlockBytes);
        // TQ1_0's base-3 digits would take 2 bits each here, 22 % more bytes than its rows: it keeps the row kernel.
        Assert.Null(Dequantizer.GetFormat("TQ1_0").Interleave8);
        // The k-quant pairs with Q8_K as in ggml, so its blocks stay in int32; the others read scales per 32.
        Assert.Equal(256, Q4_KDot.InterleavedActivationBlock);
        Assert.Equal(256, Q6_KDot.InterleavedActivationBlock);
        Assert.Equal(16, Q6_KDot.InterleavedSumSpan); // ggml's Q8_K bsums: Q6_K's offset 32 times its sub-scales per 16
        Assert.Equal(32, Q4_0Dot.InterleavedSumSpan);
        Assert.Equal(32, Q4_0Dot.InterleavedActivationBlock);
        Assert.Equal(32, GQ4_G128Dot.InterleavedActivationBlock);
    }

    [Theory]
    [MemberData(nameof(Formats))]
    public void InterleavedMatMulMatchesFloat64Reference(string name)
    {
        var format = Dequantizer.GetFormat(name);
        var random = new Random(HashCode.Combine(name.Length, name[0], name[^1]));
        foreach (var (k, n) in new[] { (Math.Max(32, format.BlockElements), 8), (3 * format.BlockElements, 37), (2 * format.BlockElements, 5) })
        {
            var rows = MatMulReference.RandomRows(format, k, n, random);
            var w = MatMulReference.Decode(format, rows, k, n);
            var plain = QuantizedMatrix.FromRows(format, rows, k, n);
            var m = plain.Interleaved();
            if (!HasAvx2Fma)
            {
                Assert.Same(plain, m); // elsewhere the row layout stays, and so do the row kernels
                continue;
            }
            Assert.Equal(MatrixLayout.Interleaved8, m.Layout);
            Assert.Equal((n + 7) / 8 * (k / format.BlockElements) * (long)format.InterleavedBlockBytes, m.StoredBytes);
            Assert.Equal(plain.WeightBytes, m.WeightBytes);
            foreach (int batch in new[] { 1, 4, 6, 9 })
            {
                var x = MatMulReference.RandomActivations(k, batch, random);
                var y = new float[batch * n];
                m.MatMul(x, batch, y);
                MatMulReference.Check(w, x, y, k, n, batch, quantizedActivations: true, format.InterleavedActivationBlock);
                var y3 = new float[batch * n];
                m.MatMul(x, batch, y3, _pool);
                Assert.Equal(y, y3);
                if (format.InterleavedActivationBlock != 32)
                {
                    continue; // activations quantized per 256 (ggml's Q8_K pairing): other sums than the rows' per-32 ones
                }
                // The same integer sums as the row kernel: only the float summation order differs.
                var yRows = new float[batch * n];
                plain.MatMul(x, batch, yRows);
                for (int b = 0; b < batch; b++)
                {
                    for (int r = 0; r < n; r++)
                    {
                        double magnitude = 0;
                        for (int i = 0; i < k; i++)
                        {
                            magnitude += Math.Abs((double)w[(long)r * k + i] * x[b * k + i]);
                        }
                        Assert.True(Math.Abs(y[b * n + r] - yRows[b * n + r]) <= 1e-5 * magnitude + 1e-30,
                            $"{name} k={k} n={n} batch {b} row {r}: {y[b * n + r]} vs rows {yRows[b * n + r]} (Σ|wx| = {magnitude:E3})");
                    }
                }
            }
        }
    }

    [Fact]
    public void NonFiniteScalesKeepTheRowLayout()
    {
        var format = Dequantizer.GetFormat("Q4_0");
        var rows = MatMulReference.RandomRows(format, 64, 9, new Random(5));
        rows[8 * 36 + 18] = 0x00;
        rows[8 * 36 + 19] = 0x7C; // row 8, block 1: d = +inf
        var m = QuantizedMatrix.FromRows(format, rows, 64, 9);
        Assert.Same(m, m.Interleaved());
    }

    [Fact]
    public void FormatsWithoutTheKernelAndInterleavedMatricesAreReturnedAsIs()
    {
        var q5 = QuantizedMatrix.FromRows("Q5_0", MatMulReference.RandomRows(Dequantizer.GetFormat("Q5_0"), 64, 8, new Random(6)), 64, 8);
        Assert.False(q5.CanInterleave); // 5-bit codes: no interleaved plan
        Assert.Same(q5, q5.Interleaved());
        var q4 = QuantizedMatrix.FromRows("Q4_K", MatMulReference.RandomRows(Dequantizer.GetFormat("Q4_K"), 256, 16, new Random(7)), 256, 16).Interleaved();
        Assert.Same(q4, q4.Interleaved());
        Assert.Equal(q4.Layout, q4.Clone().Layout);
    }

    [Fact]
    public void CallsAllocateNothingOnceWarm()
    {
        var format = Dequantizer.GetFormat("Q4_K");
        int k = 512, n = 64, batch = 5;
        var matrix = QuantizedMatrix.FromRows(format, MatMulReference.RandomRows(format, k, n, new Random(3)), k, n).Interleaved();
        Assert.Equal(HasAvx2Fma ? MatrixLayout.Interleaved8 : MatrixLayout.Rows, matrix.Layout);
        var x = MatMulReference.RandomActivations(k, batch, new Random(4));
        var y = new float[batch * n];
        matrix.MatMul(x, batch, y, _pool);
        matrix.MatVec(x.AsSpan(0, k), y, _pool);
        Assert.Equal(0, MatMulReference.FewestBytesAllocated(() =>
        {
            matrix.MatMul(x, batch, y, _pool);
            matrix.MatVec(x.AsSpan(0, k), y, _pool);
        }));
    }

    public void Dispose() => _pool.Dispose();
}
