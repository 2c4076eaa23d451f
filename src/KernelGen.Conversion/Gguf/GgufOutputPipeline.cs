using System.Collections.Concurrent;
using KernelGen.Containers.Gguf;
using KernelGen.Conversion.Tensors;
using KernelGen.Formats;
using KernelGen.IO;
using KernelGen.Kernels;

namespace KernelGen.Conversion.Gguf;

/// <summary>
/// One tensor of a GGUF being written: raw bytes copied from a source when <see cref="CopyFrom"/> is set (the bytes
/// must already be <see cref="TargetType"/>), otherwise the float rows of <see cref="Source"/> quantized to it.
/// </summary>
public sealed record GgufOutputTensor(string Name, IReadOnlyList<long> Ne, GgmlType TargetType, string SourceType, FloatTensor? Source, Func<Stream>? CopyFrom)
{
    /// <summary>Bytes of the tensor in the output file.</summary>
    public long Bytes
    {
        get
        {
            long rows = 1;
            for (int i = 1; i < Ne.Count; i++) rows *= Ne[i];
            return GgmlTypeInfo.Of(TargetType).RowBytes(Ne.Count > 0 ? Ne[0] : 1) * rows;
        }
    }

    /// <summary>True when the bytes are copied unchanged.</summary>
    public bool IsCopy => CopyFrom is not null;
}

/// <summary>
/// Writes a GGUF from planned tensors, streaming: each tensor is produced when the writer reaches it, float sources
/// quantized in slabs of rows on <see cref="Threads"/> threads (ggml's quantizers are row-local, so the split does not
/// change a byte), and the round-trip error of every quantized tensor is measured on the way.
/// </summary>
public sealed class GgufOutputPipeline
{
    private readonly ConcurrentDictionary<string, TensorError> _errors = new();

    /// <summary>Threads quantizing each tensor's rows.</summary>
    public int Threads { get; init; } = Environment.ProcessorCount;

    /// <summary>Round-trip error of every quantized tensor (decoded output against the float input).</summary>
    public IReadOnlyDictionary<string, TensorError> Errors => _errors;

    public void Write(string path, bool overwrite, GgufMetadata metadata, IReadOnlyList<GgufOutputTensor> tensors,
        IProgress<TensorWritten>? progress = null, CancellationToken cancellation = default)
    {
        var writer = new GgufWriter(metadata);
        foreach (var t in tensors)
        {
            var tensor = t;
            var data = t.CopyFrom is { } open
                ? TensorDataSource.FromStream(t.Bytes, open)
                : TensorDataSource.FromCallback(t.Bytes, (s, ct) => Quantize(tensor, s, ct));
            writer.AddTensor(t.Name, t.Ne, (uint)t.TargetType, data);
        }
        writer.WriteFile(path, overwrite, progress, cancellation);
    }

    private void Quantize(GgufOutputTensor t, Stream output, CancellationToken cancellation)
    {
        var tensor = t.Source ?? throw new InvalidOperationException($"tensor '{t.Name}' has no source");
        string target = t.TargetType.ToString();
        long rowBytes = t.Bytes / Math.Max(1, tensor.RowCount);
        // Slabs of rows keep memory bounded for huge tensors; rows within a slab are split between the threads.
        int slabRows = (int)Math.Clamp((64L << 20) / Math.Max(1, rowBytes + 4 * tensor.RowLength), 1, Math.Max(1, tensor.RowCount));
        var buffer = new byte[slabRows * rowBytes];
        var error = new TensorErrorAccumulator();
        for (long first = 0; first < tensor.RowCount; first += slabRows)
        {
            cancellation.ThrowIfCancellationRequested();
            int rows = (int)Math.Min(slabRows, tensor.RowCount - first);
            int workers = Math.Clamp(Threads, 1, rows);
            int perWorker = (rows + workers - 1) / workers;
            Parallel.For(0, workers, new ParallelOptions { MaxDegreeOfParallelism = workers, CancellationToken = cancellation }, w =>
            {
                int start = w * perWorker, count = Math.Min(perWorker, rows - start);
                if (count <= 0) return;
                var floats = new float[count * tensor.RowLength];
                tensor.ReadRows(first + start, count, floats);
                var quantized = buffer.AsSpan((int)(start * rowBytes), (int)(count * rowBytes));
                Quantizer.Quantize(target, floats, quantized);
                var decoded = new float[floats.Length];
                Dequantizer.Dequantize(target, quantized, decoded);
                error.Add(floats, decoded);
            });
            output.Write(buffer, 0, (int)(rows * rowBytes));
        }
        _errors[t.Name] = error.Result;
    }
}
