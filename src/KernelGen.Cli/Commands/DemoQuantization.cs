using System.Globalization;
using KernelGen.Containers;
using KernelGen.Conversion.Tensors;
using KernelGen.Kernels;
using Spectre.Console;

namespace KernelGen.Cli.Commands;

/// <summary>
/// The demo's quantization step: every 2-D tensor of the sample is decoded (with the generated codecs), quantized to a
/// few formats with the reference quantizers, decoded again, and the round-trip error is reported per format.
/// </summary>
public static class DemoQuantization
{
    public static readonly string[] Formats = ["Q8_0", "Q6_K", "Q5_K", "Q4_K", "Q4_0", "IQ4_XS", "Q3_K", "Q2_K", "TQ2_0"];

    public static void Run(IModelContainer container, IAnsiConsole console)
    {
        var inv = CultureInfo.InvariantCulture;
        var entries = container.Tensors.Where(t => t.Shape.Count == 2).ToList();
        var weights = entries.Select(t => ModelTensors.Open(container, t.Name)).ToList();
        var decoded = weights.Select(t =>
        {
            var data = new float[t.ElementCount];
            t.ReadRows(0, (int)t.RowCount, data);
            return data;
        }).ToList();

        var table = new Table().Title($"round trip of the sample's {weights.Count} weight matrices ({decoded.Sum(d => (long)d.Length).ToString("N0", inv)} values)")
            .AddColumn("format").AddColumn(new TableColumn("bits/weight").RightAligned()).AddColumn(new TableColumn("RMS error").RightAligned())
            .AddColumn(new TableColumn("relative RMS").RightAligned()).AddColumn(new TableColumn("max abs error").RightAligned());
        foreach (string format in Formats)
        {
            double sumSq = 0, norm = 0, maxAbs = 0;
            long n = 0, bytes = 0;
            foreach (var x in decoded)
            {
                var q = new byte[Quantizer.QuantizedBytes(format, x.Length)];
                Quantizer.Quantize(format, x, q);
                var y = new float[x.Length];
                Dequantizer.Dequantize(format, q, y);
                for (int i = 0; i < x.Length; i++)
                {
                    double e = x[i] - (double)y[i];
                    sumSq += e * e;
                    norm += x[i] * (double)x[i];
                    maxAbs = Math.Max(maxAbs, Math.Abs(e));
                }
                n += x.Length;
                bytes += q.Length;
            }
            table.AddRow(format, (8.0 * bytes / n).ToString("F3", inv), Math.Sqrt(sumSq / n).ToString("E3", inv),
                Math.Sqrt(sumSq / norm).ToString("P2", inv), maxAbs.ToString("E3", inv));
        }
        // The sample's weights are themselves decoded from quantized tensors: re-quantizing to the format they came
        // from lands on (nearly) the same grid, so its error is far below that format's error on real float weights.
        var sources = entries.GroupBy(t => t.Type).OrderByDescending(g => g.Count()).Select(g => $"{g.Count()} {g.Key}");
        table.Caption($"the sample's weights are decoded from {string.Join(", ", sources)} tensors: re-quantizing to their own format finds its grid again, so that row's error is no guide to the format's accuracy on float weights");
        console.Write(table);
    }
}
