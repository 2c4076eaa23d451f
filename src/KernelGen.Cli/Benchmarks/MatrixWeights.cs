using KernelGen.Kernels;
using KernelGen.Kernels.Generated;
using KernelGen.Kernels.MatMul;

namespace KernelGen.Cli.Benchmarks;

/// <summary>
/// A quantized nn.Linear layer in a checkpoint format (GPTQ, AWQ, BitNet), as the repack factories take it, with
/// its own codec's scalar decoder as the reference for the error measurement.
/// </summary>
public abstract class TensorLayer(string format, int k, int n)
{
    /// <summary>The <c>--format</c> name (GPTQ4-g128, ...).</summary>
    public string Format { get; } = format;

    /// <summary>Inputs.</summary>
    public int K { get; } = k;

    /// <summary>Outputs.</summary>
    public int N { get; } = n;

    /// <summary>Decodes output rows [first, first + count) with the checkpoint format's scalar codec (the reference).</summary>
    public abstract void DecodeRows(int first, int count, Span<float> destination);
}

/// <summary>A GPTQ layer: <c>qweight</c>, <c>qzeros</c>, <c>scales</c> and (when stored) <c>g_idx</c>.</summary>
public sealed class GptqLayer(string format, GPTQLayout layout, byte[] qweight, byte[] qzeros, byte[] scales, byte[] gIdx)
    : TensorLayer(format, layout.InFeatures, layout.OutFeatures)
{
    public GPTQLayout Layout { get; } = layout;
    public byte[] Qweight { get; } = qweight;
    public byte[] Qzeros { get; } = qzeros;
    public byte[] Scales { get; } = scales;

    /// <summary>Empty when the layer has no g_idx (groups are k / group_size).</summary>
    public byte[] GIdx { get; } = gIdx;

    public override void DecodeRows(int first, int count, Span<float> destination) =>
        GPTQCodec.DecodeRowsScalar(Layout, Qweight, Qzeros, Scales, GIdx, first, count, destination);
}

/// <summary>An AutoAWQ WQLinear_GEMM layer: <c>qweight</c>, <c>qzeros</c>, <c>scales</c>.</summary>
public sealed class AwqLayer(string format, AWQ_GEMMLayout layout, byte[] qweight, byte[] qzeros, byte[] scales)
    : TensorLayer(format, layout.InFeatures, layout.OutFeatures)
{
    public AWQ_GEMMLayout Layout { get; } = layout;
    public byte[] Qweight { get; } = qweight;
    public byte[] Qzeros { get; } = qzeros;
    public byte[] Scales { get; } = scales;

    public override void DecodeRows(int first, int count, Span<float> destination) =>
        AWQ_GEMMCodec.DecodeRowsScalar(Layout, Qweight, Qzeros, Scales, first, count, destination);
}

/// <summary>A BitNet b1.58 Hugging Face layer: packed <c>weight</c> and <c>weight_scale</c>.</summary>
public sealed class BitNetLayer(string format, BitNetLayout layout, byte[] weight, byte[] weightScale)
    : TensorLayer(format, layout.InFeatures, layout.OutFeatures)
{
    public BitNetLayout Layout { get; } = layout;
    public byte[] Weight { get; } = weight;
    public byte[] WeightScale { get; } = weightScale;

    public override void DecodeRows(int first, int count, Span<float> destination) =>
        BitNetCodec.DecodeRowsScalar(Layout, Weight, WeightScale, first, count, destination);
}

/// <summary>Turns a checkpoint layer into the kernels' <see cref="QuantizedMatrix"/>.</summary>
public static class MatrixRepack
{
    /// <summary>
    /// The one place bench matvec|matmul turns a GPTQ / AWQ / BitNet layer into a QuantizedMatrix: the one-time
    /// repack into kernel rows (QuantizedMatrix.FromGptq etc.).
    /// </summary>
    public static QuantizedMatrix FromLayer(TensorLayer layer) => layer switch
    {
        GptqLayer g => QuantizedMatrix.FromGptq(g.Layout, g.Qweight, g.Qzeros, g.Scales, g.GIdx),
        AwqLayer a => QuantizedMatrix.FromAwqGemm(a.Layout, a.Qweight, a.Qzeros, a.Scales),
        BitNetLayer b => QuantizedMatrix.FromBitNet(b.Layout, b.Weight, b.WeightScale),
        _ => throw new ArgumentException($"unknown layer type {layer.GetType().Name}", nameof(layer)),
    };
}

