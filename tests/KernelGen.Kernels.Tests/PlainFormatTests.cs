using KernelGen.Kernels.Generated;

namespace KernelGen.Kernels.Tests;

/// <summary>F16, BF16 and F32 against exact reference conversions, on every decode path.</summary>
public sealed class PlainFormatTests
{
    public static TheoryData<string> AllPaths()
    {
        var data = new TheoryData<string>();
        foreach (var p in Paths.All)
        {
            data.Add(p);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(AllPaths))]
    public void F16_decodes_all_65536_values_exactly(string path)
    {
        var src = new byte[65536 * 2];
        for (int h = 0; h < 65536; h++)
        {
            src[2 * h] = (byte)h;
            src[2 * h + 1] = (byte)(h >> 8);
        }
        var dst = new float[65536];
        Paths.Get(KernelGenFormatRegistry.FindByName("F16")!, path)(src, dst);
        for (int h = 0; h < 65536; h++)
        {
            float expected = (float)BitConverter.UInt16BitsToHalf((ushort)h);
            if (float.IsNaN(expected))
            {
                // NaN: sign and payload kept, quiet bit set (what x86 F16C conversion does).
                uint bits = ((uint)(h & 0x8000) << 16) | 0x7FC00000u | ((uint)(h & 0x3FF) << 13);
                Assert.Equal(bits, BitConverter.SingleToUInt32Bits(dst[h]));
            }
            else
            {
                Assert.Equal(BitConverter.SingleToUInt32Bits(expected), BitConverter.SingleToUInt32Bits(dst[h]));
            }
        }
    }

    [Theory]
    [MemberData(nameof(AllPaths))]
    public void BF16_decodes_all_65536_values_exactly(string path)
    {
        var src = new byte[65536 * 2];
        for (int h = 0; h < 65536; h++)
        {
            src[2 * h] = (byte)h;
            src[2 * h + 1] = (byte)(h >> 8);
        }
        var dst = new float[65536];
        Paths.Get(KernelGenFormatRegistry.FindByName("BF16")!, path)(src, dst);
        for (int h = 0; h < 65536; h++)
        {
            Assert.Equal((uint)h << 16, BitConverter.SingleToUInt32Bits(dst[h]));
        }
    }

    [Theory]
    [MemberData(nameof(AllPaths))]
    public void F32_copies_bits_exactly(string path)
    {
        var rng = new Random(5);
        var src = new byte[4 * 1001];
        rng.NextBytes(src);
        var dst = new float[1001];
        Paths.Get(KernelGenFormatRegistry.FindByName("F32")!, path)(src, dst);
        for (int i = 0; i < dst.Length; i++)
        {
            Assert.Equal(BitConverter.ToUInt32(src, 4 * i), BitConverter.SingleToUInt32Bits(dst[i]));
        }
    }

    [Fact]
    public void Decoders_reject_partial_blocks_and_short_destinations()
    {
        Assert.Throws<ArgumentException>(() => Q4_0Codec.DecodeRow(new byte[19], new float[64]));
        Assert.Throws<ArgumentException>(() => Q4_0Codec.DecodeRowV256(new byte[36], new float[63]));
        Assert.Throws<NotSupportedException>(() => Dequantizer.Dequantize(16u, new byte[66], new float[256]));
        Assert.False(Dequantizer.IsSupported(16u));
        Assert.False(Dequantizer.IsSupported("IQ2_XXS"));
    }
}
