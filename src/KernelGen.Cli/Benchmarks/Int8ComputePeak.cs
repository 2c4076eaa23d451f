using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using KernelGen.Kernels.Threading;

namespace KernelGen.Cli.Benchmarks;

/// <summary>
/// The compute ceiling of the integer kernels on this machine, measured in-process on the kernel's own threads, as
/// <see cref="MemoryBandwidth"/> measures the memory ceiling: the rate of the byte dot-product instruction the
/// interleaved kernels are built on, with nothing else in the loop (eight independent accumulators, the activation
/// operand loaded from an L1-resident buffer). Candidates: <c>vpmaddubsw</c> zmm + <c>vpaddw</c> (AVX-512BW: 64
/// products per pair), <c>vpmaddubsw</c> ymm + <c>vpaddw</c> (AVX2: 32) and <c>vpdpbusd</c> ymm (AVX-VNNI: 32 in one
/// instruction); the fastest one here is the ceiling. Reported as 2 × products per second, the unit of
/// <c>gflop_per_s</c>, so <c>gflop_per_s / int8_peak_gop_per_s</c> is the fraction of it a kernel reaches. A real
/// kernel also decodes weights, applies scales and converts to float, so it stays below this bound.
/// </summary>
public static unsafe class Int8ComputePeak
{
    private const int BufferBytes = 4096;
    private const long ItersPerItem = 8_000_000;

    /// <summary>
    /// Every candidate instruction this CPU has, with its rate in 10^9 operations per second (multiply and add
    /// counted apart), fastest first; empty off x86 AVX2. The first is the ceiling.
    /// </summary>
    public static IReadOnlyList<(string Instruction, double GopPerSecond)> Measure(KernelThreadPool pool)
    {
        ArgumentNullException.ThrowIfNull(pool);
        var rates = new List<(string, double)>();
        if (!Avx2.IsSupported) return rates;
        rates.Add(("vpmaddubsw ymm + vpaddw", Rate(pool, &Loop<MaddYmm, Vector256<short>, Vector256<byte>>, 8 * 32)));
        if (Avx512BW.IsSupported) rates.Add(("vpmaddubsw zmm + vpaddw", Rate(pool, &Loop<MaddZmm, Vector512<short>, Vector512<byte>>, 8 * 64)));
        if (AvxVnni.IsSupported) rates.Add(("vpdpbusd ymm", Rate(pool, &Loop<DotVnni, Vector256<int>, Vector256<byte>>, 8 * 32)));
        return rates.OrderByDescending(r => r.Item2).ToList();
    }

    private struct Job
    {
        public delegate*<byte*, long, long> Loop;
        public long Sink;
    }

    // Best of five timed rounds after one untimed round (the tiered JIT compiles the loop with full optimization
    // from the start: AggressiveOptimization).
    private static double Rate(KernelThreadPool pool, delegate*<byte*, long, long> loop, int productsPerIter)
    {
        var job = new Job { Loop = loop };
        int items = pool.Threads;
        pool.For(items, &Item, &job);
        double best = 0;
        for (int round = 0; round < 5; round++)
        {
            long start = System.Diagnostics.Stopwatch.GetTimestamp();
            pool.For(items, &Item, &job);
            double seconds = System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalSeconds;
            best = Math.Max(best, 2.0 * productsPerIter * ItersPerItem * items / seconds / 1e9);
        }
        GC.KeepAlive(job.Sink);
        return best;
    }

    private static void Item(void* state, int item)
    {
        var job = (Job*)state;
        byte* buffer = (byte*)NativeMemory.AlignedAlloc(BufferBytes + 256, 64);
        try
        {
            for (int i = 0; i < BufferBytes + 256; i++) buffer[i] = (byte)(i * 37 + item);
            // A racy add is fine: the store only keeps the results alive.
            job->Sink += job->Loop(buffer, ItersPerItem);
        }
        finally
        {
            NativeMemory.AlignedFree(buffer);
        }
    }

    /// <summary>One candidate instruction: its accumulator and weight vectors, one accumulate step, the final sum.</summary>
    private interface IDotStep<TAcc, TWeights>
    {
        /// <summary>Bytes of activations one step reads.</summary>
        static abstract int Width { get; }

        static abstract TWeights LoadWeights(byte* p);

        static abstract TAcc Step(TAcc acc, TWeights w, sbyte* x);

        static abstract long Sum(TAcc acc);
    }

    // Each iteration reads a fresh 256-byte slice, so no product is loop-invariant; the weights operand stays in a
    // register, as in the kernels (decoded once, multiplied by several activation rows). The struct type arguments
    // make the JIT compile one loop per instruction with the step inlined.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static long Loop<TStep, TAcc, TWeights>(byte* a, long iters)
        where TStep : struct, IDotStep<TAcc, TWeights>
        where TAcc : struct
    {
        int width = TStep.Width;
        TWeights w0 = TStep.LoadWeights(a), w1 = TStep.LoadWeights(a + 64);
        TAcc s0 = default, s1 = default, s2 = default, s3 = default, s4 = default, s5 = default, s6 = default, s7 = default;
        for (long i = 0; i < iters; i++)
        {
            sbyte* p = (sbyte*)a + ((i & (BufferBytes / 256 - 1)) << 8);
            s0 = TStep.Step(s0, w0, p);
            s1 = TStep.Step(s1, w0, p + width);
            s2 = TStep.Step(s2, w0, p + 2 * width);
            s3 = TStep.Step(s3, w0, p + 3 * width);
            s4 = TStep.Step(s4, w1, p);
            s5 = TStep.Step(s5, w1, p + width);
            s6 = TStep.Step(s6, w1, p + 2 * width);
            s7 = TStep.Step(s7, w1, p + 3 * width);
        }
        return TStep.Sum(s0) + TStep.Sum(s1) + TStep.Sum(s2) + TStep.Sum(s3) + TStep.Sum(s4) + TStep.Sum(s5) + TStep.Sum(s6) + TStep.Sum(s7);
    }

    private struct MaddZmm : IDotStep<Vector512<short>, Vector512<byte>>
    {
        public static int Width => 64;
        public static Vector512<byte> LoadWeights(byte* p) => Vector512.Load(p);
        public static Vector512<short> Step(Vector512<short> acc, Vector512<byte> w, sbyte* x) => acc + Avx512BW.MultiplyAddAdjacent(w, Vector512.Load(x));
        public static long Sum(Vector512<short> acc) => Vector512.Sum(acc);
    }

    private struct MaddYmm : IDotStep<Vector256<short>, Vector256<byte>>
    {
        public static int Width => 32;
        public static Vector256<byte> LoadWeights(byte* p) => Vector256.Load(p);
        public static Vector256<short> Step(Vector256<short> acc, Vector256<byte> w, sbyte* x) => acc + Avx2.MultiplyAddAdjacent(w, Vector256.Load(x));
        public static long Sum(Vector256<short> acc) => Vector256.Sum(acc);
    }

    private struct DotVnni : IDotStep<Vector256<int>, Vector256<byte>>
    {
        public static int Width => 32;
        public static Vector256<byte> LoadWeights(byte* p) => Vector256.Load(p);
        public static Vector256<int> Step(Vector256<int> acc, Vector256<byte> w, sbyte* x) => AvxVnni.MultiplyWideningAndAdd(acc, w, Vector256.Load(x));
        public static long Sum(Vector256<int> acc) => Vector256.Sum(acc);
    }
}
