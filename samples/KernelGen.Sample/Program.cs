using KernelGen;
using KernelGen.Kernels;

// A 1024 x 4096 weight matrix in Q4_K (in a real program: a tensor of a GGUF file, used in place).
const int K = 4096, N = 1024, Tokens = 4;
var random = new Random(42);
float[] weights = new float[N * K];
for (int i = 0; i < weights.Length; i++)
{
    weights[i] = (float)(random.NextDouble() * 2 - 1);
}
byte[] q4k = new byte[Quantizer.QuantizedBytes("Q4_K", weights.Length)];
Quantizer.Quantize("Q4_K", weights, q4k);

float[] x = new float[Tokens * K];
for (int i = 0; i < x.Length; i++)
{
    x[i] = (float)(random.NextDouble() * 2 - 1);
}

// y = W·x straight from the quantized bytes, and the same for a batch of tokens.
float[] y = new float[N];
Layer.Project(q4k, x.AsSpan(0, K), y);
float[] batch = new float[Tokens * N];
Layer.ProjectBatch(q4k, x, batch, Tokens);

// Check against the decoded weights.
float[] decoded = new float[N * K];
Layer.Decode(q4k, decoded);
double worst = 0;
for (int t = 0; t < Tokens; t++)
{
    for (int r = 0; r < N; r++)
    {
        double exact = 0, magnitude = 0;
        for (int i = 0; i < K; i++)
        {
            exact += (double)decoded[r * K + i] * x[t * K + i];
            magnitude += Math.Abs((double)decoded[r * K + i] * x[t * K + i]);
        }
        worst = Math.Max(worst, Math.Abs(batch[t * N + r] - exact) / magnitude);
        if (t == 0)
        {
            worst = Math.Max(worst, Math.Abs(y[r] - exact) / magnitude);
        }
    }
}
Console.WriteLine($"Q4_K {N}x{K}: y[0] = {y[0]:F3}, {Tokens} tokens batched, worst error {worst:E1} of sum |w*x|");
Console.WriteLine(worst < 1e-2 ? "ok" : "error too large");

static partial class Layer
{
    [QuantizedMatVec("Q4_K", K = 4096, N = 1024)]
    public static partial void Project(ReadOnlySpan<byte> weights, ReadOnlySpan<float> x, Span<float> y);

    [QuantizedMatMul("Q4_K")]
    public static partial void ProjectBatch(ReadOnlySpan<byte> weights, ReadOnlySpan<float> x, Span<float> y, int batch);

    [Dequantize("Q4_K")]
    public static partial void Decode(ReadOnlySpan<byte> weights, Span<float> y);
}
