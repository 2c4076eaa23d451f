using KernelGen.Gpu.Generated;
using KernelGen.Kernels;
using Xunit.Abstractions;

namespace KernelGen.Gpu.Tests;

/// <summary>
/// For every block format and every accelerator present: GPU dequantize equals the CPU codec, and matvec / matmul match
/// a float64 reference computed from the CPU-dequantized weights within 1e-5 relative error, measured per output as
/// |y − ref| / Σₖ |W[r,k]·x[k]|. Weights are valid: random floats quantized with <see cref="Quantizer"/>. Shapes are
/// deliberately ragged: 37 rows, a few blocks per row (an odd element count for one-element formats), batches 3 and 33
/// (not multiples of the 8-row MatMul tile).
/// </summary>
[Collection(BackendCollection.Name)]
public sealed class GpuKernelTests
{
    private const double Tolerance = 1e-5;
    private const int N = 37;

    private readonly Backends _backends;
    private readonly ITestOutputHelper _output;

    public GpuKernelTests(Backends backends, ITestOutputHelper output)
    {
        _backends = backends;
        _output = output;
    }

    public static TheoryData<string> Formats()
    {
        var data = new TheoryData<string>();
        foreach (var f in KernelGenGpuRegistry.Formats)
        {
            data.Add(f.Name);
        }
        return data;
    }

    [Fact]
    public void Every_block_format_spec_has_gpu_kernels()
    {
        var cpu = Dequantizer.Formats.Select(f => f.Name).Order(StringComparer.Ordinal).ToArray();
        var gpu = KernelGenGpuRegistry.Formats.Select(f => f.Name).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(cpu, gpu);
        Assert.True(gpu.Length >= 19);
    }

    [Theory]
    [MemberData(nameof(Formats))]
    public void Dequantize_matvec_and_matmul_match_the_cpu_kernels(string format)
    {
        var info = Dequantizer.GetFormat(format);
        int k = info.BlockElements == 1 ? 103 : info.BlockElements * (info.BlockElements >= 256 ? 3 : 5);
        var rng = new Random(format.GetHashCode(StringComparison.Ordinal) ^ 0x5eed);
        byte[] rows = RandomWeights(format, info.BlockBytes, info.BlockElements, k, rng);
        float[] w = new float[N * k];
        info.DecodeRow(rows, w);

        Assert.NotEmpty(_backends.All);
        foreach (var backend in _backends.All)
        {
            _output.WriteLine($"{format} on {backend.Description}");
            using var m = backend.Upload(format, rows, k, N);

            // Dequantize: the same operations in the same order as the CPU codec.
            float[] dq = new float[N * k];
            m.Dequantize(dq);
            for (int i = 0; i < dq.Length; i++)
            {
                if (backend.Kind == GpuBackendKind.Cpu)
                {
                    // The CPU accelerator runs the generated C# as written: bit-exact.
                    Assert.True(BitConverter.SingleToInt32Bits(dq[i]) == BitConverter.SingleToInt32Bits(w[i]),
                        $"{format} element {i}: GPU {dq[i]:R} CPU {w[i]:R} on {backend.Kind}");
                }
                else
                {
                    // Device compilers may contract a*b±c into one FMA (one rounding fewer): allow that rounding.
                    double scale = RowMaxAbs(w, i / k * k, k);
                    Assert.True(Math.Abs(dq[i] - w[i]) <= 1e-6 * scale, $"{format} element {i}: GPU {dq[i]:R} CPU {w[i]:R} on {backend.Kind}");
                }
            }

            // MatVec.
            float[] x = RandomFloats(k, rng);
            float[] y = new float[N];
            m.MatVec(x, y);
            CheckProducts(format, backend, w, k, x, 1, y);

            // MatMul, partial and several tiles.
            foreach (int batch in new[] { 3, 33 })
            {
                float[] xs = RandomFloats(batch * k, rng);
                float[] ys = new float[batch * N];
                m.MatMul(xs, batch, ys);
                CheckProducts(format, backend, w, k, xs, batch, ys);
            }
        }
    }

    private static void CheckProducts(string format, GpuBackend backend, float[] w, int k, float[] x, int batch, float[] y)
    {
        for (int b = 0; b < batch; b++)
        {
            for (int r = 0; r < N; r++)
            {
                double sum = 0, abs = 0;
                for (int i = 0; i < k; i++)
                {
                    double p = (double)w[r * k + i] * x[b * k + i];
                    sum += p;
                    abs += Math.Abs(p);
                }
                double err = Math.Abs(y[b * N + r] - sum);
                Assert.True(err <= Tolerance * abs + 1e-30,
                    $"{format} batch {batch} row {b} output {r} on {backend.Kind}: got {y[b * N + r]:R}, reference {sum:R}, relative error {err / abs:E3}");
            }
        }
    }

    private static double RowMaxAbs(float[] w, int start, int count)
    {
        double max = 0;
        for (int i = start; i < start + count; i++)
        {
            max = Math.Max(max, Math.Abs(w[i]));
        }
        return max;
    }

    /// <summary>
    /// Random rows with a per-row scale spread, quantized with the ggml reference quantizer. A format without a
    /// quantizer (e.g. a repacked layout spec) gets random blocks instead, each re-drawn until it decodes to finite
    /// values of moderate size.
    /// </summary>
    internal static byte[] RandomWeights(string format, int blockBytes, int blockElements, int k, Random rng)
    {
        if (!Quantizer.IsSupported(format))
        {
            var info = Dequantizer.GetFormat(format);
            byte[] blocks = new byte[N * (k / blockElements) * blockBytes];
            float[] decoded = new float[blockElements];
            for (int b = 0; b < blocks.Length / blockBytes; b++)
            {
                var block = blocks.AsSpan(b * blockBytes, blockBytes);
                do
                {
                    rng.NextBytes(block);
                    info.DecodeRow(block, decoded);
                }
                while (decoded.Any(v => !float.IsFinite(v) || Math.Abs(v) > 1e6f));
            }
            return blocks;
        }

        float[] f = new float[N * k];
        for (int r = 0; r < N; r++)
        {
            float scale = (float)Math.Pow(2, rng.Next(-4, 4));
            for (int i = 0; i < k; i++)
            {
                f[r * k + i] = (float)(Gaussian(rng) * scale);
            }
        }
        byte[] rows = new byte[N * (k / blockElements) * blockBytes];
        Quantizer.Quantize(format, f, rows);
        return rows;
    }

    internal static float[] RandomFloats(int count, Random rng)
    {
        float[] x = new float[count];
        for (int i = 0; i < count; i++)
        {
            x[i] = (float)Gaussian(rng);
        }
        return x;
    }

    private static double Gaussian(Random rng) =>
        Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
}
