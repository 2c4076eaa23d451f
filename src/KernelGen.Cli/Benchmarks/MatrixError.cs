using System.Numerics.Tensors;

namespace KernelGen.Cli.Benchmarks;

/// <summary>
/// The error of a matrix kernel against a float64 reference computed from the dequantized weights on the same
/// activations, with the measure of the ggml reference vectors (../shared/vectors/ggml/README.md): per output
/// <c>|y − ref| / Σ_k |W[r,k]·x[k]|</c>, where <c>ref = Σ_k W[r,k]·x[k]</c> in float64 and W is the format's own
/// decode of the stored weights. Dividing by the sum of magnitudes (not by |ref|) keeps outputs whose terms cancel
/// from dominating: it bounds the rounding of the accumulation, which is what a kernel adds (activation quantization
/// included) on top of the weights' own quantization error. The maximum over all checked outputs is reported.
/// </summary>
public static class MatrixError
{
    /// <summary>Decodes row <c>row</c> of W (K floats) into <c>destination</c>.</summary>
    public delegate void ReferenceRow(int row, Span<float> destination);

    /// <summary>Above this many multiply-adds (N·K·batch) only a deterministic sample of rows is checked.</summary>
    public const long FullCheckLimit = 1L << 26;

    /// <summary>The rows checked: all of them for small products, otherwise every 7th row and the last (7 is prime to the 256 distinct rows, so every distinct row is covered).</summary>
    public static (int[] Rows, string Rule) RowsToCheck(int k, int n, int batch)
    {
        if ((long)n * k * batch <= FullCheckLimit) return (Enumerable.Range(0, n).ToArray(), "all rows");
        var rows = Enumerable.Range(0, (n + 6) / 7).Select(i => i * 7).ToList();
        if (rows[^1] != n - 1) rows.Add(n - 1);
        return (rows.ToArray(), "every 7th row and the last");
    }

    /// <summary>Max over the checked outputs (every batch row of every checked weight row) of the relative error.</summary>
    /// <param name="reference">Decodes one weight row.</param>
    /// <param name="k">Inputs.</param>
    /// <param name="n">Outputs.</param>
    /// <param name="x">Activations, batch × K, row-major.</param>
    /// <param name="batch">Activation rows.</param>
    /// <param name="y">The kernel's output, batch × N, row-major.</param>
    /// <param name="rows">Rows to check.</param>
    public static double MaxRelative(ReferenceRow reference, int k, int n, ReadOnlySpan<float> x, int batch, ReadOnlySpan<float> y, IReadOnlyList<int> rows) =>
        Measure(reference, k, n, x, batch, y, rows, quantizedActivations: false).MaxRelative;

    /// <summary>
    /// The relative error as above, and for integer kernels (activations quantized to int8 blocks of
    /// <paramref name="activationBlock"/> values: 32, or 256 for the k-quant interleaved kernels; in the stored
    /// column order) the largest error divided by what that quantization can cause: Σ_blocks max|x|/254 · Σ|w| plus
    /// 1e-6·Σ|w·x| of float rounding. A correct integer kernel keeps this at or below 1; it can be far below 1 while
    /// the relative error is large (a row whose few nonzero weights meet small x beside an outlier).
    /// </summary>
    public static (double MaxRelative, double? MaxToBound) Measure(ReferenceRow reference, int k, int n, ReadOnlySpan<float> x, int batch,
        ReadOnlySpan<float> y, IReadOnlyList<int> rows, bool quantizedActivations, int activationBlock = 32)
    {
        double worstBound = 0;
        var w = new float[k];
        var wd = new double[k];
        var xd = new double[(long)batch * k];
        for (int i = 0; i < xd.Length; i++) xd[i] = x[i];
        var products = new double[k];
        double worst = 0;
        foreach (int r in rows)
        {
            reference(r, w);
            for (int i = 0; i < k; i++) wd[i] = w[i];
            for (int b = 0; b < batch; b++)
            {
                var xb = xd.AsSpan(b * k, k);
                TensorPrimitives.Multiply(wd, xb, products);
                double exact = TensorPrimitives.Sum<double>(products);
                double magnitude = TensorPrimitives.SumOfMagnitudes<double>(products);
                double error = Math.Abs(y[b * n + r] - exact);
                double relative = magnitude > 0 ? error / magnitude : error == 0 ? 0 : double.PositiveInfinity;
                if (double.IsNaN(relative) || double.IsNaN(y[b * n + r])) return (double.NaN, quantizedActivations ? double.NaN : null);
                worst = Math.Max(worst, relative);
                if (quantizedActivations && k % activationBlock == 0)
                {
                    double bound = 1e-6 * magnitude + 1e-30;
                    for (int blk = 0; blk < k; blk += activationBlock)
                    {
                        double amax = 0, wsum = 0;
                        for (int i = blk; i < blk + activationBlock; i++)
                        {
                            amax = Math.Max(amax, Math.Abs(xb[i]));
                            wsum += Math.Abs(wd[i]);
                        }
                        bound += amax / 254 * wsum;
                    }
                    worstBound = Math.Max(worstBound, error / bound);
                }
            }
        }
        return (worst, quantizedActivations ? worstBound : null);
    }
}
