using System.Globalization;
using System.Text.RegularExpressions;
using KernelGen.Cli.Infrastructure;
using KernelGen.Kernels;
using KernelGen.Kernels.Generated;

namespace KernelGen.Cli.Benchmarks;

/// <summary>What kind of weights a <c>bench matvec|matmul --format</c> name stands for.</summary>
public enum MatrixFormatKind
{
    /// <summary>A GGUF block format (Q4_0, Q4_K, TQ2_0, F16, ...): rows used in place.</summary>
    Block,

    /// <summary>A GPTQ checkpoint layer (v1 zeros, symmetric RTN, no act-order), repacked for the kernels.</summary>
    Gptq,

    /// <summary>An AutoAWQ WQLinear_GEMM layer (4-bit, asymmetric RTN), repacked for the kernels.</summary>
    Awq,

    /// <summary>A BitNet b1.58 Hugging Face layer (ternary, autobitlinear), repacked for the kernels.</summary>
    BitNet,
}

/// <summary>
/// A <c>--format</c> of <c>bench matvec|matmul</c>: a block format the registry knows (and can quantize to), or a
/// checkpoint layer: <c>GPTQ{2,3,4,8}-g{size}</c> or <c>GPTQ{bits}-pc</c> (per channel), <c>AWQ4-g{size}</c>,
/// <c>BitNet</c>.
/// </summary>
public sealed partial record MatrixFormat(string Name, MatrixFormatKind Kind, KernelGenFormatInfo? Block, int Bits, int GroupSize)
{
    /// <summary>Examples of the tensor-level names, for help and error messages.</summary>
    public const string TensorNames = "GPTQ4-g128, AWQ4-g128, BitNet (also GPTQ{2,3,4,8}-g{size}, GPTQ{bits}-pc, AWQ4-g{size})";

    /// <summary>The block formats that can be benchmarked: every registry format that has a quantizer to make the data.</summary>
    public static IEnumerable<string> BlockNames =>
        Dequantizer.Formats.Select(f => f.Name).Where(Quantizer.IsSupported);

    /// <summary>Inputs per block: K must be a multiple of this (the group size of a grouped layer).</summary>
    public int Granule => Kind switch
    {
        MatrixFormatKind.Block => Block!.BlockElements,
        MatrixFormatKind.Gptq or MatrixFormatKind.Awq when GroupSize > 0 => GroupSize,
        _ => 32,
    };

    /// <summary>Parses a <c>--format</c> word (case-insensitive); a usage error listing the valid names otherwise.</summary>
    public static MatrixFormat Parse(string word)
    {
        ArgumentNullException.ThrowIfNull(word);
        word = word.Trim();
        if (Dequantizer.IsSupported(word))
        {
            var f = Dequantizer.GetFormat(word);
            if (!Quantizer.IsSupported(f.Name))
                throw new CliUsageException($"format {f.Name} has no quantizer to make benchmark weights; known: {string.Join(", ", BlockNames)}, {TensorNames}");
            return new MatrixFormat(f.Name, MatrixFormatKind.Block, f, 0, 0);
        }
        if (GptqName().Match(word) is { Success: true } g)
        {
            int bits = int.Parse(g.Groups[1].Value, CultureInfo.InvariantCulture);
            int group = g.Groups[3].Success ? -1 : ParseGroup(g.Groups[2].Value, word);
            if (bits is not (2 or 3 or 4 or 8)) throw new CliUsageException($"format '{word}': GPTQ has 2, 3, 4 or 8 bits");
            return new MatrixFormat(group < 0 ? $"GPTQ{bits}-pc" : $"GPTQ{bits}-g{group}", MatrixFormatKind.Gptq, null, bits, group);
        }
        if (AwqName().Match(word) is { Success: true } a)
        {
            int group = ParseGroup(a.Groups[1].Value, word);
            return new MatrixFormat($"AWQ4-g{group}", MatrixFormatKind.Awq, null, 4, group);
        }
        if (word.Equals("BitNet", StringComparison.OrdinalIgnoreCase))
            return new MatrixFormat("BitNet", MatrixFormatKind.BitNet, null, 2, 0);
        throw new CliUsageException($"unknown format '{word}'; known: {string.Join(", ", BlockNames)}, {TensorNames}");
    }

    /// <summary>Checks K and N for this format (usage errors, one line each).</summary>
    public void CheckShape(int k, int n)
    {
        if (k <= 0) throw new CliUsageException($"--k {k}: K must be positive");
        if (k % Granule != 0)
            throw new CliUsageException(Kind == MatrixFormatKind.Block
                ? $"--k {k}: not a multiple of {Name}'s block size ({Granule} elements)"
                : $"--k {k}: not a multiple of {Name}'s {(GroupSize > 0 ? "group size" : "block size")} ({Granule} inputs)");
        if (n <= 0) throw new CliUsageException($"--n {n}: N must be positive");
        if (Kind == MatrixFormatKind.Awq && n % 8 != 0)
            throw new CliUsageException($"--n {n}: AWQ GEMM packs 8 outputs per word, N must be a multiple of 8");
    }

    private static int ParseGroup(string text, string word) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int g) && g >= 1 && g <= 1 << 20
            ? g
            : throw new CliUsageException($"format '{word}': the group size must be a positive integer");

    [GeneratedRegex(@"^GPTQ(\d)-(?:g(\d+)|(pc))$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex GptqName();

    [GeneratedRegex(@"^AWQ4?-g(\d+)$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex AwqName();
}
