using System.Buffers.Binary;
using KernelGen.Containers.Gguf;
using KernelGen.Errors;
using KernelGen.Tests.Infrastructure;

namespace KernelGen.Tests.Gguf;

/// <summary>Every kind of broken GGUF gives a <see cref="ModelFormatException"/> naming the file, offset and problem.</summary>
public class GgufBadInputTests
{
    private static readonly byte[] OneQ8Tensor = RawGguf.Valid(("w", [32, 2], 8, new byte[68]));

    private static ModelFormatException Fails(byte[] bytes, string expectedReason, long? expectedOffset = null)
    {
        using var dir = new TempDir();
        string path = dir.File("bad.gguf");
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<ModelFormatException>(() => GgufFile.Open(path).Dispose());
        Assert.Contains(expectedReason, e.Reason);
        Assert.StartsWith(path, e.Message);
        Assert.DoesNotContain('\n', e.Message);
        if (expectedOffset is long o) Assert.Equal(o, e.Offset);
        return e;
    }

    private static byte[] Patch(byte[] src, int at, params byte[] bytes)
    {
        var copy = (byte[])src.Clone();
        bytes.CopyTo(copy, at);
        return copy;
    }

    private static byte[] U64(ulong v) { var b = new byte[8]; BinaryPrimitives.WriteUInt64LittleEndian(b, v); return b; }
    private static byte[] U32(uint v) { var b = new byte[4]; BinaryPrimitives.WriteUInt32LittleEndian(b, v); return b; }

    // Offsets inside OneQ8Tensor: header 24, kv key (8+20) + type 4 + string (8+5) = 69 → tensor info at 69.
    private const int TensorInfoAt = 24 + 8 + 20 + 4 + 8 + 5;
    private const int NDimsAt = TensorInfoAt + 8 + 1, Ne0At = NDimsAt + 4, TypeAt = Ne0At + 16, OffsetAt = TypeAt + 4;

    [Fact]
    public void TheValidBaseFileOpens()
    {
        using var dir = new TempDir();
        File.WriteAllBytes(dir.File("ok.gguf"), OneQ8Tensor);
        using var f = GgufFile.Open(dir.File("ok.gguf"));
        Assert.Equal("w", f.Tensors[0].Name);
        Assert.Equal(OffsetAt + 8, f.HeaderEnd);
    }

    [Fact] public void EmptyFile() => Fails([], "too short");
    [Fact] public void WrongMagic() => Fails(Patch(OneQ8Tensor, 0, "GGUX"u8.ToArray()), "not a GGUF file", 0);
    [Fact] public void Version0() => Fails(Patch(OneQ8Tensor, 4, U32(0)), "version 0", 4);
    [Fact] public void Version1() => Fails(Patch(OneQ8Tensor, 4, U32(1)), "version 1 is no longer supported", 4);
    [Fact] public void Version99() => Fails(Patch(OneQ8Tensor, 4, U32(99)), "unsupported GGUF version 99", 4);
    [Fact] public void ByteSwappedVersion() => Fails(Patch(OneQ8Tensor, 4, U32(0x03000000)), "big-endian", 4);
    [Fact] public void TensorCount2Pow60() => Fails(Patch(OneQ8Tensor, 8, U64(1UL << 60)), "tensor count 1152921504606846976 cannot fit", 8);
    [Fact] public void TensorCountNegative() => Fails(Patch(OneQ8Tensor, 8, U64(ulong.MaxValue)), "negative", 8);
    [Fact] public void KvCount2Pow60() => Fails(Patch(OneQ8Tensor, 16, U64(1UL << 60)), "metadata count", 16);
    [Fact] public void KeyLength2Pow62() => Fails(Patch(OneQ8Tensor, 24, U64(1UL << 62)), "exceeds the limit", 24);
    [Fact] public void StringLengthPastEnd() => Fails(Patch(OneQ8Tensor, 24 + 8 + 20 + 4, U64(100_000)), "runs past the end", 24 + 8 + 20 + 4);
    [Fact] public void InvalidValueType() => Fails(Patch(OneQ8Tensor, 24 + 8 + 20, U32(77)), "invalid value type 77", 24 + 8 + 20);
    [Fact] public void DimensionCount1000() => Fails(Patch(OneQ8Tensor, NDimsAt, U32(1000)), "1000 dimensions", NDimsAt);
    [Fact] public void DimensionProductOverflows() => Fails(Patch(OneQ8Tensor, Ne0At, [.. U64(1UL << 40), .. U64(1UL << 40)]), "overflows", Ne0At + 8);
    [Fact] public void RowNotABlockMultiple() => Fails(Patch(OneQ8Tensor, Ne0At, U64(33)), "not a multiple of Q8_0's block of 32", TypeAt);
    [Fact] public void OffsetMisaligned() => Fails(Patch(OneQ8Tensor, OffsetAt, U64(3)), "not a multiple of the alignment 32", OffsetAt);
    [Fact] public void OffsetPastEnd() => Fails(Patch(OneQ8Tensor, OffsetAt, U64(1UL << 40)), "expected 0", OffsetAt);

