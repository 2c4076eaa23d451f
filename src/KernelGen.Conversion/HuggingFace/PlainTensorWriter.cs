using KernelGen.Containers.Safetensors;
using KernelGen.Conversion.Tensors;
using KernelGen.IO;
using KernelGen.Kernels;

namespace KernelGen.Conversion.HuggingFace;

/// <summary>
/// The unquantized tensors of a checkpoint being written (embeddings, output head, norms, biases): matrices in F16
/// when every value survives the conversion, everything else in F32, so nothing is lost.
/// </summary>
public static class PlainTensorWriter
{
    public static void Add(SafetensorsWriter writer, string name, FloatTensor t)
    {
        var dtype = t.Shape.Count >= 2 && FitsF16(t) ? SafetensorsDType.F16 : SafetensorsDType.F32;
        int size = dtype == SafetensorsDType.F16 ? 2 : 4;
        writer.AddTensor(name, dtype, t.Shape, TensorDataSource.FromCallback(t.ElementCount * size, (s, _) =>
        {
            var floats = ReadAll(t);
            var bytes = new byte[floats.Length * size];
            if (size == 4) Buffer.BlockCopy(floats, 0, bytes, 0, bytes.Length); else Quantizer.Quantize("F16", floats, bytes);
            s.Write(bytes);
        }));
    }

    public static float[] ReadAll(FloatTensor t)
    {
        var floats = new float[t.ElementCount];
        t.ReadRows(0, (int)t.RowCount, floats);
        return floats;
    }

    private static bool FitsF16(FloatTensor t) => Array.TrueForAll(ReadAll(t), v => (float)(Half)v == v);
}
