using System.Text;
using KernelGen.Containers.Safetensors;
using KernelGen.IO;

namespace KernelGen.Core.Tests.Safetensors;

/// <summary>The writer: reference byte layout, every dtype, the three orders, escaping, streaming checks.</summary>
public sealed class SafetensorsWriterTests : IDisposable
{
    private readonly ScratchDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static TensorDataSource Floats(params float[] values) =>
        TensorDataSource.FromMemory(values.SelectMany(BitConverter.GetBytes).ToArray());

    [Fact]
    public void Matches_the_reference_serialization_test_vector()
    {
        // safetensors tensor.rs test_serialization: {"attn.0": F32 [1, 2, 3] = 0..5}, no metadata.
        var writer = new SafetensorsWriter();
        writer.AddTensor("attn.0", SafetensorsDType.F32, [1, 2, 3], Floats(0, 1, 2, 3, 4, 5));
        byte[] expected =
        [
            64, 0, 0, 0, 0, 0, 0, 0, 123, 34, 97, 116, 116, 110, 46, 48, 34, 58, 123, 34, 100,
            116, 121, 112, 101, 34, 58, 34, 70, 51, 50, 34, 44, 34, 115, 104, 97, 112, 101, 34,
            58, 91, 49, 44, 50, 44, 51, 93, 44, 34, 100, 97, 116, 97, 95, 111, 102, 102, 115,
            101, 116, 115, 34, 58, 91, 48, 44, 50, 52, 93, 125, 125, 0, 0, 0, 0, 0, 0, 128, 63,
            0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 64, 0, 0, 160, 64,
        ];
        Assert.Equal(expected, SafetensorsBytes.Write(writer));
    }

    [Fact]
    public void Pads_the_header_with_spaces_like_the_reference()
    {
        // tensor.rs test_serialization_forced_alignement: a shorter name forces 7 bytes of padding.
        var writer = new SafetensorsWriter();
        writer.AddTensor("attn0", SafetensorsDType.F32, [1, 1, 2, 3], Floats(0, 1, 2, 3, 4, 5));
        byte[] bytes = SafetensorsBytes.Write(writer);
        Assert.Equal(72, BitConverter.ToInt64(bytes));
        Assert.Equal("{\"attn0\":{\"dtype\":\"F32\",\"shape\":[1,1,2,3],\"data_offsets\":[0,24]}}       ", Encoding.UTF8.GetString(bytes, 8, 72));
        Assert.Equal(8 + 72 + 24, bytes.Length);
    }

    [Fact]
    public void Empty_files_match_the_reference()
    {
        // tensor.rs test_empty.
        Assert.Equal([8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32], SafetensorsBytes.Write(new SafetensorsWriter()));
        var withMetadata = new SafetensorsWriter();
        withMetadata.AddMetadata("framework", "pt");
        Assert.Equal("(\0\0\0\0\0\0\0{\"__metadata__\":{\"framework\":\"pt\"}}     ", Encoding.UTF8.GetString(SafetensorsBytes.Write(withMetadata)));
        Assert.Equal("\b\0\0\0\0\0\0\0{}      ", Encoding.UTF8.GetString(SafetensorsBytes.Write(new SafetensorsWriter())));
        Assert.Equal("{\"__metadata__\":{}}     ", Encoding.UTF8.GetString(new SafetensorsWriter { WriteEmptyMetadata = true }.BuildHeader()));
    }

    [Fact]
    public void Every_dtype_round_trips_through_the_reader()
    {
        var random = new Random(1234);
        var writer = new SafetensorsWriter();
        var expected = new Dictionary<string, (SafetensorsDType DType, long[] Shape, byte[] Data)>();
        foreach (var dtype in SafetensorsDTypes.All)
        {
            // 4 × 6 elements is a whole number of bytes for every width, including 4- and 6-bit types.
            long[][] shapes = [[4, 6], [], [0, 3], [2, 2, 2]];
            for (int s = 0; s < shapes.Length; s++)
            {
                long[] shape = shapes[s];
                if (SafetensorsDTypes.BitSize(dtype) < 8 && shape.Length == 0) continue; // one 4/6-bit scalar is not whole bytes
                string name = $"{dtype.Name().ToLowerInvariant()}.{s}";
                byte[] data = SafetensorsBytes.RandomData(random, dtype, shape);
                expected[name] = (dtype, shape, data);
                writer.AddTensor(name, dtype, shape, TensorDataSource.FromMemory(data));
            }
        }
        writer.AddMetadata("format", "pt");
        string path = _dir.Write("all.safetensors", SafetensorsBytes.Write(writer));

        using var file = SafetensorsFile.Open(path);
        Assert.Equal(expected.Count, file.Tensors.Count);
        foreach (var t in file.Tensors)
        {
            var (dtype, shape, data) = expected[t.Name];
            Assert.Equal(dtype, t.DType);
            Assert.Equal(shape, t.Shape);
            Assert.Equal(data, file.GetData(t).ToArray());
            // Sorting by size keeps each tensor aligned to its element size (the header is padded to 8).
            Assert.Equal(0, t.AbsoluteOffset % Math.Max(1, SafetensorsDTypes.BitSize(dtype) / 8));
        }
        Assert.Equal("pt", file.GetMetadata("format"));
    }

