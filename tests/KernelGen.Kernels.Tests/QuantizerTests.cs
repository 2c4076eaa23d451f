using System.Buffers.Binary;
using System.Text;
using KernelGen.Kernels.Generated;

namespace KernelGen.Kernels.Tests;

/// <summary>
/// The quantizers reproduce ggml's reference quantizer byte for byte (section 3 of the vector files is
/// <c>ggml_quantize_chunk</c>'s output for the section-2 inputs), and quantize → dequantize stays within ggml's own
/// round-trip tolerances on fresh random data.
/// </summary>
public class QuantizerTests
{
    public static TheoryData<string> VectorFiles()
    {
        var data = new TheoryData<string>();
        foreach (string f in Directory.GetFiles(Path.Combine(TestData.RepoRoot, "tests", "data", "vectors", "ggml"), "*.bin").Order()) data.Add(f);
        // The 4096-element rows live only in ../shared (too large to ship); use them when present.
        string shared = Path.GetFullPath(Path.Combine(TestData.RepoRoot, "..", "shared", "vectors", "ggml"));
        if (Directory.Exists(shared))
            foreach (string f in Directory.GetFiles(shared, "*_4096.bin").Order()) data.Add(f);
        return data;
    }

    [Theory]
    [MemberData(nameof(VectorFiles))]
    public void ReproducesGgmlQuantizeChunkBytes(string file)
    {
        var v = QuantVectors.Read(file);
        var got = new byte[v.Quantized.Length];
        Quantizer.Quantize(v.TypeId, v.Input, got);
        AssertSameBlocks(v, v.Quantized, got, "ggml_quantize_chunk");
    }

    [Fact]
    public void Iq4NlRefVariantReproducesQuantizeRowRef()
    {
        // quantize_row_iq4_nl_ref runs without the scale search (ntry = -1): section 5a. Its all-zero blocks leave the
        // codes uninitialised in ggml, so only their scale bytes are compared.
        var v = QuantVectors.Read(Path.Combine(TestData.RepoRoot, "tests", "data", "vectors", "ggml", "iq4_nl_512.bin"));
        Assert.NotNull(v.QuantizedRef);
        var got = new byte[v.Quantized.Length];
        for (int b = 0; b < got.Length / 18; b++)
            Quantization.Iq4Quantizers.IQ4_NL(v.Input.AsSpan(32 * b, 32), got.AsSpan(18 * b, 18), ntry: -1);
        for (int b = 0; b < got.Length / 18; b++)
        {
            var want = v.QuantizedRef.AsSpan(18 * b, 18);
            bool zeroScale = want[0] == 0 && want[1] == 0;
            Assert.True(zeroScale ? want[..2].SequenceEqual(got.AsSpan(18 * b, 2)) : want.SequenceEqual(got.AsSpan(18 * b, 18)), $"block {b} differs");
        }
    }

    /// <summary>ggml test-quantize-fns tolerances for the total round-trip error, measured as ggml does: sqrt(Σ(x−y)²) / n.</summary>
    public static TheoryData<string, double, double> RoundTripBounds() => new()
    {
        // format, ggml's total-error bound on its cosine data, relative RMS bound on uniform [-3, 3) data (by bit width)
        { "Q4_0", 0.002, 0.12 }, { "Q4_1", 0.002, 0.1 }, { "Q5_0", 0.002, 0.06 }, { "Q5_1", 0.002, 0.05 },
        { "Q8_0", 0.002, 0.005 }, { "Q8_1", 0.002, 0.005 }, { "Q2_K", 0.0075, 0.4 }, { "Q3_K", 0.004, 0.2 },
        { "Q4_K", 0.002, 0.1 }, { "Q5_K", 0.002, 0.05 }, { "Q6_K", 0.002, 0.025 }, { "Q8_K", 0.002, 0.005 },
        { "IQ4_NL", 0.002, 0.12 }, { "IQ4_XS", 0.002, 0.12 }, { "TQ1_0", 0.01, 0.6 }, { "TQ2_0", 0.01, 0.6 },
        { "F16", 0.0001, 0.001 }, { "BF16", 0.0001, 0.005 }, { "F32", 0, 0 },
    };

    [Theory]
    [MemberData(nameof(RoundTripBounds))]
    public void RoundTripErrorWithinGgmlTolerance(string format, double bound, double relativeBound)
    {
        // ggml's test data: 0.1 + 2 cos(i + offset), 4096 elements (test-quantize-fns generate_data).
        const int n = 4096;
        var x = new float[n];
        for (int i = 0; i < n; i++) x[i] = 0.1f + 2 * MathF.Cos(i + 0.5f);
        var q = new byte[Quantizer.QuantizedBytes(format, n)];
        Quantizer.Quantize(format, x, q);
        var y = new float[n];
        Dequantizer.Dequantize(format, q, y);
        double err = 0;
        for (int i = 0; i < n; i++) err += (x[i] - y[i]) * (double)(x[i] - y[i]);
        double total = Math.Sqrt(err) / n; // ggml's array_rmse
        Assert.True(total <= bound, $"{format}: total quantization error {total:G4} over ggml's bound {bound}");

        // And on fresh random data, the relative error stays within what the format's bit width allows.
        var random = new Random(format.GetHashCode(StringComparison.Ordinal));
        for (int i = 0; i < n; i++) x[i] = (float)(random.NextDouble() * 2 - 1) * 3;
        Quantizer.Quantize(format, x, q);
        Dequantizer.Dequantize(format, q, y);
        double err2 = 0, norm = 0;
        for (int i = 0; i < n; i++) { err2 += (x[i] - y[i]) * (double)(x[i] - y[i]); norm += x[i] * (double)x[i]; }
        Assert.True(Math.Sqrt(err2 / norm) <= relativeBound, $"{format}: relative RMS error {Math.Sqrt(err2 / norm):G4} on random data, bound {relativeBound}");
    }

