using System.Globalization;
using KernelGen.Containers;
using KernelGen.Conversion;
using KernelGen.Conversion.Verification;
using Spectre.Console;

namespace KernelGen.Cli.Commands;

/// <summary>
/// The demo's conversion step: the sample goes to a Hugging Face folder, a GPTQ checkpoint, back to GGUF and to a
/// llama-quantize style Q8_0 file, and every result is verified against the sample tensor by tensor.
/// </summary>
public static class DemoConversion
{
    public static void Run(string sample, string work, IAnsiConsole console)
    {
        var inv = CultureInfo.InvariantCulture;
        var steps = new (string From, string To, string Kind, ConversionOptions Options, string What)[]
        {
            (sample, Path.Combine(work, "hf"), "hf", new ConversionOptions("F32", false, 2), "GGUF -> Hugging Face folder (F32, Q/K rows un-permuted)"),
            (Path.Combine(work, "hf"), Path.Combine(work, "back.gguf"), "gguf", new ConversionOptions("F32", false, 2), "Hugging Face folder -> GGUF F32"),
            (sample, Path.Combine(work, "q8.gguf"), "gguf", new ConversionOptions("Q8_0", false, 2), "GGUF -> Q8_0 (llama-quantize rules)"),
            (Path.Combine(work, "q8.gguf"), Path.Combine(work, "gptq"), "gptq", new ConversionOptions(null, false, 2, Bits: 8, GroupSize: 32, Symmetric: true), "Q8_0 -> GPTQ 8-bit g32 (exact repack)"),
            (Path.Combine(work, "gptq"), Path.Combine(work, "gptq.gguf"), "gguf", new ConversionOptions(null, false, 2), "GPTQ -> GGUF (exact Q8_0 blocks)"),
        };
        var table = new Table().Title("conversions, each verified tensor by tensor").AddColumn("step").AddColumn("compared with")
            .AddColumn(new TableColumn("bit-exact").RightAligned()).AddColumn(new TableColumn("worst relative RMS").RightAligned());
        foreach (var (from, to, kind, options, what) in steps)
        {
            using (var input = ModelOpener.Open(from))
                ConversionJob.Create(input, kind, options).Write(to, null, default);
            // Lossless steps are compared with their input, the lossy Q8_0 step with the sample it came from.
            string reference = kind == "gguf" && options.Type == "Q8_0" ? sample : from;
            using var a = ModelOpener.Open(reference);
            using var b = ModelOpener.Open(to);
            var r = ModelComparison.Compare(a, b, tolerance: 0.01);
            double worst = r.Tensors.Max(t => t.Error.Relative);
            table.AddRow(Markup.Escape(what), Markup.Escape(Path.GetFileName(reference)), $"{r.Tensors.Count(t => t.Error.BitExact)}/{r.Tensors.Count}",
                worst.ToString("P3", inv));
        }
        console.Write(table);
    }
}
