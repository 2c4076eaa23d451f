using KernelGen.Containers;
using KernelGen.Containers.Gguf;
using KernelGen.Containers.HuggingFace;
using KernelGen.Containers.Safetensors;
using KernelGen.Conversion.Gguf;
using KernelGen.Conversion.HuggingFace;
using KernelGen.Conversion.Quantization;

namespace KernelGen.Conversion;

/// <summary>
/// A planned conversion: the direction is chosen from the input container and the output kind, every tensor's target
/// is known, and everything that cannot be done has already been refused (as <see cref="NotSupportedException"/>) before
/// <see cref="Write"/> opens the output.
/// </summary>
public sealed class ConversionJob
{
    private readonly Func<string, IProgress<TensorWritten>?, CancellationToken, GgufOutputPipeline?> _write;
    private GgufOutputPipeline? _pipeline;

    private ConversionJob(string fileType, IReadOnlyList<GgufOutputTensor> tensors, Func<string, IProgress<TensorWritten>?, CancellationToken, GgufOutputPipeline?> write)
    {
        FileType = fileType;
        Tensors = tensors;
        _write = write;
    }

    /// <summary>The file type written (<c>Q4_K_M</c>, <c>F16</c>...).</summary>
    public string FileType { get; }

    /// <summary>What is written, in words (for folder outputs, which have no GGUF tensor list).</summary>
    public string? Description { get; private init; }

    /// <summary>The output tensors in order (empty for checkpoint-folder outputs).</summary>
    public IReadOnlyList<GgufOutputTensor> Tensors { get; }

    /// <summary>Round-trip error of every converted tensor, after <see cref="Write"/>.</summary>
    public IReadOnlyDictionary<string, TensorError> Errors => _pipeline?.Errors ?? new Dictionary<string, TensorError>();

    /// <summary>Plans the conversion of <paramref name="input"/> to <paramref name="outputKind"/> (<c>gguf</c>...).</summary>
    public static ConversionJob Create(IModelContainer input, string outputKind, string? type, bool pure, int threads) =>
        Create(input, outputKind, new ConversionOptions(type, pure, threads));

    /// <summary>Plans the conversion with every option (GPTQ/AWQ outputs take bits, group size and symmetry).</summary>
    public static ConversionJob Create(IModelContainer input, string outputKind, ConversionOptions options)
    {
        var (type, pure, threads) = (options.Type, options.Pure, options.Threads);
        switch (input, outputKind)
        {
            case (GgufFile gguf, "gguf"):
            {
                string typeName = type ?? throw new NotSupportedException("--type is required for GGUF -> GGUF (for example --type Q4_K_M)");
                var fileType = LlamaFileType.Parse(typeName) ?? throw new NotSupportedException($"unknown --type '{typeName}'; known: {string.Join(", ", LlamaFileType.Names)}");
                var requantizer = new GgufRequantizer(gguf, fileType, pure) { Threads = threads };
                var tensors = requantizer.OutputTensors();
                return new ConversionJob(fileType.Name, tensors, (path, progress, ct) => requantizer.Write(path, overwrite: true, progress, ct));
            }
            case (HfModelFolder folder, "gguf"):
            {
                if (type is not null && LlamaFileType.Parse(type) is null)
                    throw new NotSupportedException($"unknown --type '{type}'; known: {string.Join(", ", LlamaFileType.Names)}");
                var converter = new HfToGgufConverter(folder, type, pure);
                return new ConversionJob(converter.FileType.Name, converter.Tensors, (path, progress, ct) => converter.Write(path, overwrite: true, threads, progress, ct));
            }
            case (HfModelFolder { Checkpoint: CheckpointKind.Gptq or CheckpointKind.Awq } folder, "gptq" or "awq"):
            {
                if (type is not null) throw new NotSupportedException("--type does not apply to a GPTQ/AWQ repack; the codes, zero points and scales are kept");
                var repack = new GroupCheckpointWriter(folder, outputKind);
                string format = outputKind == "gptq" ? (repack.UsesV2 ? "GPTQ (gptq_v2 zero points: some are 0)" : "GPTQ (v1)") : "AWQ GEMM";
                return new ConversionJob(format, [], (path, _, ct) => { repack.Write(path, overwrite: true, ct); return null; })
                {
                    Description = $"{repack.Fields.Count} quantized layers repacked losslessly to {format}",
                };
            }
            case (_, "gptq" or "awq"):
            {
                if (type is not null) throw new NotSupportedException("--type does not apply to GPTQ/AWQ output; use --bits, --group-size and --sym");
                var rtn = new GroupCheckpointWriter(input, outputKind, options.Bits, options.GroupSize, options.Symmetric);
                string what = $"{rtn.Fields.Count} linear layers quantized to {outputKind.ToUpperInvariant()} {options.Bits}-bit " +
                    $"{(options.GroupSize > 0 ? $"g{options.GroupSize}" : "per-channel")} {(options.Symmetric ? "symmetric" : "asymmetric")}" +
                    (rtn.ExactLayers > 0 ? $" ({rtn.ExactLayers} copied exactly from their GGUF blocks)" : "");
                return new ConversionJob(outputKind.ToUpperInvariant(), [], (path, _, ct) => { rtn.Write(path, overwrite: true, ct); return null; }) { Description = what };
            }
            case (_, "bitnet"):
            {
                if (type is not null) throw new NotSupportedException("--type does not apply to a BitNet checkpoint");
                var bitnet = new BitNetCheckpointWriter(input);
                return new ConversionJob("BitNet", [], (path, _, ct) => { bitnet.Write(path, overwrite: true, ct); return null; })
                {
                    Description = $"{bitnet.LayerCount} linear layers ternarised to BitNet b1.58 (autobitlinear)",
                };
            }
            case (_, "safetensors" or "hf"):
            {
                var exporter = new Safetensors.SafetensorsExporter(input, type);
                string what = $"{exporter.Tensors.Count} tensors dequantized to {exporter.DType.Name()}" + (outputKind == "hf" ? " (Hugging Face folder)" : "");
                return new ConversionJob(exporter.DType.Name(), [], (path, _, ct) =>
                {
                    if (outputKind == "hf") exporter.WriteFolder(path, overwrite: true, ct); else exporter.WriteFile(path, overwrite: true, ct);
                    return null;
                })
                { Description = what };
            }
            default:
                throw new NotSupportedException($"converting {input.Kind} to '{outputKind}' is not supported yet; supported: GGUF -> GGUF, Hugging Face folder (float, GPTQ, AWQ, BitNet) -> GGUF, GPTQ <-> AWQ, anything -> safetensors/hf (F32, F16, BF16), anything -> bitnet");
        }
    }

    /// <summary>Writes the output atomically (temporary file, renamed at the end).</summary>
    public void Write(string path, IProgress<TensorWritten>? progress, CancellationToken cancellation) => _pipeline = _write(path, progress, cancellation);
}

/// <summary>Options of a conversion: the target type (GGUF and safetensors outputs), and the group quantization of GPTQ/AWQ outputs.</summary>
public sealed record ConversionOptions(string? Type, bool Pure, int Threads, int Bits = 4, int GroupSize = 128, bool Symmetric = false);