    [Fact]
    public void Fp16ConversionMatchesIeeeRoundToNearestEvenForEveryFloat()
    {
        // FORMATS.md §4.1: ggml's fp32→fp16 is IEEE RNE with subnormals; System.Half's conversion is RNE too, so
        // every one of the 2^32 inputs must agree (NaNs: ggml makes them sign | 0x7E00).
        long mismatches = 0;
        Parallel.For(0, 256, hi =>
        {
            long local = 0;
            for (uint lo = 0; lo < (1u << 24); lo++)
            {
                uint bits = ((uint)hi << 24) | lo;
                float f = BitConverter.UInt32BitsToSingle(bits);
                ushort mine = Quantization.GgmlMath.Fp32ToFp16(f);
                ushort ieee = float.IsNaN(f) ? (ushort)(((bits >> 16) & 0x8000) | 0x7E00) : BitConverter.HalfToUInt16Bits((Half)f);
                if (mine != ieee) local++;
            }
            Interlocked.Add(ref mismatches, local);
        });
        Assert.Equal(0, mismatches);
    }

    [Fact]
    public void NearestIntRoundsHalfToEven()
    {
        Assert.Equal(0, Quantization.GgmlMath.NearestInt(0.5f));
        Assert.Equal(2, Quantization.GgmlMath.NearestInt(1.5f));
        Assert.Equal(2, Quantization.GgmlMath.NearestInt(2.5f));
        Assert.Equal(0, Quantization.GgmlMath.NearestInt(-0.5f));
        Assert.Equal(-2, Quantization.GgmlMath.NearestInt(-1.5f));
        Assert.Equal(-3, Quantization.GgmlMath.NearestInt(-2.6f));
    }

    [Fact]
    public void UnsupportedFormatsAndBadLengthsAreRefused()
    {
        Assert.False(Quantizer.IsSupported("IQ2_XXS"));
        Assert.Throws<NotSupportedException>(() => Quantizer.Quantize("IQ2_XXS", new float[256], new byte[66]));
        Assert.Throws<ArgumentException>(() => Quantizer.Quantize("Q4_0", new float[33], new byte[36]));
        Assert.Throws<ArgumentException>(() => Quantizer.Quantize("Q4_0", new float[64], new byte[35]));
        Assert.True(Quantizer.IsSupported(12u));
        Assert.Equal(144, Quantizer.QuantizedBytes("Q4_K", 256));
    }

    private static void AssertSameBlocks(QuantVectors.File v, byte[] want, byte[] got, string what)
    {
        var format = KernelGenFormatRegistry.FindByGgmlTypeId((int)v.TypeId)!;
        var bad = new List<string>();
        for (int b = 0; b < want.Length / format.BlockBytes; b++)
            if (!want.AsSpan(b * format.BlockBytes, format.BlockBytes).SequenceEqual(got.AsSpan(b * format.BlockBytes, format.BlockBytes)))
                bad.Add($"block {b} (row {b * format.BlockElements / v.RowLength})");
        Assert.True(bad.Count == 0, $"{v.TypeName} L={v.RowLength}: {bad.Count} blocks differ from {what}: {string.Join(", ", bad.Take(8))}");
    }
}

/// <summary>Reads the sections of a GGMLVEC1 file the quantizer tests need: inputs (2), quantized (3), the _ref variant (5a).</summary>
internal static class QuantVectors
{
    public sealed record File(string TypeName, uint TypeId, int RowLength, float[] Input, byte[] Quantized, byte[]? QuantizedRef);

    public static File Read(string path)
    {
        byte[] b = System.IO.File.ReadAllBytes(path);
        ReadOnlySpan<byte> s = b;
        string name = Encoding.ASCII.GetString(b, 16, 16).TrimEnd('\0');
        uint id = BinaryPrimitives.ReadUInt32LittleEndian(s[32..]);
        int rows = BinaryPrimitives.ReadInt32LittleEndian(s[36..]), len = BinaryPrimitives.ReadInt32LittleEndian(s[40..]);
        int rowBytes = BinaryPrimitives.ReadInt32LittleEndian(s[52..]);
        uint flags = BinaryPrimitives.ReadUInt32LittleEndian(s[80..]);
        int off = BinaryPrimitives.ReadInt32LittleEndian(s[12..]) + 4 * rows;
        var input = new float[rows * len];
        Buffer.BlockCopy(b, off, input, 0, 4 * input.Length);
        off += 4 * input.Length;
        byte[] q = s.Slice(off, rows * rowBytes).ToArray();
        off += rows * rowBytes + 4 * rows * len; // sections 3 and 4
        byte[]? qref = (flags & 2) != 0 ? s.Slice(off, rows * rowBytes).ToArray() : null;
        return new File(name, id, len, input, q, qref);
    }
}
