using System.Diagnostics;
using KernelGen.Cli.Infrastructure;
using KernelGen.Containers;
using KernelGen.Containers.Gguf;
using KernelGen.Conversion;
using KernelGen.IO;
using KernelGen.Kernels;

namespace KernelGen.Cli.Benchmarks;

/// <summary>The figures of one large conversion.</summary>
public sealed record ConvertResult(string Type, long InputBytes, long OutputBytes, long Parameters, double WriteInputSeconds, double ConvertSeconds,
    long? PeakResidentBytes, long? PeakAnonymousBytes, long LargestTensorBytes)
{
    public double InputGBps => InputBytes / ConvertSeconds / 1e9;
    public double ParametersPerSecond => Parameters / ConvertSeconds;
}

/// <summary>
/// <c>kernelgen bench convert</c>: writes a synthetic llama-shaped F16 GGUF of the requested size (streamed, random
/// weights), converts it, and reports time, throughput and the process's peak resident memory, which must stay bounded
/// by the largest tensor times a small constant whatever the model size.
/// </summary>
public static class ConvertBenchmark
{
    public static ConvertResult Run(string folder, double gigabytes, string type, int threads)
    {
        const int embedding = 4096, ff = 11008, vocab = 32000;
        long perLayer = 2L * (4L * embedding * embedding + 3L * embedding * ff);
        int layers = (int)Math.Max(1, Math.Ceiling((gigabytes * 1e9 - 2L * 2 * vocab * embedding) / perLayer));
        var md = new GgufMetadata();
        md.Set("general.architecture", GgufValue.String("llama"));
        md.Set("llama.block_count", GgufValue.UInt32((uint)layers));
        md.Set("llama.embedding_length", GgufValue.UInt32(embedding));
        md.Set("llama.feed_forward_length", GgufValue.UInt32(ff));
        md.Set("llama.attention.head_count", GgufValue.UInt32(32));
        md.Set("llama.attention.head_count_kv", GgufValue.UInt32(32));
        var writer = new GgufWriter(md);
        void Add(string name, long cols, long rows)
        {
            long seed = name.GetHashCode(StringComparison.Ordinal);
            writer.AddTensor(name, rows == 1 ? [cols] : [cols, rows], rows == 1 ? 0u : 1u, TensorDataSource.FromCallback(cols * rows * (rows == 1 ? 4 : 2), (s, _) => WriteRandom(s, cols, rows, seed)));
        }
        Add("token_embd.weight", embedding, vocab);
        Add("output_norm.weight", embedding, 1);
        Add("output.weight", embedding, vocab);
        for (int i = 0; i < layers; i++)
        {
            Add($"blk.{i}.attn_norm.weight", embedding, 1);
            foreach (string n in new[] { "attn_q", "attn_k", "attn_v", "attn_output" }) Add($"blk.{i}.{n}.weight", embedding, embedding);
            Add($"blk.{i}.ffn_norm.weight", embedding, 1);
            Add($"blk.{i}.ffn_gate.weight", embedding, ff);
            Add($"blk.{i}.ffn_up.weight", embedding, ff);
            Add($"blk.{i}.ffn_down.weight", ff, embedding);
        }
        string input = Path.Combine(folder, "synthetic-f16.gguf"), output = Path.Combine(folder, $"synthetic-{type}.gguf");
        var clock = Stopwatch.StartNew();
        writer.WriteFile(input, overwrite: true);
        double writeSeconds = clock.Elapsed.TotalSeconds;
        long parameters = 0, largest = 0;
        GC.Collect();
        clock.Restart();
        long? peakAnonymous = PeakMemory.PeakAnonymousDuring(() =>
        {
            using var source = ModelOpener.Open(input);
            parameters = source.Tensors.Sum(t => t.ElementCount);
            largest = source.Tensors.Max(t => t.Bytes ?? 0);
            ConversionJob.Create(source, "gguf", new ConversionOptions(type, Pure: false, Threads: threads)).Write(output, null, default);
        });
        double convertSeconds = clock.Elapsed.TotalSeconds;
        return new ConvertResult(type, new FileInfo(input).Length, new FileInfo(output).Length, parameters, writeSeconds, convertSeconds,
            PeakMemory.PeakResidentBytes(), peakAnonymous, largest);
    }

    // Normal-ish values (sum of uniforms) * 0.02 as F16, or 1 + small noise as F32 norms; generated in slabs.
    private static void WriteRandom(Stream s, long cols, long rows, long seed)
    {
        var random = new Random((int)seed);
        var floats = new float[cols * Math.Min(rows, 64)];
        var bytes = new byte[floats.Length * 2];
        for (long r = 0; r < rows; r += 64)
        {
            int n = (int)Math.Min(64, rows - r);
            var chunk = floats.AsSpan(0, (int)(n * cols));
            for (int i = 0; i < chunk.Length; i++) chunk[i] = (float)(random.NextDouble() + random.NextDouble() - 1) * (rows == 1 ? 0.1f : 0.03f) + (rows == 1 ? 1 : 0);
            if (rows == 1)
            {
                s.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(chunk));
                continue;
            }
            Quantizer.Quantize("F16", chunk, bytes);
            s.Write(bytes, 0, chunk.Length * 2);
        }
    }
}
