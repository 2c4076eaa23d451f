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
        int slabRows = (int)Math.Clamp((32L << 20) / Math.Max(1, rowBytes + 8 * tensor.RowLength), 1, Math.Max(1, tensor.RowCount));
        var buffer = new byte[slabRows * rowBytes];
        var error = new TensorErrorAccumulator();
        int workers = (int)Math.Clamp(Threads, 1, Math.Min(slabRows, Math.Max(1, tensor.RowCount)));
        int perWorker = (slabRows + workers - 1) / workers;
        // One pair of float buffers per worker for the whole tensor: reused slab after slab, so the heap stays at
        // a few slabs whatever the tensor size (no large-object churn for the GC to lag behind).
        var floats = new float[workers][];
        var decoded = new float[workers][];
        for (int w = 0; w < workers; w++)
        {
            floats[w] = System.Buffers.ArrayPool<float>.Shared.Rent((int)(perWorker * tensor.RowLength));
            decoded[w] = System.Buffers.ArrayPool<float>.Shared.Rent((int)(perWorker * tensor.RowLength));
        }
        try
        {
            for (long first = 0; first < tensor.RowCount; first += slabRows)
            {
                cancellation.ThrowIfCancellationRequested();
                int rows = (int)Math.Min(slabRows, tensor.RowCount - first);
                int per = (rows + workers - 1) / workers;
                Parallel.For(0, workers, new ParallelOptions { MaxDegreeOfParallelism = workers, CancellationToken = cancellation }, w =>
                {
                    int start = w * per, count = Math.Min(per, rows - start);
                    if (count <= 0) return;
                    var x = floats[w].AsSpan(0, (int)(count * tensor.RowLength));
                    var y = decoded[w].AsSpan(0, x.Length);
                    tensor.ReadRows(first + start, count, x);
                    var quantized = buffer.AsSpan((int)(start * rowBytes), (int)(count * rowBytes));
                    Quantizer.Quantize(target, x, quantized);
                    Dequantizer.Dequantize(target, quantized, y);
                    error.Add(x, y);
                });
                output.Write(buffer, 0, (int)(rows * rowBytes));
            }
        }
        finally
        {
            for (int w = 0; w < workers; w++)
            {
                System.Buffers.ArrayPool<float>.Shared.Return(floats[w]);
                System.Buffers.ArrayPool<float>.Shared.Return(decoded[w]);
            }
        }
        _errors[t.Name] = error.Result;
    }
}
