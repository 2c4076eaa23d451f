using KernelGen.Kernels.Generated;
using System.Runtime.Intrinsics;

namespace KernelGen.Kernels.Tests;

/// <summary>
/// Every decode path of a format, forced explicitly, so each test runs against scalar, Vector128, Vector256 and
/// Vector512 code regardless of what <c>DecodeRow</c> would pick on this machine. .NET executes Vector512 code in
/// software where AVX-512 is missing, so all widths run (and are checked) everywhere; <see cref="Describe"/> says which
/// widths were hardware accelerated in this run.
/// </summary>
internal static class Paths
{
    public static readonly string[] All = { "Scalar", "V128", "V256", "V512", "DecodeRow" };

    public static KernelGenDecodeRow Get(KernelGenFormatInfo format, string path) => path switch
    {
        "Scalar" => format.DecodeRowScalar,
        "V128" => format.DecodeRowV128,
        "V256" => format.DecodeRowV256,
        "V512" => format.DecodeRowV512,
        "DecodeRow" => format.DecodeRow,
        _ => throw new ArgumentOutOfRangeException(nameof(path)),
    };

    public static string Describe() =>
        $"Vector128 accelerated: {Vector128.IsHardwareAccelerated}, Vector256: {Vector256.IsHardwareAccelerated}, Vector512: {Vector512.IsHardwareAccelerated}";

    /// <summary>Asserts bitwise equality of two float arrays, reporting the first mismatch.</summary>
    public static void AssertBitwiseEqual(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, string context)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            uint e = BitConverter.SingleToUInt32Bits(expected[i]);
            uint a = BitConverter.SingleToUInt32Bits(actual[i]);
            if (e != a)
            {
                Assert.Fail($"{context}: element {i}: expected {expected[i]:R} (0x{e:X8}) but got {actual[i]:R} (0x{a:X8})");
            }
        }
    }
}
