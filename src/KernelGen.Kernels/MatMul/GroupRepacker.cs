using KernelGen.Kernels.Generated;

namespace KernelGen.Kernels.MatMul;

/// <summary>
/// The one-time load repack of a group-quantized nn.Linear layer (GPTQ, AWQ) into GGUF-style kernel rows: row n =
/// output feature n, its K inputs as consecutive blocks of <c>GQ4_G128</c> / <c>GQ4_G32</c> (codes of 2, 3 or 4 bits)
/// or <c>GQ8_G128</c> / <c>GQ8_G32</c> (8-bit codes), one block per 128 or 32 inputs of one group, the group's fp16
/// scale and effective zero point repeated in each of its blocks (formats/gq*.kgspec).
/// <para>
/// Input is the layer in the checkpoint-neutral logical form the generated tensor codecs' <c>DecodeFields</c> give:
/// codes <c>[n·K + k]</c>, effective zero points and raw fp16 scales <c>[n·G + g]</c>, and the group of every input.
/// Inputs are stored group by group (a stable sort by group, so a layer whose group map is already monotonic keeps its
/// order); the permutation is returned for <see cref="QuantizedMatrix.InputOrder"/>. Every group must hold a multiple of
/// 32 inputs; blocks are 128 elements when every group holds a multiple of 128, else 32. Since the block value
/// <c>f32(q − z) · s</c> is the checkpoints' <c>s · f32(q − z)</c> (one commutative IEEE multiply of the same operands),
/// the repacked rows decode bit for bit to the tensor decoder's output.
/// </para>
/// </summary>
internal static class GroupRepacker
{
    /// <summary>The repacked rows: format, bytes (N rows of <see cref="RowBytes"/>) and the input order (null = identity).</summary>
    internal readonly record struct Result(KernelGenFormatInfo Format, byte[] Rows, long RowBytes, int[]? InputOrder);

    private delegate void BlockEncoder(ushort scale, int zero, ReadOnlySpan<int> codes, Span<byte> destination);

    /// <summary>Repacks a layer given in logical form (see the class summary).</summary>
    /// <param name="source">The checkpoint format, for messages (GPTQ, AWQ_GEMM, ...).</param>
    /// <param name="n">Output features N.</param>
    /// <param name="k">Input features K.</param>
    /// <param name="groups">Number of groups G.</param>
    /// <param name="bits">Code width: 2, 3, 4 or 8.</param>
    /// <param name="codes">N·K codes, <c>[n·K + k]</c>, each in 0..2^bits−1.</param>
    /// <param name="zeros">N·G effective zero points, <c>[n·G + g]</c>, each in 0..2^bits−1.</param>
    /// <param name="scales">N·G raw fp16 scales, <c>[n·G + g]</c>.</param>
    /// <param name="groupOf">K group indices (the group of input k).</param>
    public static Result Repack(string source, int n, int k, int groups, int bits,
        ReadOnlySpan<int> codes, ReadOnlySpan<int> zeros, ReadOnlySpan<ushort> scales, ReadOnlySpan<int> groupOf)
    {
        int[]? order = GroupOrder(source, groupOf, groups, out int blockElements);
        string name = bits switch
        {
            2 or 3 or 4 => blockElements == 128 ? "GQ4_G128" : "GQ4_G32",
            8 => blockElements == 128 ? "GQ8_G128" : "GQ8_G32",
            _ => throw new ArgumentException($"{source}: {bits}-bit codes have no repacked row layout (supported: 2, 3, 4 and 8 bits).", "layout"),
        };
        BlockEncoder encode = name switch
        {
            "GQ4_G128" => EncodeGq4G128,
            "GQ4_G32" => EncodeGq4G32,
            "GQ8_G128" => EncodeGq8G128,
            _ => EncodeGq8G32,
        };
        var format = Dequantizer.GetFormat(name);
        int blocksPerRow = k / blockElements;
        long rowBytes = (long)blocksPerRow * format.BlockBytes;
        var rows = AllocateRows(source, format, rowBytes, n);
        var gathered = new int[blockElements];
        int bytesPerBlock = format.BlockBytes;
        for (int r = 0; r < n; r++)
        {
            var codeRow = codes.Slice(r * k, k);
            int groupBase = r * groups;
            for (int b = 0; b < blocksPerRow; b++)
            {
                int j0 = b * blockElements;
                if (order is null)
                {
                    codeRow.Slice(j0, blockElements).CopyTo(gathered);
                }
                else
                {
                    for (int i = 0; i < blockElements; i++) gathered[i] = codeRow[order[j0 + i]];
                }
                int g = groupOf[order is null ? j0 : order[j0]];
                encode(scales[groupBase + g], zeros[groupBase + g], gathered,
                    rows.AsSpan(checked((int)(r * rowBytes + (long)b * bytesPerBlock)), bytesPerBlock));
            }
        }
        return new Result(format, rows, rowBytes, order);
    }

