using System.Runtime.CompilerServices;
using KernelGen.Kernels.Generated;
using KernelGen.Kernels.Threading;

namespace KernelGen.Kernels.MatMul;

/// <summary>
/// A generated fused matrix kernel (<c>&lt;F&gt;Dot.Rows</c> of any assembly, built-in or from a user's own spec):
/// rows rowStart..rowEnd-1 of W times a batch of activation rows. See the generated class for the argument layout.
/// </summary>
public delegate void DotRowsKernel(ref byte weights, nint rowBytes, int k, int rowStart, int rowEnd, ref float x, ref sbyte xq, ref float xd, ref float xs, ref int xqs, int batch, ref float y, nint yStride);

/// <summary>
/// Stateless entry points of the generated quantized matrix kernels, for callers that manage their own weight
/// memory (generated <c>[QuantizedMatVec]</c> methods, memory-mapped GGUF tensors). W is n rows of k elements in GGUF
/// row-block layout. Activations are quantized once per call where the kernel is an integer one; rows (and batch
/// tiles) are spread over the pool's threads. No allocation per call once the per-thread scratch has grown.
/// </summary>
public static unsafe class QuantizedKernels
{
    /// <summary>Rows per work item: long sequential weight streams per claim (16 interleaved groups), still 112 items at N = 14336.</summary>
    private const int RowsPerItem = 128;

    /// <summary>Activation rows per work item in a batched call: the weight rows stay in L1/L2 across the tile.</summary>
    private const int BatchTile = 16;

    [ThreadStatic] private static Scratch? t_scratch;

    /// <summary>y = W·x.</summary>
    public static void MatVec(KernelGenFormatInfo format, ReadOnlySpan<byte> weights, int k, int n, ReadOnlySpan<float> x, Span<float> y, KernelThreadPool? pool = null) =>
        MatMul(format, weights, k, n, x, 1, y, pool);

    /// <summary>Y = X·Wᵀ: <paramref name="x"/> is batch × k, <paramref name="y"/> batch × n, both row-major.</summary>
    public static void MatMul(KernelGenFormatInfo format, ReadOnlySpan<byte> weights, int k, int n, ReadOnlySpan<float> x, int batch, Span<float> y, KernelThreadPool? pool = null)
    {
        ArgumentNullException.ThrowIfNull(format);
        MatMul(KernelOf(format), format.DotActivationKind, format.BlockElements, format.BlockBytes, format.Name, weights, k, n, x, batch, y, pool, default);
    }

    /// <summary>
    /// Runs any generated kernel (for example one generated from a user's own spec): <paramref name="activationKind"/>,
    /// <paramref name="blockElements"/> and <paramref name="blockBytes"/> are the generated class's constants.
    /// </summary>
    public static void MatMul(DotRowsKernel kernel, int activationKind, int blockElements, int blockBytes, string formatName,
        ReadOnlySpan<byte> weights, int k, int n, ReadOnlySpan<float> x, int batch, Span<float> y, KernelThreadPool? pool = null) =>
        MatMul(kernel, activationKind, blockElements, blockBytes, formatName, weights, k, n, x, batch, y, pool, default);

    internal static void MatMul(DotRowsKernel kernel, int activationKind, int blockElements, int blockBytes, string formatName,
        ReadOnlySpan<byte> weights, int k, int n, ReadOnlySpan<float> x, int batch, Span<float> y, KernelThreadPool? pool, ReadOnlySpan<int> inputOrder)
    {
        ArgumentNullException.ThrowIfNull(kernel);
        long rowBytes = MatrixShape.RowBytes(formatName, blockElements, blockBytes, k, n, weights.Length);
        Run(kernel, activationKind, rowBytes, 0, weights, k, n, x, batch, y, pool, inputOrder);
    }