/// <summary>
/// The weights of one <c>bench matvec|matmul</c> run: real quantized data (seeded random rows with per-row scale
/// variation, quantized with <see cref="Quantizer"/>; 256 distinct rows tiled to N, as the llama.cpp anchors did), in
/// enough copies that rotating through them streams the weights from DRAM (cold), or one copy (hot).
/// </summary>
public sealed class MatrixWeights
{
    /// <summary>Distinct rows quantized; N rows are these, repeated. The k-quant reference quantizers are slow.</summary>
    public const int DistinctRows = 256;

    /// <summary>The last-level cache of the development machine (an EPYC VM: 16 MiB of L3).</summary>
    public const long LastLevelCacheBytes = 16L << 20;

    /// <summary>Cold weights total at least this much (16 x the L3), and at least <see cref="MinColdCopies"/> copies.</summary>
    public const long MinColdBytes = 256L << 20;

    public const int MinColdCopies = 8;

    private readonly ReadOnlyMemory<byte> _blockRows;
    private readonly TensorLayer? _layer;

    private readonly long _cacheBytes;

    private MatrixWeights(MatrixFormat format, int k, int n, IReadOnlyList<QuantizedMatrix> copies, ReadOnlyMemory<byte> blockRows, TensorLayer? layer, long cacheBytes)
    {
        _cacheBytes = cacheBytes;
        Format = format;
        K = k;
        N = n;
        Copies = copies;
        _blockRows = blockRows;
        _layer = layer;
    }

    public MatrixFormat Format { get; }
    public int K { get; }
    public int N { get; }

    /// <summary>Identical copies of W in separate memory; timed call i uses copy i mod Count.</summary>
    public IReadOnlyList<QuantizedMatrix> Copies { get; }

    /// <summary>Bytes of one copy (<see cref="QuantizedMatrix.WeightBytes"/>).</summary>
    public long WeightBytes => Copies[0].WeightBytes;

    /// <summary>Bytes of all copies.</summary>
    public long TotalBytes => WeightBytes * Copies.Count;

    /// <summary>
    /// True when the copies together are at least 4x the last-level cache in front of the backend's memory (the host L3,
    /// or a GPU's L2), so a call finds its copy in DRAM.
    /// </summary>
    public bool Cold => Copies.Count > 1 && TotalBytes >= 4 * _cacheBytes;

    /// <summary>Decodes row <paramref name="row"/> of W with the format's scalar reference decoder (GGUF rows or the checkpoint layer, not the repacked copy).</summary>
    public void ReferenceRow(int row, Span<float> destination)
    {
        if (_layer is not null)
        {
            _layer.DecodeRows(row, 1, destination.Slice(0, K));
            return;
        }
        long rowBytes = Copies[0].RowBytes;
        Format.Block!.DecodeRowScalar(_blockRows.Span.Slice(checked((int)(row * rowBytes)), (int)rowBytes), destination.Slice(0, K));
    }

    /// <summary>A matrix of the first <paramref name="rows"/> rows of copy 0, in the kernel layout (for JIT warm-up on a small input).</summary>
    public QuantizedMatrix Slice(int rows)
    {
        var m = Copies[0];
        rows = Math.Clamp(rows, 1, m.N);
        return QuantizedMatrix.FromRows(m.Format, m.Rows.Slice(0, checked((int)(rows * m.RowBytes))), m.K, rows);
    }

    /// <summary>
    /// Builds the weights: <see cref="DistinctRows"/> seeded random rows, quantized and tiled to N rows; then, when
    /// <paramref name="cold"/>, copies until they total max(<see cref="MinColdBytes"/>, <see cref="MinColdCopies"/>
    /// copies), bounded by a quarter of the memory available now.
    /// </summary>
    public static MatrixWeights Build(MatrixFormat format, int k, int n, bool cold, Action<string>? log = null) =>
        Build(format, k, n, bytes => CopyCount(bytes, cold), LastLevelCacheBytes, log);

