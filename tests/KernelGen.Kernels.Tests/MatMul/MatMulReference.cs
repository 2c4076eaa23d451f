using KernelGen.Kernels.Generated;

namespace KernelGen.Kernels.Tests.MatMul;

/// <summary>
/// The independent reference for the matrix kernels: decode W with the (separately tested, ggml-exact) codec, then
/// float64 dot products. Also the error bound an integer kernel may not exceed: quantizing an activation block of 32
/// to int8 with d = max|x|/127 moves each value by at most d/2, so |y − ref| ≤ Σ_blocks d/2 · Σ|w| (plus float
/// rounding) — the same bound ggml's vec_dot obeys with its coarser Q8_0/Q8_K scales.
/// </summary>
internal static class MatMulReference
{
    public static byte[] RandomRows(KernelGenFormatInfo format, int k, int n, Random random)
    {
        var floats = new float[(long)k * n];
        for (int r = 0; r < n; r++)
        {
            float rowScale = (float)Math.Exp(random.NextDouble() * 4 - 2);
            for (int i = 0; i < k; i++)
            {
                floats[(long)r * k + i] = (float)(random.NextDouble() * 2 - 1) * rowScale;
            }
        }
        var bytes = new byte[(long)k / format.BlockElements * format.BlockBytes * n];
        Quantizer.Quantize(format.Name, floats, bytes);
        return bytes;
    }

    public static float[] RandomActivations(int k, int batch, Random random)
    {
        var x = new float[k * batch];
        for (int i = 0; i < x.Length; i++)
        {
            // Mostly small values with occasional outliers, as real activations have.
            x[i] = (float)((random.NextDouble() * 2 - 1) * (random.Next(16) == 0 ? 20 : 1));
        }
        return x;
    }

    public static float[] Decode(KernelGenFormatInfo format, byte[] rows, int k, int n)
    {
        var w = new float[(long)k * n];
        format.DecodeRowScalar(rows, w);
        return w;
    }

    /// <summary>Σ over activation blocks of 32 of (max|x| / 127 / 2)·Σ|w|: the most int8 activations can move row r's dot with batch row b.</summary>
    public static double ActivationBound(float[] w, float[] x, int k, int r, int b, int block = 32)
    {
        double bound = 0;
        for (int blk = 0; blk < k / block; blk++)
        {
            double amax = 0, wsum = 0;
            for (int i = blk * block; i < blk * block + block; i++)
            {
                amax = Math.Max(amax, Math.Abs(x[b * k + i]));
                wsum += Math.Abs(w[(long)r * k + i]);
            }
            bound += amax / 127 / 2 * wsum;
        }
        return bound;
    }

    /// <summary>Checks y against the float64 reference; returns the largest error relative to Σ|w·x| of its output.</summary>
    /// <param name="activationBlock">Values per activation scale: 32, or 256 for the k-quant interleaved kernels (ggml's Q8_K pairing).</param>
    public static double Check(float[] w, float[] x, float[] y, int k, int n, int batch, bool quantizedActivations, int activationBlock = 32)
    {
        double worst = 0;
        for (int b = 0; b < batch; b++)
        {
            for (int r = 0; r < n; r++)
            {
                double exact = 0, magnitude = 0, bound = 0;
                for (int i = 0; i < k; i++)
                {
                    double p = (double)w[(long)r * k + i] * x[b * k + i];
                    exact += p;
                    magnitude += Math.Abs(p);
                }
                if (quantizedActivations)
                {
                    bound = ActivationBound(w, x, k, r, b, activationBlock);
                }
                double error = Math.Abs(y[b * n + r] - exact);
                double allowed = bound * 1.0001 + 1e-5 * magnitude + 1e-30;
                Assert.True(error <= allowed,
                    $"row {r} batch {b}: got {y[b * n + r]}, float64 reference {exact}, error {error:E3} > allowed {allowed:E3} (Σ|wx| = {magnitude:E3})");
                worst = Math.Max(worst, magnitude > 0 ? error / magnitude : 0);
            }
        }
        return worst;
    }

    /// <summary>
    /// Bytes this thread allocates over 10 calls of <paramref name="call"/>, the fewest of 3 rounds: a real per-call
    /// allocation shows in every round, while the runtime's own one-off work (a tiered-JIT promotion landing
    /// mid-round under a loaded test run) does not repeat.
    /// </summary>
    public static long FewestBytesAllocated(Action call)
    {
        long fewest = long.MaxValue;
        for (int round = 0; round < 3; round++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 10; i++)
            {
                call();
            }
            fewest = Math.Min(fewest, GC.GetAllocatedBytesForCurrentThread() - before);
        }
        return fewest;
    }
}
