using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using KernelGen.Containers;
using KernelGen.Containers.Gguf;
using KernelGen.Containers.HuggingFace;
using KernelGen.Containers.Safetensors;
using KernelGen.Conversion.HuggingFace;
using KernelGen.Conversion.Tensors;
using KernelGen.IO;
using KernelGen.Kernels;

namespace KernelGen.Conversion.Safetensors;

/// <summary>
/// Any container → safetensors F32/F16/BF16, dequantized (FORMATS.md §7.6): GGUF tensors of a llama-family model get
/// their Hugging Face names back and llama's Q/K rows un-permuted; checkpoint layers (GPTQ/AWQ/BitNet) become plain
/// <c>.weight</c> tensors. Streaming: each tensor is decoded and converted when the writer reaches it. As a Hugging Face
/// folder (<c>--to hf</c>) the output also gets a config.json built from the GGUF metadata.
/// </summary>
public sealed class SafetensorsExporter
{
    private readonly IModelContainer _source;
    private readonly List<(string Name, FloatTensor Tensor)> _tensors = new();

    public SafetensorsExporter(IModelContainer source, string? typeName)
    {
        _source = source;
        DType = (typeName ?? "F32").ToUpperInvariant() switch
        {
            "F32" => SafetensorsDType.F32,
            "F16" => SafetensorsDType.F16,
            "BF16" => SafetensorsDType.BF16,
            _ => throw new NotSupportedException($"safetensors output takes --type F32, F16 or BF16, not '{typeName}'"),
        };
        _tensors.AddRange(CanonicalTensors.Enumerate(source));
    }

    /// <summary>The output dtype.</summary>
    public SafetensorsDType DType { get; }

    /// <summary>Output tensor names and their sources, in order.</summary>
    public IReadOnlyList<(string Name, FloatTensor Tensor)> Tensors => _tensors;

    /// <summary>Writes one safetensors file atomically.</summary>
    public void WriteFile(string path, bool overwrite, CancellationToken cancellation = default) =>
        BuildWriter(cancellation).WriteFile(path, overwrite, cancellation);

    /// <summary>Writes a Hugging Face folder: model.safetensors and a config.json from the GGUF metadata.</summary>
    public void WriteFolder(string folder, bool overwrite, CancellationToken cancellation = default) =>
        FolderWriter.Write(folder, overwrite, temp =>
        {
            BuildWriter(cancellation).WriteFile(Path.Combine(temp, "model.safetensors"), false, cancellation);
            if (_source is GgufFile g && HfConfigBuilder.FromGguf(g, TorchDType(DType)) is { } config) File.WriteAllText(Path.Combine(temp, "config.json"), config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            if (_source is HfModelFolder hf) FolderWriter.CopyCompanionFiles(hf.Path, temp);
        });

    private static string TorchDType(SafetensorsDType d) => d switch { SafetensorsDType.F16 => "float16", SafetensorsDType.BF16 => "bfloat16", _ => "float32" };

    private SafetensorsWriter BuildWriter(CancellationToken cancellation)
    {
        var writer = new SafetensorsWriter { PreserveOrder = true };
        writer.AddMetadata("format", "pt");
        int elementBytes = DType == SafetensorsDType.F32 ? 4 : 2;
        foreach (var (name, tensor) in _tensors)
        {
            var t = tensor;
            writer.AddTensor(name, DType, t.Shape, TensorDataSource.FromCallback(t.ElementCount * elementBytes, (s, ct) => WriteConverted(t, s, elementBytes, ct)));
        }
        return writer;
    }

    private void WriteConverted(FloatTensor t, Stream output, int elementBytes, CancellationToken cancellation)
    {
        int rows = t.RowsPerChunk();
        var floats = new float[rows * t.RowLength];
        var bytes = new byte[rows * t.RowLength * elementBytes];
        string format = DType.Name();
        for (long r = 0; r < t.RowCount; r += rows)
        {
            cancellation.ThrowIfCancellationRequested();
            int n = (int)Math.Min(rows, t.RowCount - r);
            int count = (int)(n * t.RowLength);
            t.ReadRows(r, n, floats);
            if (elementBytes == 4) MemoryMarshal.AsBytes(floats.AsSpan(0, count)).CopyTo(bytes);
            else Quantizer.Quantize(format, floats.AsSpan(0, count), bytes);
            output.Write(bytes, 0, count * elementBytes);
        }
    }
}
