namespace KernelGen.Conversion.Tensors;

/// <summary>
/// llama.cpp's BitNet <c>weight_quant</c> applied on the fly (FORMATS.md §7.7): <c>s = max(mean|W|, 1e-5)</c>,
/// <c>W' = clamp(round_half_even(W · (1/s)), −1, 1) / (1/s)</c> in float32, so a float BitNet checkpoint's linear
/// weights reach GGUF already ternary.
/// </summary>
public sealed class BitNetFakeQuantTensor : FloatTensor
{
    private readonly FloatTensor _inner;
    private float _inverseScale = float.NaN;

    public BitNetFakeQuantTensor(FloatTensor inner) : base(inner.Name, inner.Shape, inner.StorageType + " (BitNet weight_quant)") => _inner = inner;

    private float InverseScale()
    {
        if (!float.IsNaN(_inverseScale)) return _inverseScale;
        double sum = 0;
        int rows = _inner.RowsPerChunk();
        var buffer = new float[rows * _inner.RowLength];
        for (long r = 0; r < _inner.RowCount; r += rows)
        {
            int n = (int)Math.Min(rows, _inner.RowCount - r);
            _inner.ReadRows(r, n, buffer);
            foreach (float v in buffer.AsSpan(0, (int)(n * _inner.RowLength))) sum += MathF.Abs(v);
        }
        float s = MathF.Max((float)(sum / Math.Max(1, _inner.ElementCount)), 1e-5f);
        return _inverseScale = 1 / s;
    }

    protected override void ReadRowsCore(long firstRow, int rowCount, Span<float> destination)
    {
        float inv = InverseScale();
        _inner.ReadRows(firstRow, rowCount, destination);
        for (int i = 0; i < destination.Length; i++)
            destination[i] = Math.Clamp(MathF.Round(destination[i] * inv, MidpointRounding.ToEven), -1f, 1f) / inv;
    }
}
