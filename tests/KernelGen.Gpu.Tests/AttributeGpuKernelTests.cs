using KernelGen.Kernels;

namespace KernelGen.Gpu.Tests;

/// <summary>
/// <c>Backend = KernelBackend.Gpu</c> attribute methods in a project that references KernelGen.Gpu run the ILGPU
/// kernels (on whatever accelerator GpuBackend picks; the CPU accelerator here): their results are float-kernel exact
/// (1e-5 of Σ|w·x|), which the CPU's int8-activation kernels would not be.
/// </summary>
public static partial class AttributeGpuKernelTests
{
    [QuantizedMatVec("Q4_K", Backend = KernelBackend.Gpu)]
    private static partial void MatVecGpu(ReadOnlySpan<byte> weights, ReadOnlySpan<float> x, Span<float> y);

    [QuantizedMatMul("Q8_0", K = 64, Backend = KernelBackend.Gpu)]
    private static partial void MatMulGpu(ReadOnlySpan<byte> weights, ReadOnlySpan<float> x, Span<float> y, int batch);

    [Theory]
    [InlineData("Q4_K", 512, 9, 1)]
    [InlineData("Q8_0", 64, 13, 3)]
    public static void GpuMethodsMatchTheFloat64Reference(string format, int k, int n, int batch)
    {
        var random = new Random(k + n);
        var floats = new float[k * n];
        for (int i = 0; i < floats.Length; i++)
        {
            floats[i] = (float)(random.NextDouble() * 2 - 1);
        }
        var rows = new byte[Quantizer.QuantizedBytes(format, floats.Length)];
        Quantizer.Quantize(format, floats, rows);
        var w = new float[k * n];
        Dequantizer.Dequantize(format, rows, w);
        var x = new float[batch * k];
        for (int i = 0; i < x.Length; i++)
        {
            x[i] = (float)(random.NextDouble() * 2 - 1) * (i % 17 == 0 ? 30 : 1);
        }
        var y = new float[batch * n];
        if (format == "Q4_K")
        {
            MatVecGpu(rows, x, y);
        }
        else
        {
            MatMulGpu(rows, x, y, batch);
        }
        for (int b = 0; b < batch; b++)
        {
            for (int r = 0; r < n; r++)
            {
                double exact = 0, magnitude = 0;
                for (int i = 0; i < k; i++)
                {
                    double p = (double)w[r * k + i] * x[b * k + i];
                    exact += p;
                    magnitude += Math.Abs(p);
                }
                Assert.True(Math.Abs(y[b * n + r] - exact) <= 1e-5 * magnitude,
                    $"{format} row {r} batch {b}: {y[b * n + r]} vs {exact} (relative {Math.Abs(y[b * n + r] - exact) / magnitude:E2})");
            }
        }
    }
}