    /// <summary>
    /// Validates the group map and orders the inputs group by group (stable). Returns null when that order is the
    /// identity (the map is monotonic). <paramref name="blockElements"/>: 128 when every group holds a multiple of 128
    /// inputs, else 32.
    /// </summary>
    public static int[]? GroupOrder(string source, ReadOnlySpan<int> groupOf, int groups, out int blockElements)
    {
        int k = groupOf.Length;
        var counts = new int[groups];
        bool monotonic = true;
        for (int i = 0; i < k; i++)
        {
            int g = groupOf[i];
            if ((uint)g >= (uint)groups)
            {
                throw new ArgumentException($"{source}: the group of input {i} is {g}, outside 0..{groups - 1} (g_idx does not fit the layout).", "gIdx");
            }
            counts[g]++;
            if (i > 0 && g < groupOf[i - 1]) monotonic = false;
        }
        bool all128 = true;
        for (int g = 0; g < groups; g++)
        {
            if (counts[g] % 32 != 0)
            {
                throw new ArgumentException(
                    $"{source}: group {g} holds {counts[g]} inputs; the repacked row layouts (GQ4_G32/G128, GQ8_G32/G128) need every group to hold a " +
                    "multiple of 32 inputs (group size 32, 64, 128, ... with in features a multiple of 32, or per channel with in features a multiple of 32).", "layout");
            }
            all128 &= counts[g] % 128 == 0;
        }
        blockElements = all128 ? 128 : 32;
        if (monotonic) return null;
        var next = new int[groups];
        for (int g = 1; g < groups; g++) next[g] = next[g - 1] + counts[g - 1];
        var order = new int[k];
        for (int i = 0; i < k; i++) order[next[groupOf[i]]++] = i;
        return order;
    }

    /// <summary>Allocates N rows, checking that they fit one array.</summary>
    internal static byte[] AllocateRows(string source, KernelGenFormatInfo format, long rowBytes, int n)
    {
        long total = rowBytes * n;
        if (total > Array.MaxLength)
        {
            throw new ArgumentException($"{source}: the repacked {format.Name} layer takes {total} bytes, more than one array holds ({Array.MaxLength}).", "layout");
        }
        return new byte[total];
    }

    private static void EncodeGq4G128(ushort scale, int zero, ReadOnlySpan<int> codes, Span<byte> destination)
    {
        GQ4_G128Block block = default;
        block.S = scale;
        block.Z = (byte)zero;
        for (int i = 0; i < GQ4_G128Codec.BlockElements; i++) block.Q[i] = (byte)codes[i];
        GQ4_G128Codec.Encode(block, destination);
    }

    private static void EncodeGq4G32(ushort scale, int zero, ReadOnlySpan<int> codes, Span<byte> destination)
    {
        GQ4_G32Block block = default;
        block.S = scale;
        block.Z = (byte)zero;
        for (int i = 0; i < GQ4_G32Codec.BlockElements; i++) block.Q[i] = (byte)codes[i];
        GQ4_G32Codec.Encode(block, destination);
    }

    // 8-bit: code and zero point shifted by -128 into int8 (q - z unchanged).
    private static void EncodeGq8G128(ushort scale, int zero, ReadOnlySpan<int> codes, Span<byte> destination)
    {
        GQ8_G128Block block = default;
        block.S = scale;
        block.Z = (sbyte)(zero - 128);
        for (int i = 0; i < GQ8_G128Codec.BlockElements; i++) block.Q[i] = (sbyte)(codes[i] - 128);
        GQ8_G128Codec.Encode(block, destination);
    }

    private static void EncodeGq8G32(ushort scale, int zero, ReadOnlySpan<int> codes, Span<byte> destination)
    {
        GQ8_G32Block block = default;
        block.S = scale;
        block.Z = (sbyte)(zero - 128);
        for (int i = 0; i < GQ8_G32Codec.BlockElements; i++) block.Q[i] = (sbyte)(codes[i] - 128);
        GQ8_G32Codec.Encode(block, destination);
    }
}
