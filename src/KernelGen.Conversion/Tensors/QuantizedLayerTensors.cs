using KernelGen.Containers.Safetensors;
using KernelGen.Kernels.Generated;

namespace KernelGen.Conversion.Tensors;

/// <summary>One stored tensor of a checkpoint: its shard and header entry (the bytes stay memory-mapped).</summary>
internal readonly record struct TensorRef(SafetensorsFile File, SafetensorsTensorInfo Info)
{
    public ReadOnlySpan<byte> Data => File.GetData(Info);
}

/// <summary>
/// A GPTQ, AWQ or BitNet layer as one float tensor in nn.Linear layout <c>[out_features, in_features]</c>, decoded
/// row by row by the codec the KernelGen generator built from <c>formats/*.kgspec</c>. <see cref="Warnings"/> holds
/// what the codec's damage checks found when the layer was opened (e.g. a GPTQ v1 zero point of 0 stored as -1).
/// </summary>
public abstract class QuantizedLayerTensor : FloatTensor
{
    private protected QuantizedLayerTensor(string name, int outFeatures, int inFeatures, string storageType, IReadOnlyList<string> warnings)
        : base(name, new long[] { outFeatures, inFeatures }, storageType)
    {
        Warnings = warnings;
    }

    /// <summary>Problems found in the checkpoint's data (each at most once per layer); decoding still follows the maintained readers.</summary>
    public IReadOnlyList<string> Warnings { get; }

    /// <summary>The codes, zero points and scales in checkpoint-neutral form, or null for layers that are not group-quantized (BitNet).</summary>
    public virtual GroupQuantizedFields? ReadFields() => null;
}

internal sealed class GptqLayerTensor : QuantizedLayerTensor
{
    private readonly GPTQLayout _layout;
    private readonly TensorRef _qweight, _qzeros, _scales;
    private readonly TensorRef? _gIdx;

    public GptqLayerTensor(string name, string storageType, GPTQLayout layout, TensorRef qweight, TensorRef qzeros, TensorRef scales, TensorRef? gIdx)
        : base(name, layout.OutFeatures, layout.InFeatures, storageType, Check(layout, qweight, qzeros, scales, gIdx))
    {
        _layout = layout;
        (_qweight, _qzeros, _scales, _gIdx) = (qweight, qzeros, scales, gIdx);
    }

    private static List<string> Check(GPTQLayout layout, TensorRef qweight, TensorRef qzeros, TensorRef scales, TensorRef? gIdx)
    {
        var warnings = new List<string>();
        GPTQCodec.CheckWarnings(layout, qweight.Data, qzeros.Data, scales.Data, gIdx is { } g ? g.Data : default, warnings.Add);
        return warnings;
    }

    public override GroupQuantizedFields ReadFields()
    {
        int n = _layout.OutFeatures, k = _layout.InFeatures, groups = checked((int)_layout.GroupCount);
        var codes = new int[checked(n * k)];
        var stored = new int[n * groups];
        var scales = new ushort[n * groups];
        var groupOf = new int[k];
        GPTQCodec.DecodeFields(_layout, _qweight.Data, _qzeros.Data, _scales.Data, _gIdx is { } g ? g.Data : default, codes, stored, scales, groupOf);
        int mask = (1 << _layout.Bits) - 1;
        // v1 stores zero - 1; the maintained reader (GPTQModel) adds 1 and masks, which also undoes a stored -1.
        var zeros = _layout.Checkpoint == GPTQCheckpoint.Gptq ? Array.ConvertAll(stored, z => (z + 1) & mask) : stored;
        return new GroupQuantizedFields(n, k, _layout.Bits, _layout.GroupSize, codes, zeros, scales, groupOf);
    }

    protected override void ReadRowsCore(long firstRow, int rowCount, Span<float> destination) =>
        GPTQCodec.DecodeRows(_layout, _qweight.Data, _qzeros.Data, _scales.Data, _gIdx is { } g ? g.Data : default, checked((int)firstRow), rowCount, destination);
}

internal sealed class AwqGemmLayerTensor : QuantizedLayerTensor
{
    private readonly AWQ_GEMMLayout _layout;
    private readonly TensorRef _qweight, _qzeros, _scales;

    public AwqGemmLayerTensor(string name, string storageType, AWQ_GEMMLayout layout, TensorRef qweight, TensorRef qzeros, TensorRef scales)
        : base(name, layout.OutFeatures, layout.InFeatures, storageType, Array.Empty<string>())
    {
        _layout = layout;
        (_qweight, _qzeros, _scales) = (qweight, qzeros, scales);
    }

    public override GroupQuantizedFields ReadFields()
    {
        int n = _layout.OutFeatures, k = _layout.InFeatures, groups = checked((int)_layout.GroupCount), size = _layout.GroupSize;
        var codes = new int[checked(n * k)];
        var zeros = new int[n * groups];
        var scales = new ushort[n * groups];
        AWQ_GEMMCodec.DecodeFields(_layout, _qweight.Data, _qzeros.Data, _scales.Data, codes, zeros, scales);
        return new GroupQuantizedFields(n, k, 4, size, codes, zeros, scales, Enumerable.Range(0, k).Select(i => i / size).ToArray());
    }

    protected override void ReadRowsCore(long firstRow, int rowCount, Span<float> destination) =>
        AWQ_GEMMCodec.DecodeRows(_layout, _qweight.Data, _qzeros.Data, _scales.Data, checked((int)firstRow), rowCount, destination);
}

internal sealed class AwqGemvLayerTensor : QuantizedLayerTensor
{
    private readonly AWQ_GEMVLayout _layout;
    private readonly TensorRef _qweight, _qzeros, _scales;

    public AwqGemvLayerTensor(string name, string storageType, AWQ_GEMVLayout layout, TensorRef qweight, TensorRef qzeros, TensorRef scales)
        : base(name, layout.OutFeatures, layout.InFeatures, storageType, Array.Empty<string>())
    {
        _layout = layout;
        (_qweight, _qzeros, _scales) = (qweight, qzeros, scales);
    }

    protected override void ReadRowsCore(long firstRow, int rowCount, Span<float> destination) =>
        AWQ_GEMVCodec.DecodeRows(_layout, _qweight.Data, _qzeros.Data, _scales.Data, checked((int)firstRow), rowCount, destination);
}

internal sealed class BitNetLayerTensor : QuantizedLayerTensor
{
    private readonly BitNetLayout _layout;
    private readonly TensorRef _weight, _scale;

    public BitNetLayerTensor(string name, string storageType, BitNetLayout layout, TensorRef weight, TensorRef scale, IReadOnlyList<string> warnings)
        : base(name, layout.OutFeatures, layout.InFeatures, storageType, warnings)
    {
        _layout = layout;
        (_weight, _scale) = (weight, scale);
    }

    protected override void ReadRowsCore(long firstRow, int rowCount, Span<float> destination) =>
        BitNetCodec.DecodeRows(_layout, _weight.Data, _scale.Data, checked((int)firstRow), rowCount, destination);
}