    /// <summary>
    /// Builds the weights for a backend: <paramref name="copyCount"/> says how many copies of a matrix of so many bytes
    /// to make (<see cref="IMatrixBackend.CopyCount"/>), <paramref name="cacheBytes"/> is the cache they must exceed 4x
    /// to be reported cold (<see cref="IMatrixBackend.CacheBytes"/>).
    /// </summary>
    public static MatrixWeights Build(MatrixFormat format, int k, int n, Func<long, int> copyCount, long cacheBytes, Action<string>? log = null)
    {
        var floats = RandomRows(Math.Min(n, DistinctRows), k, seed: 20261123);
        if (format.Kind == MatrixFormatKind.Block)
        {
            var f = format.Block!;
            long rowBytes = Quantizer.QuantizedBytes(f.Name, k);
            long weightBytes = rowBytes * n;
            if (weightBytes > Array.MaxLength) throw new NotSupportedException($"{n} x {k} {f.Name} takes {weightBytes} bytes; at most {Array.MaxLength} per matrix here");
            int distinct = floats.Length / k;
            var quantized = new byte[distinct * rowBytes];
            Quantizer.Quantize(f.Name, floats, quantized);
            var first = GC.AllocateUninitializedArray<byte>((int)weightBytes, pinned: true);
            for (int r = 0; r < n; r++)
                quantized.AsSpan((int)(r % distinct * rowBytes), (int)rowBytes).CopyTo(first.AsSpan((int)(r * rowBytes)));
            int count = Math.Max(1, copyCount(weightBytes));
            log?.Invoke($"weights: {n} x {k} {f.Name}, {weightBytes:N0} bytes x {count} cop{(count == 1 ? "y" : "ies")}");
            var copies = new List<QuantizedMatrix>(count) { QuantizedMatrix.FromRows(f, first, k, n) };
            // Further copies share big arrays (at most 1 GiB each), each copy 64-byte aligned within its array.
            long stride = (weightBytes + 63) / 64 * 64;
            int perArray = (int)Math.Max(1, (1L << 30) / stride);
            byte[]? buffer = null;
            for (int c = 1, slot = perArray; c < count; c++, slot++)
            {
                if (slot == perArray)
                {
                    buffer = GC.AllocateUninitializedArray<byte>((int)(stride * Math.Min(perArray, count - c)), pinned: true);
                    slot = 0;
                }
                var memory = buffer.AsMemory((int)(slot * stride), (int)weightBytes);
                first.AsSpan().CopyTo(memory.Span);
                copies.Add(QuantizedMatrix.FromRows(f, memory, k, n));
            }
            return new MatrixWeights(format, k, n, copies, first, null, cacheBytes);
        }

        var layer = BuildLayer(format, k, n, floats);
        var matrix = MatrixRepack.FromLayer(layer);
        int layerCopies = Math.Max(1, copyCount(matrix.WeightBytes));
        log?.Invoke($"weights: {n} x {k} {format.Name} repacked to {matrix.Format.Name}, {matrix.WeightBytes:N0} bytes x {layerCopies} cop{(layerCopies == 1 ? "y" : "ies")}");
        var list = new List<QuantizedMatrix>(layerCopies) { matrix };
        // Repacking is a load-time cost (~0.1 µs per weight); the cold copies are byte copies of the first.
        while (list.Count < layerCopies) list.Add(matrix.Clone());
        return new MatrixWeights(format, k, n, list, default, layer, cacheBytes);
    }

    /// <summary>How many copies: 1 when hot; cold: enough for max(256 MiB, 8 copies), within a quarter of the available memory.</summary>
    public static int CopyCount(long weightBytes, bool cold)
    {
        if (!cold) return 1;
        long wanted = Math.Max((MinColdBytes + weightBytes - 1) / weightBytes, MinColdCopies);
        long affordable = Math.Max(1, AvailableMemoryBytes() / 4 / Math.Max(1, weightBytes));
        return (int)Math.Clamp(Math.Min(wanted, affordable), 1, 1 << 20);
    }