    private static SafetensorsWriter MixedDTypes()
    {
        var writer = new SafetensorsWriter();
        foreach (var (name, dtype) in new[]
                 {
                     ("w_f32", SafetensorsDType.F32), ("a_i32", SafetensorsDType.I32), ("u8", SafetensorsDType.U8), ("i8", SafetensorsDType.I8),
                     ("h", SafetensorsDType.F16), ("b", SafetensorsDType.BF16), ("f4", SafetensorsDType.F4), ("flag", SafetensorsDType.BOOL),
                 })
            writer.AddTensor(name, dtype, [2], TensorDataSource.FromMemory(new byte[SafetensorsDTypes.ByteSize(dtype, [2])]));
        return writer;
    }

    private string[] WrittenOrder(SafetensorsWriter writer)
    {
        using var file = SafetensorsFile.Open(_dir.Write(Guid.NewGuid().ToString("N"), SafetensorsBytes.Write(writer)));
        return file.Tensors.OrderBy(t => t.Begin).Select(t => t.Name).ToArray();
    }

    [Fact]
    public void Default_order_is_size_then_name()
    {
        Assert.Equal(["a_i32", "w_f32", "b", "h", "flag", "i8", "u8", "f4"], WrittenOrder(MixedDTypes()));
    }

    [Fact]
    public void DType_order_reproduces_the_rust_prepare()
    {
        var writer = MixedDTypes();
        writer.Order = SafetensorsTensorOrder.DTypeThenName;
        Assert.Equal(["w_f32", "a_i32", "b", "h", "i8", "u8", "f4", "flag"], WrittenOrder(writer));
    }

    [Fact]
    public void Insertion_order_is_kept_on_request()
    {
        var writer = MixedDTypes();
        writer.PreserveOrder = true;
        Assert.Equal(SafetensorsTensorOrder.Insertion, writer.Order);
        Assert.Equal(["w_f32", "a_i32", "u8", "i8", "h", "b", "f4", "flag"], WrittenOrder(writer));
        writer.PreserveOrder = false;
        Assert.Equal(SafetensorsTensorOrder.SizeThenName, writer.Order);
    }

    [Fact]
    public void Names_sort_by_utf8_bytes_not_utf16()
    {
        // U+FF21 sorts after U+1F600 in UTF-16 code units but before it in UTF-8 (code point) order, as in Rust.
        var writer = new SafetensorsWriter();
        foreach (string name in new[] { "\U0001F600", "\uFF21", "B", "a" })
            writer.AddTensor(name, SafetensorsDType.U8, [1], TensorDataSource.FromMemory(new byte[1]));
        Assert.Equal(["B", "a", "\uFF21", "\U0001F600"], WrittenOrder(writer));
    }

    [Fact]
    public void Strings_are_escaped_as_serde_json_does()
    {
        var writer = new SafetensorsWriter();
        writer.AddMetadata("k\"\\", "tab\tnl\ncr\rbs\bff\fnul\0del\u007Fé😀</>");
        writer.AddTensor("x\u0001y", SafetensorsDType.U8, [1], TensorDataSource.FromMemory(new byte[1]));
        string header = Encoding.UTF8.GetString(writer.BuildHeader());
        Assert.StartsWith("{\"__metadata__\":{\"k\\\"\\\\\":\"tab\\tnl\\ncr\\rbs\\bff\\fnul\\u0000del\u007Fé😀</>\"},\"x\\u0001y\":", header);

        using var file = SafetensorsFile.Open(_dir.Write("escaped.safetensors", SafetensorsBytes.Write(writer)));
        Assert.Equal(writer.Metadata, file.Metadata);
        Assert.Equal("x\u0001y", file.Tensors[0].Name);
    }

