using KernelGen.Kernels.Tests.Custom;

namespace KernelGen.Kernels.Tests;

/// <summary>
/// Test-only formats (Specs/*.kgspec, passed to this project as AdditionalFiles) get the same generated code as the
/// built-in ones: a user project can add its own format without touching KernelGen.
/// </summary>
public sealed class CustomFormatTests
{
    private static KernelGenDecodeRow Decoder(string name, string path)
    {
        var format = KernelGenFormatRegistry.FindByName(name)!;
        return path switch
        {
            "Scalar" => format.DecodeRowScalar,
            "V128" => format.DecodeRowV128,
            "V256" => format.DecodeRowV256,
            "V512" => format.DecodeRowV512,
            _ => format.DecodeRow,
        };
    }

    private static ushort Half(float value) => BitConverter.HalfToUInt16Bits((Half)value);

    [Fact]
    public void Custom_registry_holds_only_the_test_formats()
    {
        Assert.Equal(new[] { "Q3_TEST", "S3_TEST" }, KernelGenFormatRegistry.Formats.Select(f => f.Name).ToArray());
        Assert.Equal(14, Q3_TESTCodec.BlockBytes);
        Assert.Equal("Q8_0", Q3_TESTCodec.ActivationFormat);
    }

    [Fact]
    public void Q3_TEST_encodes_the_documented_layout_and_decodes_the_formula_on_every_path()
    {
        var fields = default(Q3_TESTBlock);
        fields.D = Half(0.25f);
        for (int e = 0; e < 32; e++)
        {
            fields.Q[e] = (byte)((e * 5 + 3) % 8);
        }
        var block = new byte[Q3_TESTCodec.BlockBytes];
        Q3_TESTCodec.Encode(fields, block);

        // The layout from the spec's header, written out by hand.
        var expectedBytes = new byte[14];
        BitConverter.TryWriteBytes(expectedBytes.AsSpan(0, 2), Half(0.25f));
        uint qh = 0;
        for (int e = 0; e < 32; e++)
        {
            int q = fields.Q[e];
            expectedBytes[2 + e % 8] |= (byte)((q & 3) << (2 * (e / 8)));
            qh |= (uint)(q >> 2) << e;
        }
        BitConverter.TryWriteBytes(expectedBytes.AsSpan(10, 4), qh);
        Assert.Equal(Convert.ToHexString(expectedBytes), Convert.ToHexString(block));

        var expected = new float[32];
        for (int e = 0; e < 32; e++)
        {
            expected[e] = (float)(fields.Q[e] - 4) * 0.25f + -0.5f;
        }
        foreach (var path in Paths.All)
        {
            var actual = new float[32];
            Decoder("Q3_TEST", path)(block, actual);
            Paths.AssertBitwiseEqual(expected, actual, "Q3_TEST " + path);
        }

        Q3_TESTCodec.DecodeFields(block, out var back);
        Assert.Equal(fields.D, back.D);
        for (int e = 0; e < 32; e++)
        {
            Assert.Equal(fields.Q[e], back.Q[e]);
        }
    }

    [Fact]
    public void S3_TEST_packs_signed_codes_as_a_bit_stream_and_falls_back_to_scalar_for_simd()
    {
        var fields = default(S3_TESTBlock);
        fields.D = Half(1.5f);
        fields.S[0] = -3;
        fields.S[1] = 5;
        for (int e = 0; e < 32; e++)
        {
            fields.Q[e] = (sbyte)((e % 8) - 4);
        }
        var block = new byte[S3_TESTCodec.BlockBytes];
        S3_TESTCodec.Encode(fields, block);

        // Codes at bits 3e..3e+2 of one little-endian 96-bit stream; scales as nibbles of byte 2.
        var stream = System.Numerics.BigInteger.Zero;
        for (int e = 31; e >= 0; e--)
        {
            stream = (stream << 3) | (fields.Q[e] & 7);
        }
        var expectedQs = stream.ToByteArray(isUnsigned: true, isBigEndian: false);
        Assert.Equal(Convert.ToHexString(expectedQs.Concat(new byte[12 - expectedQs.Length]).ToArray()), Convert.ToHexString(block.AsSpan(3, 12)));
        Assert.Equal((byte)((-3 & 15) | (5 << 4)), block[2]);

        var expected = new float[32];
        for (int e = 0; e < 32; e++)
        {
            int s = e < 16 ? -3 : 5;
            expected[e] = (1.5f * (float)s) * (float)fields.Q[e];
        }
        foreach (var path in Paths.All)
        {
            var actual = new float[32];
            Decoder("S3_TEST", path)(block, actual);
            Paths.AssertBitwiseEqual(expected, actual, "S3_TEST " + path);
        }
    }
}
