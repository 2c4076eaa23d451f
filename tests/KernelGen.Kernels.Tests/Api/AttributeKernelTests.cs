using KernelGen.Kernels.MatMul;
using KernelGen.Kernels.Tests.MatMul;
using KernelGen.Kernels.Threading;
using Custom = KernelGen.Kernels.Tests.Custom;

namespace KernelGen.Kernels.Tests.Api;

/// <summary>
/// Kernels declared exactly as a user project declares them: attributes on <c>static partial</c> methods, bodies
/// written by the source generator (this project references it as an analyzer). Built-in formats call the runtime
/// library's kernels; Q3_TEST is this project's own spec (Specs/q3_test.kgspec).
/// </summary>
internal static partial class DeclaredKernels
{
    [QuantizedMatVec("Q4_0")]
    public static partial void MatVecQ4_0(ReadOnlySpan<byte> weights, ReadOnlySpan<float> x, Span<float> y, KernelThreadPool? pool);

    [QuantizedMatVec("Q4_K", K = 512, N = 37)]
    public static partial void MatVecQ4_K(ReadOnlySpan<byte> weights, ReadOnlySpan<float> x, Span<float> y);

    [QuantizedMatMul("Q6_K", K = 768)]
    public static partial void MatMulQ6_K(ReadOnlySpan<byte> weights, ReadOnlySpan<float> x, Span<float> y, int batch, KernelThreadPool? pool);

    [QuantizedMatMul("IQ4_NL", N = 37)]
    internal static partial void MatMulIQ4_NL(ReadOnlySpan<byte> w, ReadOnlySpan<float> activations, Span<float> output, int rows);

    [Dequantize("Q8_0")]
    public static partial void DequantizeQ8_0(ReadOnlySpan<byte> weights, Span<float> y, KernelThreadPool? pool);

    [Dequantize("Q5_K", K = 512, N = 37)]
    public static partial void DequantizeQ5_K(ReadOnlySpan<byte> weights, Span<float> y);

    [QuantizedMatVec("Q3_TEST")]
    public static partial void MatVecQ3_TEST(ReadOnlySpan<byte> weights, ReadOnlySpan<float> x, Span<float> y);

    /// <summary>Nested in a generic type, to check the generated partial declarations.</summary>
    public partial class Nested<T>
    {
        [QuantizedMatVec("Q8_0", K = 64)]
        public static partial void MatVec(ReadOnlySpan<byte> weights, ReadOnlySpan<float> x, Span<float> y);
    }
}

public sealed class AttributeKernelTests : IDisposable
{
    private const int N = 37;
    private readonly KernelThreadPool _pool = new(3);
    private readonly Random _random = new(20250601);

    private (byte[] Rows, float[] W) Weights(string format, int k, int n = N)
    {
        var info = Dequantizer.GetFormat(format);
        var rows = MatMulReference.RandomRows(info, k, n, _random);
        return (rows, MatMulReference.Decode(info, rows, k, n));
    }

    private float[] Expected(string format, byte[] rows, int k, int n, float[] x, int batch)
    {
        var y = new float[batch * n];
        QuantizedKernels.MatMul(Dequantizer.GetFormat(format), rows, k, n, x, batch, y);
        return y;
    }

    [Fact]
    public void MatVec_built_in_format_matches_the_driver_and_the_reference()
    {
        const int k = 320;
        var (rows, w) = Weights("Q4_0", k);
        var x = MatMulReference.RandomActivations(k, 1, _random);
        var y = new float[N];
        DeclaredKernels.MatVecQ4_0(rows, x, y, _pool);
        Assert.Equal(Expected("Q4_0", rows, k, N, x, 1), y);
        MatMulReference.Check(w, x, y, k, N, 1, quantizedActivations: true);
        var single = new float[N];
        DeclaredKernels.MatVecQ4_0(rows, x, single, null);
        Assert.Equal(y, single);
    }

