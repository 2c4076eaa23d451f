using KernelGen.Kernels.Generated;

namespace KernelGen.Kernels.Tests;

/// <summary>
/// Fresh random blocks for every generated format: every SIMD width must equal the scalar reference bit for bit, and
/// DecodeFields → Encode must reproduce every (valid) block byte for byte.
/// </summary>
public sealed class RandomBlockTests
{
    public static TheoryData<string, string> FormatAndWidth()
    {
        var data = new TheoryData<string, string>();
        foreach (var f in KernelGenFormatRegistry.Formats)
        {
            foreach (var p in new[] { "V128", "V256", "V512", "DecodeRow" })
            {
                data.Add(f.Name, p);
            }
        }
        return data;
    }

    public static TheoryData<string> Formats()
    {
        var data = new TheoryData<string>();
        foreach (var f in KernelGenFormatRegistry.Formats)
        {
            data.Add(f.Name);
        }
        return data;
    }

    private static byte[] RandomBytes(KernelGenFormatInfo format, int seed, out int elements)
    {
        var rng = new Random(seed);
        // Element-wise formats get an odd element count so the vector loops' scalar tails run too.
        int blocks = format.BlockElements == 1 ? 1031 : 67;
        var bytes = new byte[blocks * format.BlockBytes];
        rng.NextBytes(bytes);
        elements = blocks * format.BlockElements;
        return bytes;
    }

    [Theory]
    [MemberData(nameof(FormatAndWidth))]
    public void Simd_equals_scalar_bitwise_on_random_blocks(string name, string path)
    {
        var format = KernelGenFormatRegistry.FindByName(name)!;
        for (int seed = 1; seed <= 4; seed++)
        {
            byte[] src = RandomBytes(format, seed * 7919 + name.Length, out int n);
            var expected = new float[n];
            var actual = new float[n];
            format.DecodeRowScalar(src, expected);
            Paths.Get(format, path)(src, actual);
            Paths.AssertBitwiseEqual(expected, actual, $"{name} {path} seed {seed}");
        }
    }

    [Theory]
    [MemberData(nameof(Formats))]
    public void DecodeFields_then_Encode_reproduces_random_valid_blocks(string name)
    {
        var format = KernelGenFormatRegistry.FindByName(name)!;
        var reencode = Codecs.Reencoders[name];
        byte[] src = RandomBytes(format, 424242 + name.Length, out _);
        var once = new byte[format.BlockBytes];
        var twice = new byte[format.BlockBytes];
        var a = new float[format.BlockElements];
        var b = new float[format.BlockElements];
        for (int offset = 0; offset < src.Length; offset += format.BlockBytes)
        {
            var block = src.AsSpan(offset, format.BlockBytes);
            reencode(block, once);
            if (Codecs.CanonicalOnly.Contains(name))
            {
                // Random bytes are not all encoder outputs; the encoder's output is, and must round-trip exactly and
                // carry the same logical values (so it decodes to the same floats).
                reencode(once, twice);
                Assert.Equal(Convert.ToHexString(once), Convert.ToHexString(twice));
                format.DecodeRowScalar(block, a);
                format.DecodeRowScalar(once, b);
                Paths.AssertBitwiseEqual(a, b, $"{name} canonical block {offset / format.BlockBytes}");
            }
            else
            {
                Assert.Equal(Convert.ToHexString(block), Convert.ToHexString(once));
            }
        }
    }

    [Fact]
    public void Registry_lists_every_builtin_format_once()
    {
        string[] expected =
        {
            "BF16", "F16", "F32", "GQ4_G128", "GQ4_G32", "GQ8_G128", "GQ8_G32", "IQ4_NL", "IQ4_XS", "Q2_K", "Q3_K", "Q4_0", "Q4_1", "Q4_K",
            "Q5_0", "Q5_1", "Q5_K", "Q6_K", "Q8_0", "Q8_1", "Q8_K", "TB2_F32", "TQ1_0", "TQ2_0",
        };
        Assert.Equal(expected, KernelGenFormatRegistry.Formats.Select(f => f.Name).ToArray());
        Assert.Equal(expected.Length, Codecs.Reencoders.Count);
    }

    [Theory]
    [InlineData("Q4_0", "Q8_0")]
    [InlineData("Q4_1", "Q8_1")]
    [InlineData("Q5_0", "Q8_0")]
    [InlineData("Q5_1", "Q8_1")]
    [InlineData("Q8_0", "Q8_0")]
    [InlineData("IQ4_NL", "Q8_0")]
    [InlineData("Q2_K", "Q8_K")]
    [InlineData("Q3_K", "Q8_K")]
    [InlineData("Q4_K", "Q8_K")]
    [InlineData("Q5_K", "Q8_K")]
    [InlineData("Q6_K", "Q8_K")]
    [InlineData("IQ4_XS", "Q8_K")]
    [InlineData("TQ1_0", "Q8_K")]
    [InlineData("TQ2_0", "Q8_K")]
    [InlineData("GQ4_G128", "Q8_0")]
    [InlineData("GQ4_G32", "Q8_0")]
    [InlineData("GQ8_G128", "Q8_0")]
    [InlineData("GQ8_G32", "Q8_0")]
    [InlineData("TB2_F32", "Q8_K")]
    [InlineData("F32", "F32")]
    [InlineData("F16", "F16")]
    [InlineData("BF16", "BF16")]
    public void Activation_format_follows_ggml_vec_dot_type_or_the_repack_targets_choice(string name, string activation)
    {
        Assert.Equal(activation, KernelGenFormatRegistry.FindByName(name)!.ActivationFormat);
    }
}
