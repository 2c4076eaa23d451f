using KernelGen.Containers.Safetensors;

namespace KernelGen.Core.Tests.Safetensors;

/// <summary>Unusual but valid files: what the reference reader accepts, we accept too.</summary>
public sealed class SafetensorsValidInputTests : IDisposable
{
    private readonly ScratchDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private SafetensorsFile Open(string header, int dataBytes) =>
        SafetensorsFile.Open(_dir.Write(Guid.NewGuid().ToString("N") + ".safetensors", SafetensorsBytes.Raw(header, dataBytes)));

    [Fact]
    public void Empty_object_is_a_file_with_no_tensors()
    {
        using var file = Open("{}      ", 0);
        Assert.Empty(file.Tensors);
        Assert.Empty(file.Metadata);
        Assert.False(file.HasMetadataObject);
        Assert.Equal(16, file.FileLength);
    }

    [Fact]
    public void Null_metadata_is_no_metadata()
    {
        using var file = Open("{\"__metadata__\":null}", 0);
        Assert.False(file.HasMetadataObject);
        Assert.Empty(file.Metadata);
    }

    [Fact]
    public void Empty_metadata_object_is_remembered()
    {
        using var file = Open("{\"__metadata__\":{}}", 0);
        Assert.True(file.HasMetadataObject);
        Assert.Empty(file.Metadata);
    }

    [Fact]
    public void Header_order_need_not_be_offset_order()
    {
        using var file = Open(
            "{\"b\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[4,6]},\"__metadata__\":{\"z\":\"1\",\"a\":\"2\"},\"a\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]}}", 6);
        Assert.Equal(["b", "a"], file.Tensors.Select(t => t.Name));
        Assert.Equal(["z", "a"], file.Metadata.Select(kv => kv.Key));
        Assert.Equal(file.DataOffset + 4, file.Tensors[0].AbsoluteOffset);
        Assert.Empty(file.Tensors[1].Shape);
        Assert.Equal(1, file.Tensors[1].ElementCount);
    }

    [Fact]
    public void Zero_sized_tensors_and_unknown_fields()
    {
        using var file = Open(
            "{\"e\":{\"dtype\":\"F16\",\"shape\":[0,5],\"data_offsets\":[0,0],\"extra\":{\"deep\":[1,{\"x\":null}]}},\"f\":{\"dtype\":\"F4\",\"shape\":[2,3],\"data_offsets\":[0,3]}}", 3);
        var e = file.Find("e")!;
        Assert.Equal(0, e.ByteSize);
        Assert.Equal(0, e.ElementCount);
        Assert.True(file.GetData(e).IsEmpty);
        Assert.Equal(3, file.Find("f")!.ByteSize);
    }

    [Fact]
    public void Escaped_and_non_ascii_names()
    {
        using var file = Open("{\"a\\\"b\\\\c\\u0041\\n\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},\"héllo😀\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}}", 2);
        Assert.Equal(["a\"b\\cA\n", "héllo😀"], file.Tensors.Select(t => t.Name));
    }

    [Fact]
    public void Whitespace_and_key_order_inside_entries()
    {
        using var file = Open("{ \"t\" : { \"data_offsets\" : [ 0 , 2 ] , \"shape\" : [ ] , \"dtype\" : \"BF16\" } }\t\n", 2);
        Assert.Equal(SafetensorsDType.BF16, file.Tensors[0].DType);
    }

    [Fact]
    public void Signature_sniffing()
    {
        Assert.True(SafetensorsFile.HasSignature(SafetensorsBytes.Sample()));
        Assert.False(SafetensorsFile.HasSignature("GGUF\x03\0\0\0\0\0\0\0"u8));
        Assert.False(SafetensorsFile.HasSignature(SafetensorsBytes.Raw("{}", 0, headerLength: 1UL << 50)));
        Assert.False(SafetensorsFile.HasSignature(new byte[4]));
    }
}