    [Fact]
    public void MatVec_with_compile_time_shape_matches_and_checks_lengths_against_it()
    {
        const int k = 512;
        var (rows, w) = Weights("Q4_K", k);
        var x = MatMulReference.RandomActivations(k, 1, _random);
        var y = new float[N];
        DeclaredKernels.MatVecQ4_K(rows, x, y);
        Assert.Equal(Expected("Q4_K", rows, k, N, x, 1), y);
        MatMulReference.Check(w, x, y, k, N, 1, quantizedActivations: true);

        var e = Assert.Throws<ArgumentException>(() => DeclaredKernels.MatVecQ4_K(rows, x.AsSpan(0, 256), y));
        Assert.Equal("x", e.ParamName);
        Assert.Contains("DeclaredKernels.MatVecQ4_K: x must hold K = 512 floats (K is declared on the attribute); it has 256.", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<ArgumentException>(() => DeclaredKernels.MatVecQ4_K(rows, x, new float[N + 1]));
        Assert.Equal("y", e.ParamName);
        e = Assert.Throws<ArgumentException>(() => DeclaredKernels.MatVecQ4_K(rows.AsSpan(1), x, y));
        Assert.Equal("weights", e.ParamName);
        Assert.Contains("N = 37 rows of K = 512 Q4_K elements take 10656 bytes (288 per row); weights has 10655.", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MatMul_with_declared_K_takes_N_from_the_output_and_runs_on_the_pool()
    {
        const int k = 768;
        var (rows, w) = Weights("Q6_K", k);
        foreach (int batch in new[] { 1, 5, 17 })
        {
            var x = MatMulReference.RandomActivations(k, batch, _random);
            var y = new float[batch * N];
            DeclaredKernels.MatMulQ6_K(rows, x, y, batch, _pool);
            Assert.Equal(Expected("Q6_K", rows, k, N, x, batch), y);
            MatMulReference.Check(w, x, y, k, N, batch, quantizedActivations: true);
        }
        var e = Assert.Throws<ArgumentException>(() => DeclaredKernels.MatMulQ6_K(rows, new float[768 * 2], new float[N * 2 + 1], 2, null));
        Assert.Contains("y has 75 floats, not a positive multiple of batch = 2; N is taken from y.Length / batch.", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MatMul_with_declared_N_takes_K_from_the_activations()
    {
        const int k = 96;
        var (rows, w) = Weights("IQ4_NL", k);
        var x = MatMulReference.RandomActivations(k, 3, _random);
        var y = new float[3 * N];
        DeclaredKernels.MatMulIQ4_NL(rows, x, y, 3);
        Assert.Equal(Expected("IQ4_NL", rows, k, N, x, 3), y);
        MatMulReference.Check(w, x, y, k, N, 3, quantizedActivations: true);
        var e = Assert.Throws<ArgumentException>(() => DeclaredKernels.MatMulIQ4_NL(rows, x.AsSpan(0, 3 * 80), y, 3));
        Assert.Contains("IQ4_NL rows are whole 32-element blocks; K = 80 (from x.Length / batch) is not a multiple of 32.", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Dequantize_is_bit_exact_with_the_codec_serial_and_parallel()
    {
        // Big enough for several parallel work items.
        var (rows, w) = Weights("Q8_0", 4096, 40);
        var y = new float[w.Length];
        DeclaredKernels.DequantizeQ8_0(rows, y, _pool);
        Assert.Equal(w, y);
        Array.Clear(y);
        DeclaredKernels.DequantizeQ8_0(rows, y, null);
        Assert.Equal(w, y);
        var e = Assert.Throws<ArgumentException>(() => DeclaredKernels.DequantizeQ8_0(rows.AsSpan(0, 35), new float[32], null));
        Assert.Equal("weights", e.ParamName);

        var (q5, w5) = Weights("Q5_K", 512);
        var y5 = new float[w5.Length];
        DeclaredKernels.DequantizeQ5_K(q5, y5);
        Assert.Equal(w5, y5);
        Assert.Throws<ArgumentException>(() => DeclaredKernels.DequantizeQ5_K(q5.AsSpan(0, q5.Length - 176), y5.AsSpan(0, y5.Length - 256)));
    }

    [Fact]
    public void MatVec_of_the_projects_own_format_calls_its_generated_kernel()
    {
        const int k = 128, blocks = k / 32;
        var info = Custom.KernelGenFormatRegistry.FindByName("Q3_TEST")!;
        var rows = new byte[N * blocks * 14];
        _random.NextBytes(rows);
        for (int b = 0; b < N * blocks; b++)
        {
            // A finite f16 scale per block (random bytes could be NaN).
            BitConverter.TryWriteBytes(rows.AsSpan(b * 14, 2), BitConverter.HalfToUInt16Bits((Half)(_random.NextDouble() * 0.5)));
        }
        var w = new float[k * N];
        info.DecodeRowScalar(rows, w);
        var x = MatMulReference.RandomActivations(k, 1, _random);
        var y = new float[N];
        DeclaredKernels.MatVecQ3_TEST(rows, x, y);
        var expected = new float[N];
        QuantizedKernels.MatMul(Custom.Q3_TESTDot.Rows, Custom.Q3_TESTDot.ActivationKind, 32, 14, "Q3_TEST", rows, k, N, x, 1, expected);
        Assert.Equal(expected, y);
        MatMulReference.Check(w, x, y, k, N, 1, quantizedActivations: Custom.Q3_TESTDot.ActivationKind == 1);
    }

    [Fact]
    public void Method_in_a_nested_generic_type()
    {
        var (rows, w) = Weights("Q8_0", 64, 5);
        var x = MatMulReference.RandomActivations(64, 1, _random);
        var y = new float[5];
        DeclaredKernels.Nested<int>.MatVec(rows, x, y);
        Assert.Equal(Expected("Q8_0", rows, 64, 5, x, 1), y);
    }

    public void Dispose() => _pool.Dispose();
}
