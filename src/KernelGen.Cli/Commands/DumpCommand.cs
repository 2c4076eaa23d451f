using System.CommandLine;
using System.Globalization;
using System.Runtime.InteropServices;
using KernelGen.Cli.Infrastructure;
using KernelGen.Containers;
using KernelGen.Conversion.Tensors;
using KernelGen.IO;

namespace KernelGen.Cli.Commands;

/// <summary>
/// <c>kernelgen dump PATH --tensor NAME [--out FILE]</c>: one tensor of any supported file, dequantized to
/// little-endian float32, row-major, outermost dimension first, so anyone can check KernelGen's decoding against
/// another tool. Without <c>--out</c> it prints a short summary instead.
/// </summary>
public static class DumpCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var path = new Argument<string>("path") { Description = "A GGUF file, a safetensors file, or a model folder (GPTQ, AWQ, BitNet checkpoints included)." };
        var tensor = new Option<string>("--tensor") { Description = "Tensor name; for a quantized checkpoint layer, the layer (model.layers.0.self_attn.q_proj) or its .weight.", Required = true };
        var output = new Option<string?>("--out") { Description = "Write the float32 data to this file (written atomically)." };
        var force = new Option<bool>("--force") { Description = "Overwrite --out if it exists." };
        var command = new Command("dump", "Dequantize one tensor to float32 (a file, or a summary on stdout).") { path, tensor, output, force };
        command.SetAction(parse => CliRunner.Run(stderr, cancellation =>
        {
            using var container = ModelOpener.Open(parse.GetValue(path)!);
            var t = ModelTensors.Open(container, parse.GetValue(tensor)!);
            if (t is QuantizedLayerTensor layer)
                foreach (string warning in layer.Warnings) stderr.WriteLine($"warning: {t.Name}: {warning}");
            if (parse.GetValue(output) is string file)
            {
                AtomicFile.Write(file, parse.GetValue(force), s => WriteFloats(t, s, cancellation));
                stdout.WriteLine($"{t.Name}: {t.StorageType} [{string.Join(", ", t.Shape)}] -> {file} ({t.ElementCount * 4:N0} bytes)");
            }
            else
            {
                PrintSummary(t, stdout);
            }
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static void WriteFloats(FloatTensor t, Stream s, CancellationToken cancellation)
    {
        int rows = t.RowsPerChunk();
        var buffer = new float[rows * t.RowLength];
        for (long r = 0; r < t.RowCount; r += rows)
        {
            cancellation.ThrowIfCancellationRequested();
            int n = (int)Math.Min(rows, t.RowCount - r);
            t.ReadRows(r, n, buffer);
            s.Write(MemoryMarshal.AsBytes(buffer.AsSpan(0, (int)(n * t.RowLength))));
        }
    }

    private static void PrintSummary(FloatTensor t, TextWriter stdout)
    {
        double sum = 0;
        float min = float.PositiveInfinity, max = float.NegativeInfinity;
        long nonFinite = 0;
        var first = new List<float>();
        int rows = t.RowsPerChunk();
        var buffer = new float[rows * t.RowLength];
        for (long r = 0; r < t.RowCount; r += rows)
        {
            int n = (int)Math.Min(rows, t.RowCount - r);
            t.ReadRows(r, n, buffer);
            foreach (float v in buffer.AsSpan(0, (int)(n * t.RowLength)))
            {
                if (first.Count < 8) first.Add(v);
                if (!float.IsFinite(v)) { nonFinite++; continue; }
                sum += v;
                if (v < min) min = v;
                if (v > max) max = v;
            }
        }
        var inv = CultureInfo.InvariantCulture;
        stdout.WriteLine($"tensor   {t.Name}");
        stdout.WriteLine($"stored   {t.StorageType}");
        stdout.WriteLine($"shape    [{string.Join(", ", t.Shape)}]  ({t.ElementCount.ToString("N0", inv)} values)");
        if (t.ElementCount > nonFinite)
        {
            stdout.WriteLine($"min      {min.ToString("G9", inv)}");
            stdout.WriteLine($"max      {max.ToString("G9", inv)}");
            stdout.WriteLine($"mean     {(sum / (t.ElementCount - nonFinite)).ToString("G9", inv)}");
        }
        if (nonFinite > 0) stdout.WriteLine($"non-finite values: {nonFinite}");
        stdout.WriteLine($"first    {string.Join(", ", first.Select(v => v.ToString("G9", inv)))}");
    }
}
