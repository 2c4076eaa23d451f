using System.Buffers.Binary;
using KernelGen.Kernels.MatMul;

namespace KernelGen.Kernels.Tests.MatMul;

/// <summary>
/// The stated accuracy of the integer kernels, checked against ggml itself on ggml's own vectors (weight row r paired
/// with activation row r, tests/data/vectors/ggml/*_512.bin; reference Σ w·x in float64 with ggml's dequantized w and
/// the float x). Every row stays within the kernel's bound Σ_blocks32 max|x|/254·Σ|w|; that bound is never looser than
/// the one ggml's activation format gives (Q8_0/Q8_1: the same blocks of 32; Q8_K: blocks of 256); and the typical
/// (median over rows) error is within 1.5x of ggml's SIMD vec_dot (section 8; same int8 activations for Q8_0 formats, so
/// the rest is which rounding luck the fp16 vs f32 activation scale gets). Single rows can differ either
/// way: on the OUTLIER row one weight of 1000 makes the error the rounding luck of one activation value.
/// </summary>
public sealed class GgmlDotErrorTests
{
    public static TheoryData<string> Types()
    {
        var data = new TheoryData<string>();
        foreach (string t in GgmlVectorTests.Types)
        {
            if (t != "q8_K")
            {
                data.Add(t);
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void KernelErrorIsNoLargerThanGgmlVecDot(string type)
    {
        byte[] file = File.ReadAllBytes(TestData.VectorPath(type));
        var v = TestData.ReadVectors(type);
        ReadOnlySpan<byte> s = file;
        uint flags = BinaryPrimitives.ReadUInt32LittleEndian(s[80..]);
        int actRowBytes = (int)BinaryPrimitives.ReadUInt32LittleEndian(s[76..]);
        Assert.True((flags & 1) != 0, "the file has activation and dot sections");
        int r = v.Rows, l = v.RowLength;
        int offset = (int)BinaryPrimitives.ReadUInt32LittleEndian(s[12..]) + 4 * r + 4 * r * l + r * v.RowBytes + 4 * r * l;
        if ((flags & 2) != 0)
        {
            offset += r * v.RowBytes + 4 * r * l; // sections 5a, 5b
        }
        var x = new float[r * l];
        for (int i = 0; i < x.Length; i++)
        {
            x[i] = BinaryPrimitives.ReadSingleLittleEndian(s[(offset + 4 * i)..]);
        }
        offset += 4 * r * l + r * actRowBytes; // sections 6, 7
        var dotCpu = new float[r];
        for (int i = 0; i < r; i++)
        {
            dotCpu[i] = BinaryPrimitives.ReadSingleLittleEndian(s[(offset + 4 * i)..]);
        }

        var format = Dequantizer.GetFormat((uint)v.TypeId);
        int ggmlBlock = format.ActivationFormat == "Q8_K" ? 256 : 32;
        var ours = new List<double>();
        var ggml = new List<double>();
        var interleaved = new List<double>();
        var y = new float[1];
        for (int row = 0; row < r; row++)
        {
            QuantizedKernels.MatVec(format, v.Quantized.AsSpan(row * v.RowBytes, v.RowBytes), l, 1, x.AsSpan(row * l, l), y);
            // The 8-row interleaved kernel (4-bit formats, AVX2) on the same row: its activations may be quantized per
            // 256 (ggml's own Q8_K pairing), so its bound is the one of its activation block.
            var single = QuantizedMatrix.FromRows(format, v.Quantized.AsMemory(row * v.RowBytes, v.RowBytes), l, 1).Interleaved();
            var yi = new float[1];
            single.MatVec(x.AsSpan(row * l, l), yi);
            double exact = 0, magnitude = 0;
            for (int i = 0; i < l; i++)
            {
                double p = (double)v.Dequantized[row * l + i] * x[row * l + i];
                exact += p;
                magnitude += Math.Abs(p);
            }
            if (magnitude == 0)
            {
                continue;
            }
            double error = Math.Abs(y[0] - exact);
            double bound = Bound(v.Dequantized.AsSpan(row * l, l), x.AsSpan(row * l, l), 32) + 1e-6 * magnitude;
            Assert.True(error <= bound, $"{type} row {row}: error {error:E3} > bound {bound:E3}");
            Assert.True(Bound(v.Dequantized.AsSpan(row * l, l), x.AsSpan(row * l, l), 32) <= Bound(v.Dequantized.AsSpan(row * l, l), x.AsSpan(row * l, l), ggmlBlock) * (1 + 1e-12));
            ours.Add(error / magnitude);
            ggml.Add(Math.Abs(dotCpu[row] - exact) / magnitude);
            if (single.Layout == MatrixLayout.Interleaved8)
            {
                int block = format.InterleavedActivationBlock;
                double interleavedError = Math.Abs(yi[0] - exact);
                double interleavedBound = Bound(v.Dequantized.AsSpan(row * l, l), x.AsSpan(row * l, l), block) + 1e-6 * magnitude;
                Assert.True(interleavedError <= interleavedBound, $"{type} row {row} (interleaved): error {interleavedError:E3} > bound {interleavedBound:E3}");
                Assert.True(Bound(v.Dequantized.AsSpan(row * l, l), x.AsSpan(row * l, l), block) <= Bound(v.Dequantized.AsSpan(row * l, l), x.AsSpan(row * l, l), ggmlBlock) * (1 + 1e-12));
                interleaved.Add(interleavedError / magnitude);
            }
        }
        double oursMedian = Median(ours), ggmlMedian = Median(ggml);
        Assert.True(oursMedian <= ggmlMedian * 1.5 + 1e-7, $"{type}: median kernel error {oursMedian:E3} > ggml vec_dot's {ggmlMedian:E3} (relative to Σ|w·x|)");
        if (interleaved.Count > 0)
        {
            double interleavedMedian = Median(interleaved);
            Assert.True(interleavedMedian <= ggmlMedian * 1.5 + 1e-7, $"{type}: median interleaved kernel error {interleavedMedian:E3} > ggml vec_dot's {ggmlMedian:E3}");
        }
    }

    /// <summary>Σ over activation blocks of <paramref name="block"/> elements of max|x|/254 · Σ|w|.</summary>
    private static double Bound(ReadOnlySpan<float> w, ReadOnlySpan<float> x, int block)
    {
        double bound = 0;
        for (int b = 0; b < w.Length; b += block)
        {
            double amax = 0, wsum = 0;
            for (int i = b; i < b + block; i++)
            {
                amax = Math.Max(amax, Math.Abs(x[i]));
                wsum += Math.Abs(w[i]);
            }
            bound += amax / 254 * wsum;
        }
        return bound;
    }

    private static double Median(List<double> values)
    {
        values.Sort();
        return values[values.Count / 2];
    }
}
