using KernelGen.Kernels.Generated;

namespace KernelGen.Kernels.Tests;

/// <summary>
/// The generated binary16 → binary32 conversions on all 65,536 inputs: <c>HalfToSingleFast</c> (the SIMD decoders and
/// the matrix kernels) must give the same bits as <c>HalfToSingle</c> (the scalar reference), and that must agree with
/// .NET's own exact <see cref="Half"/> conversion on every non-NaN input (NaNs: both are NaN with the same sign).
/// </summary>
public sealed class HalfConversionTests
{
    [Fact]
    public void Fast_conversion_equals_the_reference_on_every_input()
    {
        int mismatches = 0;
        for (int h = 0; h <= ushort.MaxValue; h++)
        {
            float reference = KernelGenHelpers.HalfToSingle((ushort)h);
            float fast = KernelGenHelpers.HalfToSingleFast((ushort)h);
            if (BitConverter.SingleToUInt32Bits(reference) != BitConverter.SingleToUInt32Bits(fast))
            {
                mismatches++;
            }
            float dotnet = (float)BitConverter.UInt16BitsToHalf((ushort)h);
            if (float.IsNaN(dotnet))
            {
                Assert.True(float.IsNaN(reference) && float.IsNegative(reference) == float.IsNegative(dotnet), $"0x{h:X4}: NaN expected");
            }
            else
            {
                Assert.Equal(BitConverter.SingleToUInt32Bits(dotnet), BitConverter.SingleToUInt32Bits(reference));
            }
        }
        Assert.Equal(0, mismatches);
    }
}
