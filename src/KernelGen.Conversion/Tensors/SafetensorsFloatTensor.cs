using KernelGen.Containers.Safetensors;
using KernelGen.Kernels;

namespace KernelGen.Conversion.Tensors;

/// <summary>
/// A plain safetensors tensor as float rows. F32, F16 and BF16 decode through their generated codecs; the integer,
/// F64 and 8-bit float dtypes convert element by element (<see cref="DTypeConversion"/>).
/// </summary>
public sealed class SafetensorsFloatTensor : FloatTensor
{
    private readonly SafetensorsFile _file;
    private readonly SafetensorsTensorInfo _info;
    private readonly int _elementBytes;

    public SafetensorsFloatTensor(SafetensorsFile file, SafetensorsTensorInfo info)
        : base(info.Name, info.Shape, info.TypeName)
    {
        _file = file;
        _info = info;
        if (!DTypeConversion.IsSupported(info.DType))
            throw new NotSupportedException($"tensor '{info.Name}' has dtype {info.TypeName}, which KernelGen cannot convert to float");
        _elementBytes = info.DType.BitSize() / 8;
    }

    protected override void ReadRowsCore(long firstRow, int rowCount, Span<float> destination)
    {
        var src = _file.File.Span(_info.AbsoluteOffset + firstRow * RowLength * _elementBytes, checked((int)(rowCount * RowLength * _elementBytes)));
        DTypeConversion.ToFloat(_info.DType, src, destination);
    }
}

/// <summary>safetensors dtype → float32. Exact for every dtype but F64, I32/U32/I64/U64 (rounded to nearest float).</summary>
public static class DTypeConversion
{
    public static bool IsSupported(SafetensorsDType dtype) => dtype is SafetensorsDType.F32 or SafetensorsDType.F16 or SafetensorsDType.BF16
        or SafetensorsDType.F64 or SafetensorsDType.BOOL or SafetensorsDType.U8 or SafetensorsDType.I8 or SafetensorsDType.I16
        or SafetensorsDType.U16 or SafetensorsDType.I32 or SafetensorsDType.U32 or SafetensorsDType.I64 or SafetensorsDType.U64
        or SafetensorsDType.F8_E4M3 or SafetensorsDType.F8_E5M2 or SafetensorsDType.F8_E8M0;

    public static void ToFloat(SafetensorsDType dtype, ReadOnlySpan<byte> src, Span<float> dst)
    {
        switch (dtype)
        {
            case SafetensorsDType.F32: Dequantizer.Dequantize("F32", src, dst); break;
            case SafetensorsDType.F16: Dequantizer.Dequantize("F16", src, dst); break;
            case SafetensorsDType.BF16: Dequantizer.Dequantize("BF16", src, dst); break;
            default:
                int size = dtype.BitSize() / 8;
                for (int i = 0; i < dst.Length; i++) dst[i] = One(dtype, src.Slice(i * size, size));
                break;
        }
    }

    private static float One(SafetensorsDType dtype, ReadOnlySpan<byte> b) => dtype switch
    {
        SafetensorsDType.BOOL => b[0] != 0 ? 1f : 0f,
        SafetensorsDType.U8 => b[0],
        SafetensorsDType.I8 => (sbyte)b[0],
        SafetensorsDType.I16 => BitConverter.ToInt16(b),
        SafetensorsDType.U16 => BitConverter.ToUInt16(b),
        SafetensorsDType.I32 => BitConverter.ToInt32(b),
        SafetensorsDType.U32 => BitConverter.ToUInt32(b),
        SafetensorsDType.I64 => BitConverter.ToInt64(b),
        SafetensorsDType.U64 => BitConverter.ToUInt64(b),
        SafetensorsDType.F64 => (float)BitConverter.ToDouble(b),
        SafetensorsDType.F8_E4M3 => Fp8E4M3(b[0]),
        SafetensorsDType.F8_E5M2 => (float)BitConverter.UInt16BitsToHalf((ushort)(b[0] << 8)),
        SafetensorsDType.F8_E8M0 => b[0] == 0xFF ? float.NaN : MathF.ScaleB(1f, b[0] - 127),
        _ => throw new NotSupportedException($"dtype {dtype.Name()}"),
    };

    /// <summary>OCP FP8 E4M3 (finite-only "fn" variant used by safetensors): bias 7, no infinities, S.1111.111 is NaN.</summary>
    private static float Fp8E4M3(byte v)
    {
        int sign = v >> 7, exp = (v >> 3) & 15, man = v & 7;
        if (exp == 15 && man == 7) return float.NaN;
        float mag = exp == 0 ? MathF.ScaleB(man, -9) : MathF.ScaleB(8 + man, exp - 10);
        return sign != 0 ? -mag : mag;
    }
}