    [Fact]
    public void Length_is_known_before_writing()
    {
        var writer = MixedDTypes();
        Assert.Equal(SafetensorsBytes.Write(writer).Length, writer.ComputeLength());
    }

    [Fact]
    public void Caller_mistakes_are_argument_errors()
    {
        var writer = new SafetensorsWriter();
        writer.AddTensor("t", SafetensorsDType.F32, [2], Floats(1, 2));
        writer.AddMetadata("k", "v");
        Assert.Contains("already added", Assert.Throws<ArgumentException>(() => writer.AddTensor("t", SafetensorsDType.F32, [2], Floats(1, 2))).Message);
        Assert.Contains("already added", Assert.Throws<ArgumentException>(() => writer.AddMetadata("k", "w")).Message);
        Assert.Contains("is 12 bytes but the source has 8", Assert.Throws<ArgumentException>(() => writer.AddTensor("u", SafetensorsDType.F32, [3], Floats(1, 2))).Message);
        Assert.Contains("reserved", Assert.Throws<ArgumentException>(() => writer.AddTensor("__metadata__", SafetensorsDType.U8, [], TensorDataSource.FromMemory(new byte[1]))).Message);
        Assert.Contains("negative", Assert.Throws<ArgumentException>(() => writer.AddTensor("n", SafetensorsDType.U8, [-1], TensorDataSource.FromMemory(Array.Empty<byte>()))).Message);
        Assert.Contains("not a whole number of bytes", Assert.Throws<ArgumentException>(() => writer.AddTensor("f", SafetensorsDType.F6_E2M3, [3], TensorDataSource.FromMemory(new byte[2]))).Message);
        Assert.Equal(1, writer.TensorCount);
    }

    [Fact]
    public void A_source_that_writes_too_little_or_too_much_fails()
    {
        var shortWriter = new SafetensorsWriter();
        shortWriter.AddTensor("t", SafetensorsDType.U8, [4], TensorDataSource.FromCallback(4, (s, _) => s.Write(new byte[3])));
        Assert.Contains("wrote 3 of the declared 4 bytes", Assert.Throws<InvalidOperationException>(() => SafetensorsBytes.Write(shortWriter)).Message);

        var longWriter = new SafetensorsWriter();
        longWriter.AddTensor("t", SafetensorsDType.U8, [4], TensorDataSource.FromCallback(4, (s, _) => s.Write(new byte[5])));
        Assert.Contains("more than the declared 4 bytes", Assert.Throws<InvalidOperationException>(() => SafetensorsBytes.Write(longWriter)).Message);
    }

    [Fact]
    public void Sources_are_read_one_at_a_time_in_layout_order()
    {
        var calls = new List<string>();
        var writer = new SafetensorsWriter();
        foreach (string name in new[] { "c", "a", "b" })
            writer.AddTensor(name, SafetensorsDType.U8, [2], TensorDataSource.FromCallback(2, (s, _) =>
            {
                calls.Add(name);
                s.Write(Encoding.ASCII.GetBytes(name + name));
            }));
        byte[] bytes = SafetensorsBytes.Write(writer);
        Assert.Equal(["a", "b", "c"], calls);
        Assert.EndsWith("aabbcc", Encoding.ASCII.GetString(bytes));
    }

    [Fact]
    public void WriteFile_is_atomic()
    {
        string path = _dir.File("out.safetensors");
        var writer = MixedDTypes();
        writer.WriteFile(path, overwrite: false);
        Assert.Equal(SafetensorsBytes.Write(writer), File.ReadAllBytes(path));
        Assert.Throws<IOException>(() => writer.WriteFile(path, overwrite: false));

        var failing = new SafetensorsWriter();
        failing.AddTensor("t", SafetensorsDType.U8, [1], TensorDataSource.FromCallback(1, (_, _) => throw new InvalidDataException("boom")));
        Assert.Throws<InvalidDataException>(() => failing.WriteFile(path, overwrite: true));
        Assert.Equal(SafetensorsBytes.Write(writer), File.ReadAllBytes(path));

        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        string other = _dir.File("cancelled.safetensors");
        Assert.ThrowsAny<OperationCanceledException>(() => writer.WriteFile(other, overwrite: false, cancelled.Token));
        Assert.False(File.Exists(other));
        Assert.Single(Directory.GetFiles(_dir.Path));
    }
}
