using KernelGen.Containers.Gguf;
using KernelGen.IO;
using KernelGen.Tests.Infrastructure;

namespace KernelGen.Tests.Gguf;

/// <summary>read → write → read gives identical bytes and metadata; the writer's own output satisfies the reader.</summary>
public class GgufRoundTripTests
{
    public static TheoryData<string> Files()
    {
        var data = new TheoryData<string>();
        foreach (string f in Directory.GetFiles(RepoPaths.Models, "*.gguf").Order()) data.Add(f);
        if (RepoPaths.Shared is string shared)
        {
            foreach (string f in Directory.GetFiles(Path.Combine(shared, "models", "quantize"), "*.gguf").Order()) data.Add(f);
            foreach (string f in Directory.GetFiles(Path.Combine(shared, "models", "vocab"), "*.gguf").Order()) data.Add(f);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void CopyIsByteIdentical(string path)
    {
        using var source = GgufFile.Open(path);
        var writer = GgufWriter.CopyOf(source);
        using var copy = new MemoryStream();
        writer.Write(copy);
        Assert.Equal(source.FileLength, writer.ComputeFileSize());
        Assert.True(File.ReadAllBytes(path).AsSpan().SequenceEqual(copy.ToArray()), $"{Path.GetFileName(path)} changed in a round trip");
    }

    [Fact]
    public void EveryValueTypeRoundTrips_IncludingNestedArrays()
    {
        var md = new GgufMetadata();
        md.Set("general.architecture", GgufValue.String("test"));
        md.Set("u8", GgufValue.UInt8(255));
        md.Set("i8", GgufValue.Int8(-128));
        md.Set("u16", GgufValue.UInt16(65535));
        md.Set("i16", GgufValue.Int16(-32768));
        md.Set("u32", GgufValue.UInt32(uint.MaxValue));
        md.Set("i32", GgufValue.Int32(int.MinValue));
        md.Set("f32", GgufValue.Float32(float.NaN));
        md.Set("bool", GgufValue.Bool(true));
        md.Set("str", GgufValue.String("héllo ▁wörld"));
        md.Set("u64", GgufValue.UInt64(ulong.MaxValue));
        md.Set("i64", GgufValue.Int64(long.MinValue));
        md.Set("f64", GgufValue.Float64(-0.0));
        md.Set("arr.str", GgufValue.Array(GgufArray.Of("a", "", "ccc")));
        md.Set("arr.f32", GgufValue.Array(GgufArray.Of(1.5f, -2f)));
        md.Set("arr.bool", GgufValue.Array(new GgufArray(GgufValueType.Bool, new byte[] { 0, 1, 1 })));
        md.Set("arr.u64", GgufValue.Array(new GgufArray(GgufValueType.UInt64, new ulong[] { 1, ulong.MaxValue })));
        md.Set("arr.nested", GgufValue.Array(new GgufArray(GgufValueType.Array, new[]
        {
            GgufArray.Of(1, 2, 3),
            new GgufArray(GgufValueType.Array, new[] { GgufArray.Of("deep") }),
        })));
        md.Set("general.alignment", GgufValue.UInt32(64));
        var writer = new GgufWriter(md) { AllowNestedArrays = true };
        writer.AddTensor("a", [32, 3], 8 /* Q8_0 */, TensorDataSource.FromMemory(Enumerable.Range(0, 102).Select(i => (byte)i).ToArray()));
        writer.AddTensor("b", [5], 0 /* F32 */, TensorDataSource.FromMemory(new byte[20]));
        writer.AddTensor("c", [256, 1], 12 /* Q4_K */, TensorDataSource.FromCallback(144, (s, _) => s.Write(new byte[144])));

        using var dir = new TempDir();
        string path = dir.File("all.gguf");
        writer.WriteFile(path, overwrite: false);
        using var f = GgufFile.Open(path);
        Assert.True(f.HasNestedArrays);
        Assert.Equal(64u, f.Alignment);
        Assert.Equal(md.Count, f.Metadata.Count);
        for (int i = 0; i < md.Count; i++)
        {
            Assert.Equal(md[i].Key, f.Metadata[i].Key);
            Assert.Equal(md[i].Value, f.Metadata[i].Value);
        }
        Assert.Equal(["a", "b", "c"], f.Tensors.Select(t => t.Name));
        Assert.Equal([0UL, 128UL, 192UL], f.Tensors.Select(t => t.RelativeOffset));
        Assert.Equal(0, f.DataOffset % 64);
        Assert.Equal(Enumerable.Range(0, 102).Select(i => (byte)i), f.GetData(f.Tensors[0]).ToArray());
        Assert.Equal([256L, 1L], f.Tensors[2].Ne); // stored n_dims kept
        Assert.Equal(f.DataOffset + 192 + 192, f.FileLength); // the last tensor is padded too

        // And the copy of the copy is byte-identical.
        using var again = new MemoryStream();
        GgufWriter.CopyOf(f).Write(again);
        Assert.True(File.ReadAllBytes(path).AsSpan().SequenceEqual(again.ToArray()));
    }

    [Fact]
    public void Version2FilesAreReadAndWrittenAsVersion2()
    {
        var md = new GgufMetadata();
        md.Set("general.architecture", GgufValue.String("llama"));
        var writer = new GgufWriter(md, version: 2);
        writer.AddTensor("w", [4], 0, TensorDataSource.FromMemory(new byte[16]));
        using var dir = new TempDir();
        writer.WriteFile(dir.File("v2.gguf"), false);
        using var f = GgufFile.Open(dir.File("v2.gguf"));
        Assert.Equal(2, f.Version);
        using var copy = new MemoryStream();
        GgufWriter.CopyOf(f).Write(copy);
        Assert.Equal(File.ReadAllBytes(dir.File("v2.gguf")), copy.ToArray());
    }

    [Fact]
    public void WriterRefusesWhatLlamaCppCannotLoad()
    {
        var md = new GgufMetadata();
        md.Set("x", GgufValue.Array(new GgufArray(GgufValueType.Array, new[] { GgufArray.Of(1) })));
        var writer = new GgufWriter(md);
        var e = Assert.Throws<InvalidOperationException>(() => writer.Write(new MemoryStream()));
        Assert.Contains("array of arrays", e.Message);

        var w2 = new GgufWriter(new GgufMetadata());
        Assert.Throws<ArgumentException>(() => w2.AddTensor("q", [33], 2 /* Q4_0 */, TensorDataSource.FromMemory(new byte[18])));
        Assert.Throws<ArgumentException>(() => w2.AddTensor("q", [32], 2, TensorDataSource.FromMemory(new byte[17])));
        w2.AddTensor("q", [32], 2, TensorDataSource.FromMemory(new byte[18]));
        Assert.Throws<ArgumentException>(() => w2.AddTensor("q", [32], 2, TensorDataSource.FromMemory(new byte[18])));
    }

    [Fact]
    public void ASourceThatWritesTheWrongLengthFailsAndLeavesNoFile()
    {
        var writer = new GgufWriter(new GgufMetadata());
        writer.AddTensor("w", [8], 0, TensorDataSource.FromCallback(32, (s, _) => s.Write(new byte[31])));
        using var dir = new TempDir();
        Assert.Throws<InvalidOperationException>(() => writer.WriteFile(dir.File("bad.gguf"), false));
        Assert.Empty(Directory.GetFileSystemEntries(dir.Path));

        var over = new GgufWriter(new GgufMetadata());
        over.AddTensor("w", [8], 0, TensorDataSource.FromCallback(32, (s, _) => s.Write(new byte[33])));
        Assert.Throws<InvalidOperationException>(() => over.WriteFile(dir.File("bad.gguf"), false));
        Assert.Empty(Directory.GetFileSystemEntries(dir.Path));
    }

    [Fact]
    public void AnExistingFileIsNotOverwrittenWithoutPermission()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("x.gguf"), "keep");
        var writer = new GgufWriter(new GgufMetadata());
        Assert.Throws<IOException>(() => writer.WriteFile(dir.File("x.gguf"), overwrite: false));
        Assert.Equal("keep", File.ReadAllText(dir.File("x.gguf")));
        writer.WriteFile(dir.File("x.gguf"), overwrite: true);
        using var f = GgufFile.Open(dir.File("x.gguf"));
        Assert.Empty(f.Tensors);
    }

    [Fact]
    public void CancellationLeavesNoPartialFile()
    {
        using var dir = new TempDir();
        using var cts = new CancellationTokenSource();
        var writer = new GgufWriter(new GgufMetadata());
        writer.AddTensor("a", [8], 0, TensorDataSource.FromCallback(32, (s, _) => { s.Write(new byte[32]); cts.Cancel(); }));
        writer.AddTensor("b", [8], 0, TensorDataSource.FromMemory(new byte[32]));
        Assert.ThrowsAny<OperationCanceledException>(() => writer.WriteFile(dir.File("c.gguf"), false, null, cts.Token));
        Assert.Empty(Directory.GetFileSystemEntries(dir.Path));
    }
}
