using System.Runtime.InteropServices;
using KernelGen.Kernels.MatMul;

namespace KernelGen.Kernels.Tests.MatMul;

/// <summary>The AVX2 activation quantizer against the portable one: the same bytes, scales and sums, on fresh random rows.</summary>
public sealed class ActivationQuantizerTests
{
    [Theory]
    [InlineData(32, 1)]
    [InlineData(4096, 2)]
    [InlineData(544, 3)]
    public void Avx2PathEqualsPortablePath(int k, int seed)
    {
        var random = new Random(seed);
        var x = MatMulReference.RandomActivations(k, 1, random);
        x[0] = 0f;
        if (k >= 64)
        {
            x.AsSpan(32, 32).Clear(); // an all-zero block: d = 0
            x[40] = -0f;
        }
        var (q1, d1, s1, qs1) = Buffers(k);
        var (q2, d2, s2, qs2) = Buffers(k);
        ActivationQuantizer.QuantizePortable(ref MemoryMarshal.GetArrayDataReference(x), k / 32, q1, d1, s1, qs1);
        if (!System.Runtime.Intrinsics.X86.Avx2.IsSupported)
        {
            // Without AVX2 the public entry point is the portable path; check it against itself through Quantize.
            ActivationQuantizer.Quantize(x, q2, d2, s2, qs2);
        }
        else
        {
            ActivationQuantizer.QuantizeAvx2(ref MemoryMarshal.GetArrayDataReference(x), k / 32, q2, d2, s2, qs2);
        }
        Assert.Equal(q1, q2);
        Assert.Equal(d1, d2);
        Assert.Equal(s1, s2);
        Assert.Equal(qs1, qs2);
        for (int b = 0; b < k / 32; b++)
        {
            for (int i = 0; i < 32; i++)
            {
                // Each value within half a step of its float: the bound the kernels' error analysis rests on.
                Assert.True(Math.Abs(q1[32 * b + i] * d1[b] - x[32 * b + i]) <= d1[b] / 2 * 1.0001 + 1e-30);
            }
        }
    }

    [Theory]
    [InlineData(256, 4)]
    [InlineData(4096, 5)]
    public void Blocks256FollowTheirDefinition(int k, int seed)
    {
        var x = MatMulReference.RandomActivations(k, 1, new Random(seed));
        if (k > 256)
        {
            x.AsSpan(256, 256).Clear(); // a zero block: d = 0, q = 0
        }
        var q = new sbyte[k];
        var d = new float[k / 256];
        ActivationQuantizer.QuantizeBlocks256(x, q, d);
        for (int b = 0; b < k / 256; b++)
        {
            float max = 0f;
            for (int i = 0; i < 256; i++) max = MathF.Max(max, MathF.Abs(x[256 * b + i]));
            float expectedD = max / 127f;
            Assert.Equal(expectedD, d[b]);
            float inverse = expectedD != 0f ? 1f / expectedD : 0f;
            for (int i = 0; i < 256; i++)
            {
                Assert.Equal((sbyte)(int)MathF.Round(x[256 * b + i] * inverse, MidpointRounding.AwayFromZero), q[256 * b + i]);
            }
        }
        Assert.Throws<ArgumentException>(() => ActivationQuantizer.QuantizeBlocks256(new float[100], new sbyte[100], new float[1]));
    }

    private static (sbyte[], float[], float[], int[]) Buffers(int k) => (new sbyte[k], new float[k / 32], new float[k / 16], new int[k / 4]);
}