    /// <summary>MemAvailable from /proc/meminfo on Linux, else what the GC says it may use.</summary>
    public static long AvailableMemoryBytes()
    {
        try
        {
            if (File.Exists("/proc/meminfo"))
            {
                foreach (string line in File.ReadLines("/proc/meminfo"))
                {
                    if (!line.StartsWith("MemAvailable:", StringComparison.Ordinal)) continue;
                    var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    if (parts.Length >= 2 && long.TryParse(parts[1], out long kib)) return kib * 1024;
                }
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
        return GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
    }

    /// <summary>
    /// <paramref name="rows"/> × <paramref name="k"/> seeded Gaussian values; each row has its own scale
    /// (0.02 · 2^u, u uniform in [-2, 2]) and every 64th value is an outlier four times larger, as trained weights have.
    /// </summary>
    public static float[] RandomRows(int rows, int k, int seed)
    {
        var random = new Random(seed);
        var data = new float[(long)rows * k];
        for (int r = 0; r < rows; r++)
        {
            double scale = 0.02 * Math.Pow(2, random.NextDouble() * 4 - 2);
            for (int i = 0; i < k; i++)
            {
                // Box-Muller.
                double u1 = 1.0 - random.NextDouble(), u2 = random.NextDouble();
                double g = Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
                data[(long)r * k + i] = (float)(g * scale * (random.Next(64) == 0 ? 4 : 1));
            }
        }
        return data;
    }

    /// <summary>Seeded activations in [-1, 1): <paramref name="batch"/> rows of <paramref name="k"/>.</summary>
    public static float[] RandomActivations(int batch, int k, int seed)
    {
        var random = new Random(seed);
        var x = new float[(long)batch * k];
        for (int i = 0; i < x.Length; i++) x[i] = (float)(random.NextDouble() * 2 - 1);
        return x;
    }

    /// <summary>Quantizes an N × K layer (the distinct rows tiled to N) to the checkpoint format.</summary>
    private static TensorLayer BuildLayer(MatrixFormat format, int k, int n, float[] distinctRows)
    {
        int distinct = distinctRows.Length / k;
        var w = new float[(long)n * k];
        for (int r = 0; r < n; r++) distinctRows.AsSpan(r % distinct * k, k).CopyTo(w.AsSpan(r * k));
        switch (format.Kind)
        {
            case MatrixFormatKind.Gptq:
            {
                var layout = new GPTQLayout(n, k, format.Bits, format.GroupSize, GPTQCheckpoint.Gptq);
                byte[] qweight = new byte[layout.QweightBytes], qzeros = new byte[layout.QzerosBytes], scales = new byte[layout.ScalesBytes];
                Quantizer.QuantizeGptq(w, layout, symmetric: true, qweight, qzeros, scales, Span<byte>.Empty);
                return new GptqLayer(format.Name, layout, qweight, qzeros, scales, []);
            }
            case MatrixFormatKind.Awq:
            {
                var layout = new AWQ_GEMMLayout(n, k, format.GroupSize);
                byte[] qweight = new byte[layout.QweightBytes], qzeros = new byte[layout.QzerosBytes], scales = new byte[layout.ScalesBytes];
                Quantizer.QuantizeAwqGemm(w, layout, qweight, qzeros, scales);
                return new AwqLayer(format.Name, layout, qweight, qzeros, scales);
            }
            case MatrixFormatKind.BitNet:
            {
                var layout = new BitNetLayout(n, k, BitNetLinearClass.Autobitlinear);
                byte[] weight = new byte[layout.WeightBytes], weightScale = new byte[layout.WeightScaleBytes];
                Quantizer.QuantizeBitNet(w, layout, weight, weightScale);
                return new BitNetLayer(format.Name, layout, weight, weightScale);
            }
            default:
                throw new ArgumentException($"{format.Name} is not a checkpoint layer", nameof(format));
        }
    }
}
