using KernelGen.Kernels.Generated;

namespace KernelGen.Kernels.MatMul;

/// <summary>Shape checks shared by every matrix entry point, with messages that say what to fix.</summary>
internal static class MatrixShape
{
    /// <summary>Validates k, n and the weight length; returns the bytes of one row.</summary>
    public static long RowBytes(KernelGenFormatInfo format, int k, int n, long weightBytes) =>
        RowBytes(format.Name, format.BlockElements, format.BlockBytes, k, n, weightBytes);

    /// <summary>Validates k, n and the weight length of any block format; returns the bytes of one row.</summary>
    public static long RowBytes(string name, int blockElements, int blockBytes, int k, int n, long weightBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(k);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(n);
        if (k % blockElements != 0)
        {
            throw new ArgumentException($"{name} rows are whole {blockElements}-element blocks; k = {k} is not a multiple.", nameof(k));
        }
        long rowBytes = (long)(k / blockElements) * blockBytes;
        if (weightBytes != rowBytes * n)
        {
            throw new ArgumentException($"{n} rows of {k} {name} elements take {rowBytes * n} bytes, not {weightBytes}.", "weights");
        }
        return rowBytes;
    }

    /// <summary>Validates the activation and output lengths for a batch.</summary>
    public static void CheckActivations(int k, int n, int xLength, int batch, int yLength)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batch);
        if (xLength < (long)batch * k)
        {
            throw new ArgumentException($"x needs {batch} x {k} floats, it has {xLength}.", "x");
        }
        if (yLength < (long)batch * n)
        {
            throw new ArgumentException($"y needs {batch} x {n} floats, it has {yLength}.", "y");
        }
    }
}
