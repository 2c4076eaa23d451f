using System.Diagnostics;
using System.Globalization;
using KernelGen.Cli.Benchmarks;
using KernelGen.Containers.Gguf;
using KernelGen.Kernels;
using KernelGen.Kernels.MatMul;
using Spectre.Console;

namespace KernelGen.Cli.Commands;

/// <summary>
/// The demo's kernel step: <see cref="QuantizedMatrix.MatVec"/> and a batch-8 <see cref="QuantizedMatrix.MatMul"/>
/// on real weight tensors of the sample (Q4_K_M) and of the same tiny llama quantized by llama.cpp to Q8_0, on every
/// backend available here (<see cref="MatrixBackends.Available"/>: the CPU, and the GPU backend on the device
/// <see cref="GpuMatrixBackend"/> chose: CUDA, OpenCL, or ILGPU's CPU accelerator when there is no GPU), with the error
/// against a float64 reference and the time per call.
/// </summary>
public static class DemoKernels
{
    public const string Q8Resource = "KernelGen.Demo.tiny-llama-Q8_0.gguf";

    /// <summary>The tensors multiplied in each model: an attention projection, the FFN down projection and the output head.</summary>
    public static readonly string[] Tensors = ["blk.0.attn_q.weight", "blk.0.ffn_down.weight", "output.weight"];

    public const int Batch = 8;

    /// <summary>Rows of each tensor multiplied on ILGPU's CPU accelerator (the whole tensor on the CPU and on a real GPU).</summary>
    public const int CpuAcceleratorRows = 32;