    [Fact]
    public void TensorDataPastEndOfFile() => Fails(OneQ8Tensor[..^40], "runs past the end of the", OffsetAt);

    [Fact]
    public void OverlappingTensors()
    {
        var g = new RawGguf().Header(3, 2, 0).TensorInfo("a", [64], 0, 0).TensorInfo("b", [8], 0, 128).PadTo(32).Bytes(new byte[288]);
        Fails(g.ToArray(), "overlaps the previous tensor");
    }

    [Fact]
    public void GapBetweenTensors()
    {
        var g = new RawGguf().Header(3, 2, 0).TensorInfo("a", [8], 0, 0).TensorInfo("b", [8], 0, 64).PadTo(32).Bytes(new byte[128]);
        Fails(g.ToArray(), "expected 32");
    }

    [Fact]
    public void DuplicateTensorNames() => Fails(RawGguf.Valid(("w", [32], 0, new byte[128]), ("w", [32], 0, new byte[128])), "duplicate tensor name 'w'");

    [Fact]
    public void DuplicateKeys()
    {
        var g = new RawGguf().Header(3, 0, 2).KvU32("a", 1).KvU32("a", 2);
        Fails(g.ToArray(), "duplicate metadata key 'a'", 24 + 8 + 1 + 4 + 4);
    }

    [Fact]
    public void InvalidUtf8InKey()
    {
        var g = new RawGguf().Header(3, 0, 1).StrBytes([(byte)'k', 0xFF, 0xFE]).U32(4).U32(1);
        Fails(g.ToArray(), "not valid UTF-8", 32);
    }

    [Fact]
    public void InvalidUtf8InTensorName()
    {
        var g = new RawGguf().Header(3, 1, 0).StrBytes([0xC3, 0x28]).U32(1).U64(4).U32(0).U64(0).PadTo(32).Bytes(new byte[32]);
        Fails(g.ToArray(), "not valid UTF-8");
    }

    [Fact]
    public void EmptyKey() => Fails(new RawGguf().Header(3, 0, 1).Str("").U32(4).U32(1).ToArray(), "is empty", 24);

    [Fact]
    public void ArrayCountPastEnd()
    {
        var g = new RawGguf().Header(3, 0, 1).Str("a").U32(9).U32(6).U64(1UL << 29).Bytes(new byte[16]);
        Fails(g.ToArray(), "runs past the end of the file");
    }

    [Fact]
    public void ArrayCountOverLimit()
    {
        var g = new RawGguf().Header(3, 0, 1).Str("a").U32(9).U32(0).U64(1UL << 31);
        Fails(g.ToArray(), "the limit is");
    }

    [Fact]
    public void DeeplyNestedArrays()
    {
        var g = new RawGguf().Header(3, 0, 1).Str("a").U32(9);
        for (int i = 0; i < 20; i++) g.U32(9).U64(1);
        g.U32(4).U64(0);
        Fails(g.ToArray(), "nests deeper");
    }

    [Fact]
    public void AlignmentOfWrongTypeOrNotPowerOfTwo()
    {
        Fails(new RawGguf().Header(3, 0, 1).Str("general.alignment").U32(10).U64(32).ToArray(), "must be UINT32");
        Fails(new RawGguf().Header(3, 0, 1).KvU32("general.alignment", 48).ToArray(), "not a non-zero power of two");
    }

    [Fact]
    public void UnknownTypeIdsAreReportedNotRejected()
    {
        var g = new RawGguf().Header(3, 2, 0).TensorInfo("future", [64], 99, 0).TensorInfo("f", [8], 0, 64).PadTo(32).Bytes(new byte[96]);
        using var dir = new TempDir();
        File.WriteAllBytes(dir.File("u.gguf"), g.ToArray());
        using var f = GgufFile.Open(dir.File("u.gguf"));
        Assert.Equal("type_99", f.Tensors[0].TypeName);
        Assert.Null(f.Tensors[0].ByteSize);
        Assert.Equal(32, f.Tensors[1].ByteSize);
        // And a copy keeps the unknown tensor's bytes.
        using var copy = new MemoryStream();
        GgufWriter.CopyOf(f).Write(copy);
        Assert.Equal(g.ToArray(), copy.ToArray());
    }
}
