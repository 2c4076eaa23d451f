using System.ComponentModel;
using System.Runtime.CompilerServices;
using KernelGen.Kernels.Threading;

namespace KernelGen;

/// <summary>A generated decoder (<c>&lt;F&gt;Codec.DecodeRow</c> of any assembly): whole blocks of src into dst.</summary>
public delegate void DecodeRowsKernel(ReadOnlySpan<byte> src, Span<float> dst);

/// <summary>
/// What the bodies the source generator writes for <see cref="QuantizedMatVecAttribute"/>,
/// <see cref="QuantizedMatMulAttribute"/> and <see cref="DequantizeAttribute"/> methods call: argument checks whose
/// messages name the user's method and say what to pass, and the parallel decoder. Not meant to be called by hand.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public static unsafe class GeneratedKernelSupport
{
    /// <summary>Elements decoded per work item of a parallel decode: big enough to amortise the claim.</summary>
    private const int DecodeChunkElements = 1 << 16;

    /// <summary>
    /// Resolves and checks the shape of a matrix call: K and N are the declared constants when positive, otherwise
    /// x.Length / batch and y.Length / batch; the weights must be exactly N rows of K elements.
    /// </summary>
    public static void MatMulShape(string method, string format, int blockElements, int blockBytes, int declaredK, int declaredN,
        int batch, int weightsLength, int xLength, int yLength, out int k, out int n)
    {
        bool vector = batch == 1;
        if (batch <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(batch), batch, $"{method}: batch must be at least 1.");
        }
        k = Dimension(method, "x", "K", declaredK, batch, xLength, vector);
        n = Dimension(method, "y", "N", declaredN, batch, yLength, vector);
        if (k % blockElements != 0)
        {
            throw new ArgumentException($"{method}: {format} rows are whole {blockElements}-element blocks; K = {k} (from {(vector ? "x.Length" : "x.Length / batch")}) is not a multiple of {blockElements}.", "x");
        }
        long rowBytes = (long)(k / blockElements) * blockBytes;
        if (weightsLength != rowBytes * n)
        {
            throw new ArgumentException($"{method}: N = {n} rows of K = {k} {format} elements take {rowBytes * n} bytes ({rowBytes} per row); weights has {weightsLength}.", "weights");
        }
    }

    /// <summary>
    /// Checks the lengths of a decode: whole blocks in, their elements out; with a declared shape, exactly N rows of K.
    /// </summary>
    public static void DequantizeShape(string method, string format, int blockElements, int blockBytes, int declaredK, int declaredN, int weightsLength, int yLength)
    {
        if (weightsLength % blockBytes != 0)
        {
            throw new ArgumentException($"{method}: {format} data is whole {blockBytes}-byte blocks; weights has {weightsLength} bytes.", "weights");
        }
        long elements = (long)(weightsLength / blockBytes) * blockElements;
        if (declaredK > 0 && declaredN > 0 && elements != (long)declaredK * declaredN)
        {
            throw new ArgumentException($"{method}: N = {declaredN} rows of K = {declaredK} {format} elements take {(long)declaredK * declaredN / blockElements * blockBytes} bytes; weights has {weightsLength}.", "weights");
        }
        if (declaredK > 0 && declaredN <= 0 && elements % declaredK != 0)
        {
            throw new ArgumentException($"{method}: weights decode to {elements} elements, not whole rows of K = {declaredK}.", "weights");
        }
        if (declaredN > 0 && declaredK <= 0 && elements % declaredN != 0)
        {
            throw new ArgumentException($"{method}: weights decode to {elements} elements, not N = {declaredN} whole rows.", "weights");
        }
        if (yLength != elements)
        {
            throw new ArgumentException($"{method}: {weightsLength} bytes of {format} decode to {elements} floats; y has {yLength}.", "y");
        }
    }

    /// <summary>
    /// Decodes whole blocks of <paramref name="weights"/> into <paramref name="y"/> with <paramref name="decode"/>, in
    /// chunks spread over <paramref name="pool"/>'s threads (on the calling thread when it is null).
    /// </summary>
    public static void Dequantize(DecodeRowsKernel decode, int blockElements, int blockBytes, ReadOnlySpan<byte> weights, Span<float> y, KernelThreadPool? pool)
    {
        ArgumentNullException.ThrowIfNull(decode);
        int blocks = weights.Length / blockBytes;
        int chunkBlocks = Math.Max(1, DecodeChunkElements / blockElements);
        int items = (blocks + chunkBlocks - 1) / chunkBlocks;
        if (pool is null || pool.Threads == 1 || items <= 1)
        {
            decode(weights, y);
            return;
        }
        fixed (byte* w = weights)
        fixed (float* py = y)
        {
            var job = new DecodeJob
            {
                Decode = decode,
                W = w,
                Y = py,
                Blocks = blocks,
                ChunkBlocks = chunkBlocks,
                BlockElements = blockElements,
                BlockBytes = blockBytes,
            };
            pool.For(items, &DecodeItem, Unsafe.AsPointer(ref job));
        }
    }

    private static int Dimension(string method, string span, string name, int declared, int batch, int length, bool vector)
    {
        string perRow = vector ? $"{span}.Length" : $"{span}.Length / batch";
        if (declared > 0)
        {
            if (length != (long)declared * batch)
            {
                throw new ArgumentException(vector
                    ? $"{method}: {span} must hold {name} = {declared} floats ({name} is declared on the attribute); it has {length}."
                    : $"{method}: {span} must hold batch × {name} = {batch} × {declared} floats ({name} is declared on the attribute); it has {length}.", span);
            }
            return declared;
        }
        if (length == 0 || length % batch != 0)
        {
            throw new ArgumentException(vector
                ? $"{method}: {span} is empty; {name} is taken from {perRow}."
                : $"{method}: {span} has {length} floats, not a positive multiple of batch = {batch}; {name} is taken from {perRow}.", span);
        }
        return length / batch;
    }

    private static void DecodeItem(void* state, int item)
    {
        ref DecodeJob job = ref Unsafe.AsRef<DecodeJob>(state);
        int first = item * job.ChunkBlocks;
        int count = Math.Min(job.ChunkBlocks, job.Blocks - first);
        var src = new ReadOnlySpan<byte>(job.W + (long)first * job.BlockBytes, count * job.BlockBytes);
        var dst = new Span<float>(job.Y + (long)first * job.BlockElements, count * job.BlockElements);
        job.Decode(src, dst);
    }

    private struct DecodeJob
    {
        public DecodeRowsKernel Decode;
        public byte* W;
        public float* Y;
        public int Blocks;
        public int ChunkBlocks;
        public int BlockElements;
        public int BlockBytes;
    }
}
