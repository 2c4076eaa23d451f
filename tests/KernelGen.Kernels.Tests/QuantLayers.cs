using System.Runtime.InteropServices;
using System.Text.Json;
using KernelGen.Containers.Safetensors;
using KernelGen.Kernels.Generated;

namespace KernelGen.Kernels.Tests;

/// <summary>
/// Test glue over the generated tensor-level codecs (GPTQ, AWQ_GEMM, AWQ_GEMV, BitNet, I2_S): every decode path by
/// name, and readers for the checkpoint vectors in tests/data/vectors/quant.
/// </summary>
internal static class QuantLayers
{
    public static string QuantRoot => Path.Combine(TestData.RepoRoot, "tests", "data", "vectors", "quant");

    public static readonly string[] DecodePaths = { "Scalar", "V128", "V256", "V512", "DecodeRows" };

    public static float[] DecodeGptq(string path, in GPTQLayout l, byte[] qweight, byte[] qzeros, byte[] scales, byte[] gIdx)
    {
        var dst = new float[l.OutFeatures * l.InFeatures];
        int n = l.OutFeatures;
        switch (path)
        {
            case "Scalar": GPTQCodec.DecodeRowsScalar(l, qweight, qzeros, scales, gIdx, 0, n, dst); break;
            case "V128": GPTQCodec.DecodeRowsV128(l, qweight, qzeros, scales, gIdx, 0, n, dst); break;
            case "V256": GPTQCodec.DecodeRowsV256(l, qweight, qzeros, scales, gIdx, 0, n, dst); break;
            case "V512": GPTQCodec.DecodeRowsV512(l, qweight, qzeros, scales, gIdx, 0, n, dst); break;
            default:
                // Decode in uneven row chunks to exercise firstOutRow.
                for (int r = 0; r < n; r += 3)
                {
                    int c = Math.Min(3, n - r);
                    GPTQCodec.DecodeRows(l, qweight, qzeros, scales, gIdx, r, c, dst.AsSpan(r * l.InFeatures, c * l.InFeatures));
                }
                break;
        }
        return dst;
    }

    public static float[] DecodeAwqGemm(string path, in AWQ_GEMMLayout l, byte[] qweight, byte[] qzeros, byte[] scales)
    {
        var dst = new float[l.OutFeatures * l.InFeatures];
        int n = l.OutFeatures;
        switch (path)
        {
            case "Scalar": AWQ_GEMMCodec.DecodeRowsScalar(l, qweight, qzeros, scales, 0, n, dst); break;
            case "V128": AWQ_GEMMCodec.DecodeRowsV128(l, qweight, qzeros, scales, 0, n, dst); break;
            case "V256": AWQ_GEMMCodec.DecodeRowsV256(l, qweight, qzeros, scales, 0, n, dst); break;
            case "V512": AWQ_GEMMCodec.DecodeRowsV512(l, qweight, qzeros, scales, 0, n, dst); break;
            default: AWQ_GEMMCodec.DecodeRows(l, qweight, qzeros, scales, 0, n, dst); break;
        }
        return dst;
    }

    public static float[] DecodeAwqGemv(string path, in AWQ_GEMVLayout l, byte[] qweight, byte[] qzeros, byte[] scales)
    {
        var dst = new float[l.OutFeatures * l.InFeatures];
        int n = l.OutFeatures;
        switch (path)
        {
            case "Scalar": AWQ_GEMVCodec.DecodeRowsScalar(l, qweight, qzeros, scales, 0, n, dst); break;
            case "V128": AWQ_GEMVCodec.DecodeRowsV128(l, qweight, qzeros, scales, 0, n, dst); break;
            case "V256": AWQ_GEMVCodec.DecodeRowsV256(l, qweight, qzeros, scales, 0, n, dst); break;
            case "V512": AWQ_GEMVCodec.DecodeRowsV512(l, qweight, qzeros, scales, 0, n, dst); break;
            default: AWQ_GEMVCodec.DecodeRows(l, qweight, qzeros, scales, 0, n, dst); break;
        }
        return dst;
    }

    public static float[] DecodeBitNet(string path, in BitNetLayout l, byte[] weight, byte[] weightScale)
    {
        var dst = new float[l.OutFeatures * l.InFeatures];
        int n = l.OutFeatures;
        switch (path)
        {
            case "Scalar": BitNetCodec.DecodeRowsScalar(l, weight, weightScale, 0, n, dst); break;
            case "V128": BitNetCodec.DecodeRowsV128(l, weight, weightScale, 0, n, dst); break;
            case "V256": BitNetCodec.DecodeRowsV256(l, weight, weightScale, 0, n, dst); break;
            case "V512": BitNetCodec.DecodeRowsV512(l, weight, weightScale, 0, n, dst); break;
            default: BitNetCodec.DecodeRows(l, weight, weightScale, 0, n, dst); break;
        }
        return dst;
    }

    public static float[] DecodeI2S(string path, in I2_SLayout l, byte[] data)
    {
        var dst = new float[l.OutFeatures * l.InFeatures];
        int n = l.OutFeatures;
        switch (path)
        {
            case "Scalar": I2_SCodec.DecodeRowsScalar(l, data, 0, n, dst); break;
            case "V128": I2_SCodec.DecodeRowsV128(l, data, 0, n, dst); break;
            case "V256": I2_SCodec.DecodeRowsV256(l, data, 0, n, dst); break;
            case "V512": I2_SCodec.DecodeRowsV512(l, data, 0, n, dst); break;
            default: I2_SCodec.DecodeRows(l, data, 0, n, dst); break;
        }
        return dst;
    }

    /// <summary>All tensors of a safetensors file as raw bytes (copied out of the mapping).</summary>
    public static Dictionary<string, (SafetensorsDType DType, long[] Shape, byte[] Data)> ReadSafetensors(string path)
    {
        using var file = SafetensorsFile.Open(path);
        var result = new Dictionary<string, (SafetensorsDType, long[], byte[])>(StringComparer.Ordinal);
        foreach (var t in file.Tensors)
        {
            result[t.Name] = (t.DType, t.Shape, file.GetData(t).ToArray());
        }
        return result;
    }

    public static float[] Floats(byte[] data) => MemoryMarshal.Cast<byte, float>(data).ToArray();

    public static JsonElement Json(string path) => JsonDocument.Parse(File.ReadAllText(path)).RootElement;

    public static void AssertBitwise(float[] expected, float[] actual, string context) =>
        Paths.AssertBitwiseEqual(expected, actual, context);
}
