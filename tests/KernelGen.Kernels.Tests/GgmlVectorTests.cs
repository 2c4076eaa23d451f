using KernelGen.Kernels.Generated;
using Xunit.Abstractions;

namespace KernelGen.Kernels.Tests;

/// <summary>
/// Every GGUF type in tests/data/vectors/ggml: decoding section 3 (ggml's quantized bytes) must reproduce section 4
/// (ggml's <c>to_float</c>) bit for bit, on every decode path; and DecodeFields → Encode must give back section 3's
/// bytes exactly.
/// </summary>
public sealed class GgmlVectorTests
{
    private readonly ITestOutputHelper _output;

    public GgmlVectorTests(ITestOutputHelper output) => _output = output;

    public static readonly string[] Types =
    {
        "q4_0", "q4_1", "q5_0", "q5_1", "q8_0", "q2_K", "q3_K", "q4_K", "q5_K", "q6_K", "q8_K", "tq1_0", "tq2_0", "iq4_nl", "iq4_xs",
    };

    public static TheoryData<string, string> TypeAndPath()
    {
        var data = new TheoryData<string, string>();
        foreach (var t in Types)
        {
            foreach (var p in Paths.All)
            {
                data.Add(t, p);
            }
        }
        return data;
    }

    public static TheoryData<string> TypeOnly()
    {
        var data = new TheoryData<string>();
        foreach (var t in Types)
        {
            data.Add(t);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(TypeAndPath))]
    public void Decode_reproduces_ggml_to_float_bit_exactly(string type, string path)
    {
        var v = TestData.ReadVectors(type);
        var format = KernelGenFormatRegistry.FindByName(v.TypeName);
        Assert.NotNull(format);
        Assert.Equal((int)v.TypeId, format.GgmlTypeId);
        Assert.Equal(v.BlockSize, format.BlockElements);
        Assert.Equal(v.TypeSize, format.BlockBytes);
        _output.WriteLine(Paths.Describe());

        var decode = Paths.Get(format, path);
        var actual = new float[v.Rows * v.RowLength];
        for (int r = 0; r < v.Rows; r++)
        {
            decode(v.Quantized.AsSpan(r * v.RowBytes, v.RowBytes), actual.AsSpan(r * v.RowLength, v.RowLength));
        }
        Paths.AssertBitwiseEqual(v.Dequantized, actual, $"{type} via {path}");
    }

    [Theory]
    [MemberData(nameof(TypeOnly))]
    public void Dequantizer_facade_decodes_by_ggml_type_id(string type)
    {
        var v = TestData.ReadVectors(type);
        Assert.True(Dequantizer.IsSupported(v.TypeId));
        Assert.True(Dequantizer.IsSupported(v.TypeName));
        var actual = new float[v.Rows * v.RowLength];
        Dequantizer.Dequantize(v.TypeId, v.Quantized, actual);
        Paths.AssertBitwiseEqual(v.Dequantized, actual, type + " via Dequantizer");
    }

    [Theory]
    [MemberData(nameof(TypeOnly))]
    public void DecodeFields_then_Encode_reproduces_ggml_bytes(string type)
    {
        var v = TestData.ReadVectors(type);
        var reencode = Codecs.Reencoders[v.TypeName.ToUpperInvariant()];
        var block = new byte[v.TypeSize];
        for (int offset = 0; offset < v.Quantized.Length; offset += v.TypeSize)
        {
            var original = v.Quantized.AsSpan(offset, v.TypeSize);
            reencode(original, block);
            if (!original.SequenceEqual(block))
            {
                Assert.Fail($"{type}: block at byte {offset} re-encodes to {Convert.ToHexString(block)}, expected {Convert.ToHexString(original)}");
            }
        }
    }
}
