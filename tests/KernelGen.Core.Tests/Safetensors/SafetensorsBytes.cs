using System.Buffers.Binary;
using System.Text;
using KernelGen.Containers.Safetensors;
using KernelGen.IO;

namespace KernelGen.Core.Tests.Safetensors;

/// <summary>Builds safetensors files byte by byte, including broken ones the writer would refuse to produce.</summary>
internal static class SafetensorsBytes
{
    /// <summary>A file whose header is <paramref name="json"/> as given, followed by <paramref name="dataBytes"/> bytes.</summary>
    public static byte[] Raw(string json, int dataBytes, ulong? headerLength = null) =>
        Raw(Encoding.UTF8.GetBytes(json), dataBytes, headerLength);

    /// <summary>A file whose header is the raw bytes <paramref name="header"/> (which need not be UTF-8).</summary>
    public static byte[] Raw(byte[] header, int dataBytes, ulong? headerLength = null)
    {
        var file = new byte[8 + header.Length + dataBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(file, headerLength ?? (ulong)header.Length);
        header.CopyTo(file, 8);
        for (int i = 0; i < dataBytes; i++) file[8 + header.Length + i] = (byte)(i * 7 + 1);
        return file;
    }

    /// <summary>What <paramref name="writer"/> produces, in memory.</summary>
    public static byte[] Write(SafetensorsWriter writer)
    {
        using var stream = new MemoryStream();
        writer.Write(stream);
        return stream.ToArray();
    }

    /// <summary>Random bytes for a tensor of <paramref name="shape"/>.</summary>
    public static byte[] RandomData(Random random, SafetensorsDType dtype, params long[] shape)
    {
        var data = new byte[SafetensorsDTypes.ByteSize(dtype, shape)];
        random.NextBytes(data);
        return data;
    }

    /// <summary>A small valid file with metadata and tensors of several dtypes.</summary>
    public static byte[] Sample()
    {
        var random = new Random(7);
        var writer = new SafetensorsWriter();
        writer.AddMetadata("format", "pt");
        writer.AddMetadata("note", "sample");
        writer.AddTensor("a.weight", SafetensorsDType.F16, [4, 3], TensorDataSource.FromMemory(RandomData(random, SafetensorsDType.F16, 4, 3)));
        writer.AddTensor("a.bias", SafetensorsDType.F32, [3], TensorDataSource.FromMemory(RandomData(random, SafetensorsDType.F32, 3)));
        writer.AddTensor("b.codes", SafetensorsDType.U8, [5], TensorDataSource.FromMemory(RandomData(random, SafetensorsDType.U8, 5)));
        writer.AddTensor("b.scale", SafetensorsDType.BF16, [], TensorDataSource.FromMemory(RandomData(random, SafetensorsDType.BF16)));
        return Write(writer);
    }
}
