using KernelGen.Kernels.Generated;
using KernelGen.Kernels.MatMul;
using KernelGen.Kernels.Threading;

namespace KernelGen.Kernels.Tests.MatMul;

/// <summary>
/// Every generated block format's fused matrix kernel against the float64 reference of its decoded weights, on fresh
/// random inputs, with row counts, batch sizes and thread counts that are not multiples of the kernels' tiles.
/// </summary>
public sealed class MatMulKernelTests : IDisposable
{
    private readonly KernelThreadPool _pool = new(3);

    public static TheoryData<string> Formats()
    {
        var data = new TheoryData<string>();
        foreach (var f in KernelGenFormatRegistry.Formats)
        {
            if (Quantizer.IsSupported(f.Name))
            {
                data.Add(f.Name);
            }
        }
        return data;
    }

    public static TheoryData<string, int> FormatsAndBlocks()
    {
        var data = new TheoryData<string, int>();
        foreach (var f in KernelGenFormatRegistry.Formats)
        {
            if (Quantizer.IsSupported(f.Name))
            {
                data.Add(f.Name, 1);
                data.Add(f.Name, f.BlockElements >= 256 ? 3 : 5);
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(FormatsAndBlocks))]
    public void MatVecAndMatMulMatchFloat64Reference(string name, int blocks)
    {
        var format = Dequantizer.GetFormat(name);
        var random = new Random(HashCode.Combine(name.Length, name[0], name[^1], 17 + blocks));
        int k = blocks * Math.Max(32, format.BlockElements);
        int n = 37;
        var rows = MatMulReference.RandomRows(format, k, n, random);
        var w = MatMulReference.Decode(format, rows, k, n);
        var matrix = QuantizedMatrix.FromRows(format, rows, k, n);
        bool quantized = format.DotActivationKind == 1;
        foreach (int batch in new[] { 1, 3, 17 })
        {
            var x = MatMulReference.RandomActivations(k, batch, random);
            var y1 = new float[batch * n];
            matrix.MatMul(x, batch, y1);
            MatMulReference.Check(w, x, y1, k, n, batch, quantized);
            var y3 = new float[batch * n];
            matrix.MatMul(x, batch, y3, _pool);
            // The split over threads changes nothing: every output is computed by exactly one work item.
            Assert.Equal(y1, y3);
        }
    }

    [Fact]
    public void IntegerKernelsAreUsedForTheGgufQuantFormats()
    {
        foreach (var name in new[] { "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "IQ4_NL", "IQ4_XS", "TQ1_0", "TQ2_0" })
        {
            Assert.True(Dequantizer.GetFormat(name).DotActivationKind == 1, $"{name} should run the integer kernel");
        }
    }

    [Fact]
    public void CallsAllocateNothingOnceWarm()
    {
        var format = Dequantizer.GetFormat("Q4_K");
        int k = 512, n = 64, batch = 5;
        var rows = MatMulReference.RandomRows(format, k, n, new Random(3));
        var x = MatMulReference.RandomActivations(k, batch, new Random(4));
        var y = new float[batch * n];
        var matrix = QuantizedMatrix.FromRows(format, rows, k, n);
        matrix.MatMul(x, batch, y, _pool);
        matrix.MatVec(x.AsSpan(0, k), y, _pool);
        Assert.Equal(0, MatMulReference.FewestBytesAllocated(() =>
        {
            matrix.MatMul(x, batch, y, _pool);
            matrix.MatVec(x.AsSpan(0, k), y, _pool);
        }));
    }

    public void Dispose() => _pool.Dispose();
}

/// <summary>
/// The integer kernels' other code paths, which the dispatcher does not pick on an AVX2 machine: the portable
/// Vector128 kernel (what SSE-only and ARM machines run) and the float kernel (no SIMD), each called directly.
/// </summary>
public sealed class MatMulKernelPathTests
{
    public static TheoryData<string, string> IntegerFormatsAndPaths()
    {
        var data = new TheoryData<string, string>();
        foreach (var f in KernelGenFormatRegistry.Formats)
        {
            if (f.DotActivationKind == 1 && Quantizer.IsSupported(f.Name))
            {
                data.Add(f.Name, "RowsV128");
                data.Add(f.Name, "RowsFloat");
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(IntegerFormatsAndPaths))]
    public void EveryKernelPathMatchesTheFloat64Reference(string name, string path)
    {
        var format = Dequantizer.GetFormat(name);
        var type = typeof(KernelGenFormatRegistry).Assembly.GetType($"KernelGen.Kernels.Generated.{name}Dot", throwOnError: true)!;
        var kernel = type.GetMethod(path)!.CreateDelegate<DotRowsKernel>();
        var random = new Random(HashCode.Combine(name.Length, name[0], path.Length));
        int k = 2 * Math.Max(32, format.BlockElements), n = 23;
        var rows = MatMulReference.RandomRows(format, k, n, random);
        var w = MatMulReference.Decode(format, rows, k, n);
        bool quantized = path != "RowsFloat";
        foreach (int batch in new[] { 1, 6 })
        {
            var x = MatMulReference.RandomActivations(k, batch, random);
            var y = new float[batch * n];
            QuantizedKernels.MatMul(kernel, quantized ? 1 : 0, format.BlockElements, format.BlockBytes, name, rows, k, n, x, batch, y);
            MatMulReference.Check(w, x, y, k, n, batch, quantized);
        }
    }
}
