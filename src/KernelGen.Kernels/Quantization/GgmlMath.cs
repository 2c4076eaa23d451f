using System.Runtime.CompilerServices;

namespace KernelGen.Kernels.Quantization;

/// <summary>ggml's scalar numeric primitives, bit for bit (FORMATS.md §4.1).</summary>
internal static class GgmlMath
{
    /// <summary>ggml's nearest_int: round half to even through the 1.5·2^23 trick; valid for |x| ≤ 4194303.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int NearestInt(float x)
    {
        float f = x + 12582912.0f;
        return (int)(BitConverter.SingleToUInt32Bits(f) & 0x007FFFFF) - 0x00400000;
    }

    /// <summary>C roundf / lroundf: half away from zero.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int RoundAway(float x) => (int)MathF.Round(x, MidpointRounding.AwayFromZero);

    /// <summary>ggml's fp32 → fp16: IEEE round-to-nearest-even, subnormals kept, NaN → sign | 0x7E00.</summary>
    public static ushort Fp32ToFp16(float f)
    {
        uint u = BitConverter.SingleToUInt32Bits(f);
        uint sign = (u >> 16) & 0x8000;
        uint a = u & 0x7FFFFFFF;
        if (a > 0x7F800000) return (ushort)(sign | 0x7E00);
        if (a >= 0x477FF000) return (ushort)(sign | 0x7C00);
        if (a < 0x38800000)
        {
            if (a < 0x33000000) return (ushort)sign;
            int e = (int)(a >> 23);
            uint m = (a & 0x7FFFFF) | 0x800000;
            int shift = 126 - e;
            uint r = m >> shift;
            uint rem = m & ((1u << shift) - 1);
            uint half = 1u << (shift - 1);
            if (rem > half || (rem == half && (r & 1) != 0)) r++;
            return (ushort)(sign | r);
        }
        uint n = (a - 0x38000000) >> 13;
        uint rest = a & 0x1FFF;
        if (rest > 0x1000 || (rest == 0x1000 && (n & 1) != 0)) n++;
        return (ushort)(sign | n);
    }

    /// <summary>Exact fp16 → fp32.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Fp16ToFp32(ushort h) => (float)BitConverter.UInt16BitsToHalf(h);

    /// <summary>ggml_compute_fp32_to_bf16: NaN quieted, otherwise round to nearest even.</summary>
    public static ushort Fp32ToBf16(float f)
    {
        uint u = BitConverter.SingleToUInt32Bits(f);
        if ((u & 0x7fffffff) > 0x7f800000) return (ushort)((u >> 16) | 0x40);
        return (ushort)((u + (0x7FFF + ((u >> 16) & 1))) >> 16);
    }
}