    public static void Run(string sample, string work, IAnsiConsole console)
    {
        var inv = CultureInfo.InvariantCulture;
        var elapsed = Stopwatch.StartNew();
        string q8 = DemoCommand.ExtractResource(work, Q8Resource, "tiny-llama-Q8_0.gguf");
        var matrices = new List<(string Model, string Tensor, QuantizedMatrix Matrix)>();
        foreach (string path in new[] { sample, q8 })
        {
            using var gguf = GgufFile.Open(path);
            foreach (string name in Tensors)
            {
                if (gguf.Find(name) is not { Ne.Count: 2 } t || !Dequantizer.IsSupported(t.TypeId)) continue;
                var format = Dequantizer.GetFormat(t.TypeId);
                matrices.Add((Path.GetFileName(path), name, QuantizedMatrix.FromRows(format, gguf.GetData(t).ToArray(), checked((int)t.Ne[0]), checked((int)t.Ne[1]))));
            }
        }

        var table = new Table().Title($"quantized matvec and batch-{Batch} matmul on the models' own weights, against a float64 reference")
            .AddColumn("backend").AddColumn("model").AddColumn("tensor").AddColumn("type").AddColumn(new TableColumn("K x N").RightAligned())
            .AddColumn(new TableColumn("matvec").RightAligned()).AddColumn(new TableColumn("GFLOP/s").RightAligned()).AddColumn(new TableColumn("max rel error").RightAligned())
            .AddColumn(new TableColumn($"matmul x{Batch}").RightAligned()).AddColumn(new TableColumn("GFLOP/s").RightAligned()).AddColumn(new TableColumn("max rel error").RightAligned());
        double worst = 0, worstToBound = 0;
        var backends = MatrixBackends.Available(Math.Min(Environment.ProcessorCount, 4)).ToList();
        console.MarkupLine($"[bold]kernels[/]: QuantizedMatrix.MatVec and MatMul on {matrices.Count} weight tensors, on {backends.Count} backend(s):");
        foreach (var b in backends) console.MarkupLine(Markup.Escape($"  {b.Name}: {b.Description}"));
        foreach (var backend in backends)
        {
            using (backend)
            {
                var runs = new List<(string Model, string Tensor, string Label, QuantizedMatrix Matrix, int ActivationBlock, int Batch, float[] X, IMatrixSession Session)>();
                try
                {
                    // ILGPU's CPU accelerator emulates GPU threads on the host (milliseconds per call, tens for a batch):
                    // there the first CpuAcceleratorRows rows of each tensor keep the demo fast.
                    int rowLimit = backend is GpuMatrixBackend { IsCpuAccelerator: true } ? CpuAcceleratorRows : int.MaxValue;
                    foreach (var (model, tensor, full) in matrices)
                    {
                        var m = full.N <= rowLimit ? full : QuantizedMatrix.FromRows(full.Format, full.Rows.Slice(0, checked((int)(rowLimit * full.RowBytes))), full.K, rowLimit);
                        // On the CPU the 4-bit formats run twice: on their rows and on the 8-row interleaved layout.
                        var layouts = new List<(string Label, QuantizedMatrix Kernel, int ActivationBlock)> { (backend.Name, m, 32) };
                        if (backend.Name == "cpu" && m.CanInterleave) layouts.Add(("cpu, 8-row interleaved", m.Interleaved(), m.Format.InterleavedActivationBlock));
                        foreach (var (label, kernel, activationBlock) in layouts)
                        {
                            foreach (int batch in new[] { 1, Batch })
                            {
                                var x = MatrixWeights.RandomActivations(batch, m.K, seed: 11 + batch);
                                runs.Add((model, tensor, label, m, activationBlock, batch, x, backend.Open([kernel], x, batch)));
                            }
                        }
                    }
                    // Every kernel is called often enough, with pauses, for the tiered JIT to promote it before timing;
                    // GPU kernels are compiled at load (and slow on ILGPU's CPU accelerator): one untimed call each.
                    for (int round = 0; round < (backend.NeedsJitWarmUp ? 5 : 1); round++)
                    {
                        foreach (var r in runs)
                            for (int i = 0; i < (backend.NeedsJitWarmUp ? 40 : 1); i++) r.Session.Run(0);
                        if (backend.NeedsJitWarmUp) Thread.Sleep(100);
                    }
                    QuantizedMatrix Full((string Model, string Tensor) key) => matrices.First(t => t.Model == key.Model && t.Tensor == key.Tensor).Matrix;
                    foreach (var group in runs.GroupBy(r => (r.Model, r.Tensor, r.Label)))
                    {
                        var m = group.First().Matrix;
                        var full = Full((group.Key.Model, group.Key.Tensor));
                        var cells = new List<string> { group.Key.Label, group.Key.Model, group.Key.Tensor, m.Format.Name, m.N == full.N ? $"{m.K} x {m.N}" : $"{m.K} x {m.N} of {full.N}" };
                        foreach (var r in group)
                        {
                            double seconds = MedianSeconds(() => r.Session.Run(0), budgetSeconds: 0.03);
                            var y = new float[r.Batch * m.N];
                            r.Session.ReadOutput(y);
                            long rowBytes = m.RowBytes;
                            var rows = m.Rows;
                            // CPU integer kernels quantize x to int8 blocks: their error is judged against that bound;
                            // float kernels (the GPU's) against the float64 reference directly.
                            bool quantized = backend.Name == "cpu" && m.Format.DotActivationKind == 1;
                            var (error, toBound) = MatrixError.Measure(
                                (row, dst) => m.Format.DecodeRowScalar(rows.Span.Slice((int)(row * rowBytes), (int)rowBytes), dst),
                                m.K, m.N, r.X, r.Batch, y, Enumerable.Range(0, m.N).ToArray(), quantized, r.ActivationBlock);
                            if (toBound is double ratio)
                            {
                                worstToBound = Math.Max(worstToBound, ratio);
                            }
                            else
                            {
                                worst = Math.Max(worst, error);
                            }
                            cells.Add(BenchMatrixCommand.Duration(seconds));
                            cells.Add((2.0 * m.K * m.N * r.Batch / seconds / 1e9).ToString("F2", inv));
                            cells.Add(error.ToString("0.00e+00", inv));
                        }
                        table.AddRow(cells.Select(Markup.Escape).ToArray());
                    }
                }
                finally
                {
                    foreach (var r in runs) r.Session.Dispose();
                }
            }
        }
        console.Write(table);
        console.MarkupLine(Markup.Escape($"worst error {worst.ToString("0.00e+00", inv)} for float kernels (|y - ref| / sum_k |W[r,k]*x[k]| per output); " +
            $"integer kernels at most {worstToBound.ToString("0.00", inv)} of their int8-activation bound (tiny, cache-resident matrices: " +
            "the times show per-call overhead, not DRAM speed; `kernelgen bench matvec` measures that); " +
            $"{elapsed.Elapsed.TotalSeconds.ToString("F1", inv)} s"));
    }

    private static double MedianSeconds(Action call, double budgetSeconds)
    {
        long start = Stopwatch.GetTimestamp();
        call();
        double once = Math.Max(1e-7, Stopwatch.GetElapsedTime(start).TotalSeconds);
        int runs = (int)Math.Clamp(budgetSeconds / once, 5, 2001);
        return BenchTimer.Percentile(BenchTimer.SortedTimes(call, runs), 0.5);
    }
}
