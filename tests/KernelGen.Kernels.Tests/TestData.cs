using System.Buffers.Binary;
using System.Text;

namespace KernelGen.Kernels.Tests;

/// <summary>Locates the repository (the folder holding KernelGen.sln) and reads ggml reference vector files.</summary>
internal static class TestData
{
    private static readonly Lazy<string> s_root = new(() =>
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "KernelGen.sln")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException("KernelGen.sln not found above " + AppContext.BaseDirectory);
    });

    public static string RepoRoot => s_root.Value;

    public static string VectorPath(string type) => Path.Combine(RepoRoot, "tests", "data", "vectors", "ggml", type + "_512.bin");

    /// <summary>The parts of a <c>GGMLVEC1</c> file the decoder tests need (see tests/data/vectors/ggml/README.md).</summary>
    public sealed record GgmlVectorFile(string TypeName, uint TypeId, int Rows, int RowLength, int BlockSize, int TypeSize, int RowBytes, byte[] Quantized, float[] Dequantized);

    public static GgmlVectorFile ReadVectors(string type)
    {
        byte[] file = File.ReadAllBytes(VectorPath(type));
        ReadOnlySpan<byte> s = file;
        if (Encoding.ASCII.GetString(file, 0, 8) != "GGMLVEC1" || BinaryPrimitives.ReadUInt32LittleEndian(s[8..]) != 1)
        {
            throw new InvalidDataException("not a GGMLVEC1 v1 file");
        }
        int headerSize = (int)BinaryPrimitives.ReadUInt32LittleEndian(s[12..]);
        string name = Encoding.ASCII.GetString(file, 16, 16).TrimEnd('\0');
        uint typeId = BinaryPrimitives.ReadUInt32LittleEndian(s[32..]);
        int rows = (int)BinaryPrimitives.ReadUInt32LittleEndian(s[36..]);
        int len = (int)BinaryPrimitives.ReadUInt32LittleEndian(s[40..]);
        int block = (int)BinaryPrimitives.ReadUInt32LittleEndian(s[44..]);
        int typeSize = (int)BinaryPrimitives.ReadUInt32LittleEndian(s[48..]);
        int rowBytes = (int)BinaryPrimitives.ReadUInt32LittleEndian(s[52..]);
        int offset = headerSize;
        offset += 4 * rows;            // section 1: row kinds
        offset += 4 * rows * len;      // section 2: input rows
        byte[] quantized = s.Slice(offset, rows * rowBytes).ToArray(); // section 3
        offset += rows * rowBytes;
        float[] dequantized = new float[rows * len];                     // section 4
        for (int i = 0; i < dequantized.Length; i++)
        {
            dequantized[i] = BinaryPrimitives.ReadSingleLittleEndian(s.Slice(offset + 4 * i));
        }
        return new GgmlVectorFile(name, typeId, rows, len, block, typeSize, rowBytes, quantized, dequantized);
    }
}