    /// <summary>
    /// Y = X·Wᵀ on a matrix in the 8-row interleaved layout (<see cref="QuantizedMatrix.Interleaved"/>): groups of 8
    /// rows, each k / BlockElements · InterleavedBlockBytes bytes; activations are quantized and then broadcast per quad.
    /// </summary>
    internal static void MatMulInterleaved8(KernelGenFormatInfo format, ReadOnlySpan<byte> weights, int k, int n, ReadOnlySpan<float> x, int batch, Span<float> y, KernelThreadPool? pool, ReadOnlySpan<int> inputOrder)
    {
        var kernel = format.DotRowsInterleaved8 ?? throw new ArgumentException($"{format.Name} has no interleaved kernel.", nameof(format));
        long groupBytes = (long)(k / format.BlockElements) * format.InterleavedBlockBytes;
        if (k % format.BlockElements != 0 || weights.Length != (n + 7) / 8 * groupBytes)
        {
            throw new ArgumentException($"{(n + 7) / 8} interleaved groups of {k} {format.Name} elements take {(n + 7) / 8 * groupBytes} bytes, not {weights.Length}.", nameof(weights));
        }
        DotRowsKernel wrapped;
        lock (s_interleavedKernels)
        {
            if (!s_interleavedKernels.TryGetValue(format, out wrapped!))
            {
                wrapped = new DotRowsKernel(kernel.Invoke);
                s_interleavedKernels.Add(format, wrapped);
            }
        }
        Run(wrapped, DotActivationQ8, groupBytes, format.InterleavedActivationBlock, weights, k, n, x, batch, y, pool, inputOrder);
    }

    private const int DotActivationQ8 = 1;

    // interleavedActivationBlock: 0 for row kernels; for interleaved ones the values per activation scale (32 or 256).
    private static void Run(DotRowsKernel kernel, int activationKind, long rowBytes, int interleavedActivationBlock,
        ReadOnlySpan<byte> weights, int k, int n, ReadOnlySpan<float> x, int batch, Span<float> y, KernelThreadPool? pool, ReadOnlySpan<int> inputOrder)
    {
        MatrixShape.CheckActivations(k, n, x.Length, batch, y.Length);
        var scratch = t_scratch ??= new Scratch();
        if (!inputOrder.IsEmpty)
        {
            // Repacked act-order layouts store their columns permuted: gather x once into that order.
            Span<float> permuted = scratch.Permuted(batch * k);
            for (int b = 0; b < batch; b++)
            {
                ReadOnlySpan<float> src = x.Slice(b * k, k);
                Span<float> dst = permuted.Slice(b * k, k);
                for (int j = 0; j < k; j++)
                {
                    dst[j] = src[inputOrder[j]];
                }
            }
            x = permuted;
        }
        bool q8 = activationKind == 1;
        if (q8 && k % 32 != 0)
        {
            throw new ArgumentException($"The integer kernels quantize activations in blocks of 32; k = {k} is not a multiple.", nameof(k));
        }
        Span<sbyte> xq = q8 ? scratch.Q(batch * k) : Span<sbyte>.Empty;
        Span<float> xd = q8 ? scratch.D(batch * k / 32) : Span<float>.Empty;
        Span<float> xs = q8 ? scratch.S(batch * k / 16) : Span<float>.Empty;
        Span<int> xqs = q8 ? scratch.Quads(batch * k / 4) : Span<int>.Empty;
        bool interleaved = interleavedActivationBlock != 0;
        int sumSpan = interleavedActivationBlock == 256 ? 16 : 32; // the generated InterleavedSumSpan
        if (interleaved && k % interleavedActivationBlock != 0)
        {
            throw new ArgumentException($"The interleaved kernel quantizes activations in blocks of {interleavedActivationBlock}; k = {k} is not a multiple.", nameof(k));
        }
        if (interleavedActivationBlock == 256)
        {
            // ggml's Q8_K pairing: one scale per 256 (the k-quant kernels keep whole blocks in int32).
            for (int b = 0; b < batch; b++)
            {
                ActivationQuantizer.QuantizeBlocks256(x.Slice(b * k, k), xq.Slice(b * k, k), xd.Slice(b * k / 256, k / 256));
            }
        }
        else if (q8)
        {
            for (int b = 0; b < batch; b++)
            {
                ActivationQuantizer.Quantize(x.Slice(b * k, k), xq.Slice(b * k, k), xd.Slice(b * k / 32, k / 32), xs.Slice(b * k / 16, k / 16), xqs.Slice(b * k / 4, k / 4));
            }
        }
        if (interleaved)
        {
            // The interleaved kernels read Σxq per 32, or per 16 with the Q8_K pairing (ggml's bsums: Q6_K's sub-blocks of 16).
            Span<int> blockSums = scratch.BlockSums(batch * k / sumSpan);
            for (int b = 0; b < batch; b++)
            {
                KernelGenHelpers.ActivationSums(xq.Slice(b * k, k), blockSums.Slice(b * k / sumSpan, k / sumSpan), sumSpan);
            }
            xqs = blockSums;
        }
        fixed (byte* w = weights)
        fixed (float* px = x)
        fixed (sbyte* pq = xq)
        fixed (float* pd = xd)
        fixed (float* ps = xs)
        fixed (int* pqs = xqs)
        fixed (float* py = y)
        {
            var job = new Job
            {
                Kernel = kernel,
                W = w,
                RowBytes = (nint)rowBytes,
                K = k,
                N = n,
                X = px,
                Xq = pq,
                Xd = pd,
                Xs = ps,
                Xqs = pqs,
                Batch = batch,
                Y = py,
                XqStride = k,
                XdStride = k / (interleavedActivationBlock == 256 ? 256 : 32),
                XqsStride = interleaved ? k / sumSpan : k / 4,
                RowItems = (n + RowsPerItem - 1) / RowsPerItem,
                BatchTiles = (batch + BatchTile - 1) / BatchTile,
            };
            int items = job.RowItems * job.BatchTiles;
            if (pool is null || pool.Threads == 1 || items == 1)
            {
                for (int i = 0; i < items; i++)
                {
                    RunItem(Unsafe.AsPointer(ref job), i);
                }
            }
            else
            {
                pool.For(items, &RunItem, Unsafe.AsPointer(ref job));
            }
        }
    }

