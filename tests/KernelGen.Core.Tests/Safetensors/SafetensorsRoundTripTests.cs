using KernelGen.Containers.Safetensors;

namespace KernelGen.Core.Tests.Safetensors;

/// <summary>
/// Read → write → compare. Every file in tests/data/vectors/quant comes back byte-identical with the default
/// <see cref="SafetensorsTensorOrder.SizeThenName"/> order: the library that wrote them keeps metadata in insertion
/// order and sorts tensors by element size then name, interleaving same-size dtypes by name (reference.safetensors
/// puts the I32 <c>qzeros_gptq_v2</c> before the F32 <c>weight_dequant</c>; i2s.safetensors puts the U8
/// <c>blk.0…</c> before the I8 <c>weight_ternary</c>). The Rust library's <c>prepare</c> would not reproduce those
/// two files: it sorts by dtype enum order (F32 before I32, I8 before U8), and its metadata is a HashMap, so
/// multi-key metadata comes out in an arbitrary order. <see cref="SafetensorsTensorOrder.DTypeThenName"/> gives the
/// Rust tensor order; metadata order is always the order it was added in.
/// </summary>
public sealed class SafetensorsRoundTripTests : IDisposable
{
    private readonly ScratchDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    public static TheoryData<string> VectorFiles() => new(SafetensorsTestData.QuantFiles());

    private static byte[] Rewrite(string path, SafetensorsTensorOrder order)
    {
        using var file = SafetensorsFile.Open(path);
        var writer = SafetensorsWriter.FromFile(file);
        writer.Order = order;
        return SafetensorsBytes.Write(writer);
    }

    [Theory]
    [MemberData(nameof(VectorFiles))]
    public void Vector_files_round_trip_byte_for_byte(string relativePath)
    {
        string path = SafetensorsTestData.Quant(relativePath);
        byte[] rewritten = Rewrite(path, SafetensorsTensorOrder.SizeThenName);
        Assert.Equal(File.ReadAllBytes(path), rewritten);

        // And read back, the copy says the same thing.
        using var original = SafetensorsFile.Open(path);
        using var copy = SafetensorsFile.Open(_dir.Write("copy.safetensors", rewritten));
        Assert.Equal(original.Metadata, copy.Metadata);
        Assert.Equal(original.Tensors.Select(t => t.ToString()), copy.Tensors.Select(t => t.ToString()));
    }

    [Fact]
    public void Rust_dtype_order_differs_only_where_same_size_dtypes_mix()
    {
        string reference = SafetensorsTestData.Quant("gptq", "gptq_b4_g128_asym_act0_512x128", "reference.safetensors");
        Assert.NotEqual(File.ReadAllBytes(reference), Rewrite(reference, SafetensorsTensorOrder.DTypeThenName));
        using (var rust = SafetensorsFile.Open(_dir.Write("rust.safetensors", Rewrite(reference, SafetensorsTensorOrder.DTypeThenName))))
            Assert.Equal(["weight_dequant", "x", "y", "qzeros_gptq_v2"], rust.Tensors.Select(t => t.Name));

        // A file with one dtype per size is the same under both orders.
        string model = SafetensorsTestData.Quant("awq", "awq_gemm_b4_g128_512x256", "model.safetensors");
        Assert.Equal(File.ReadAllBytes(model), Rewrite(model, SafetensorsTensorOrder.DTypeThenName));
    }

    [Fact]
    public void Written_then_read_then_written_is_stable()
    {
        byte[] first = SafetensorsBytes.Sample();
        byte[] second = Rewrite(_dir.Write("sample.safetensors", first), SafetensorsTensorOrder.SizeThenName);
        Assert.Equal(first, second);
    }

    [Fact]
    public void Empty_metadata_object_survives_a_round_trip()
    {
        string path = _dir.Write("empty-meta.safetensors", SafetensorsBytes.Raw("{\"__metadata__\":{}}     ", 0));
        Assert.Equal(File.ReadAllBytes(path), Rewrite(path, SafetensorsTensorOrder.SizeThenName));
    }

    /// <summary>
    /// The shared calibration vectors (only where ../shared exists) were written by a different tool that sorts by
    /// name alone (F32 <c>W_clipped</c>, then F16 <c>W_fakequant_f16</c>, then F32 <c>best_scales</c>…). They round-trip
    /// byte for byte only with <see cref="SafetensorsWriter.PreserveOrder"/>, which keeps that order.
    /// </summary>
    [Fact]
    public void Shared_calibration_files_round_trip_with_preserved_order()
    {
        if (SafetensorsTestData.SharedCalibDir is not { } calib) return;
        foreach (string path in Directory.GetFiles(calib, "*.safetensors", SearchOption.AllDirectories))
            Assert.Equal(File.ReadAllBytes(path), Rewrite(path, SafetensorsTensorOrder.Insertion));
    }
}