    private static void RunItem(void* state, int item)
    {
        ref Job job = ref Unsafe.AsRef<Job>(state);
        // Batch tiles of one row block are consecutive items: its weights (128 rows) stay in L2 while the tiles'
        // activations pass, instead of streaming every row block from DRAM once per tile.
        int rowItem = item / job.BatchTiles;
        int tile = item % job.BatchTiles;
        int rowStart = rowItem * RowsPerItem;
        int rowEnd = Math.Min(job.N, rowStart + RowsPerItem);
        int b0 = tile * BatchTile;
        int count = Math.Min(job.Batch - b0, BatchTile);
        nint k = job.K;
        // Null pointers (the unused activation form) become null refs the kernel never reads.
        job.Kernel(ref *job.W, job.RowBytes, job.K, rowStart, rowEnd,
            ref *(job.X + b0 * k), ref *(job.Xq is null ? null : job.Xq + b0 * job.XqStride), ref *(job.Xd is null ? null : job.Xd + b0 * job.XdStride),
            ref *(job.Xs is null ? null : job.Xs + b0 * k / 16), ref *(job.Xqs is null ? null : job.Xqs + b0 * job.XqsStride), count, ref *(job.Y + b0 * (nint)job.N), job.N);
    }

    internal static DotRowsKernel KernelOf(KernelGenFormatInfo format)
    {
        // One wrapper per format, made once: the registry's delegate type is generated per assembly.
        lock (s_kernels)
        {
            if (!s_kernels.TryGetValue(format, out var kernel))
            {
                kernel = new DotRowsKernel(format.DotRows.Invoke);
                s_kernels.Add(format, kernel);
            }
            return kernel;
        }
    }

    private static readonly Dictionary<KernelGenFormatInfo, DotRowsKernel> s_kernels = new();
    private static readonly Dictionary<KernelGenFormatInfo, DotRowsKernel> s_interleavedKernels = new();

    private struct Job
    {
        public DotRowsKernel Kernel;
        public byte* W;
        public nint RowBytes;
        public int K;
        public int N;
        public float* X;
        public sbyte* Xq;
        public float* Xd;
        public float* Xs;
        public int* Xqs;
        public nint XqStride;
        public nint XdStride;
        public nint XqsStride;
        public int Batch;
        public float* Y;
        public int RowItems;
        public int BatchTiles;
    }

    /// <summary>Grow-only per-thread buffers for quantized activations and permuted inputs.</summary>
    private sealed class Scratch
    {
        private sbyte[] _q = Array.Empty<sbyte>();
        private float[] _d = Array.Empty<float>();
        private float[] _s = Array.Empty<float>();
        private float[] _p = Array.Empty<float>();
        private int[] _qs = Array.Empty<int>();
        private int[] _bs = Array.Empty<int>();

        public Span<sbyte> Q(int n) => Grow(ref _q, n);
        public Span<float> D(int n) => Grow(ref _d, n);
        public Span<float> S(int n) => Grow(ref _s, n);
        public Span<float> Permuted(int n) => Grow(ref _p, n);
        public Span<int> Quads(int n) => Grow(ref _qs, n);
        public Span<int> BlockSums(int n) => Grow(ref _bs, n);

        private static Span<T> Grow<T>(ref T[] a, int n)
        {
            if (a.Length < n)
            {
                a = GC.AllocateUninitializedArray<T>(n, pinned: true);
            }
            return a.AsSpan(0, n);
        }
    }
}
