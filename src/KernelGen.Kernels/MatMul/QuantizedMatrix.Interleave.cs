using KernelGen.Kernels.Generated;
using System.Runtime.Intrinsics.X86;

namespace KernelGen.Kernels.MatMul;

// The one-time repack into the 8-row interleaved layout. The layout and its packer are generated per format
// (<F>Dot.Interleave8, from the same spec as the row kernels); this file only drives it over the matrix.
public sealed partial class QuantizedMatrix
{
    /// <summary>
    /// True when <see cref="Interleaved"/> would repack: the layout is <see cref="MatrixLayout.Rows"/>, the format has
    /// an interleaved kernel (the generator emits one for every spec its interleaved plan accepts: Q4_0, Q4_1, Q8_0,
    /// Q8_1, Q4_K, Q6_K, TQ2_0 and the GPTQ/AWQ 4-bit kernel rows) and the CPU has AVX2 and FMA.
    /// </summary>
    public bool CanInterleave =>
        Layout == MatrixLayout.Rows && Format.Interleave8 is not null && Avx2.IsSupported && Fma.IsSupported && BitConverter.IsLittleEndian;

    /// <summary>
    /// The instruction set of the tile that multiplies interleaved weights by four activation rows at a time (matmul):
    /// "AVX-512BW" (512-bit vpmaddubsw over two 8-row groups' bytes, formats whose codes are unsigned), else
    /// "AVX-VNNI" (vpdpbusd), else "AVX2" (vpmaddubsw + vpmaddwd); "none" without AVX2 and FMA. Setting the
    /// environment variable KERNELGEN_AVX512_TILE=0 before the first call keeps the AVX-VNNI / AVX2 tile (for comparisons).
    /// </summary>
    public static string InterleavedTile =>
        !(Avx2.IsSupported && Fma.IsSupported) ? "none"
        : KernelGenHelpers.Avx512Tile ? "AVX-512BW"
        : AvxVnni.IsSupported ? "AVX-VNNI" : "AVX2";

    /// <summary>
    /// This matrix repacked once into the 8-row interleaved layout, which the AVX2 / AVX-VNNI matvec and matmul
    /// kernels multiply up to several times as fast as rows (docs/PERFORMANCE.md), or this matrix itself when
    /// <see cref="CanInterleave"/> is false, a block scale is infinite or NaN, or the copy would not fit one .NET array
    /// (over about 2 GiB). The repack is a copy (<see cref="StoredBytes"/>, within a few percent of
    /// <see cref="WeightBytes"/>): the source rows (a memory-mapped file, a buffer) are no longer referenced by the
    /// result. Products are the same sums as on rows (same activation quantization), up to float summation order.
    /// </summary>
    public QuantizedMatrix Interleaved()
    {
        if (!CanInterleave)
        {
            return this;
        }
        int groups = (N + 7) / 8;
        long groupBytes = (long)(K / Format.BlockElements) * Format.InterleavedBlockBytes;
        long total = groups * groupBytes;
        if (total > Array.MaxLength)
        {
            return this;
        }
        var packed = GC.AllocateUninitializedArray<byte>((int)total);
        var pack = Format.Interleave8!;
        ReadOnlyMemory<byte> rows = _rows;
        int n = N, k = K;
        long rowBytes = RowBytes;
        int failed = 0;
        Parallel.For(0, groups, g =>
        {
            int count = Math.Min(8, n - g * 8);
            var src = rows.Span.Slice(checked((int)(g * 8 * rowBytes)), checked((int)(count * rowBytes)));
            if (!pack(src, (nint)rowBytes, count, k, packed.AsSpan(checked((int)(g * groupBytes)), (int)groupBytes)))
            {
                Interlocked.Exchange(ref failed, 1);
            }
        });
        return failed != 0 ? this : new QuantizedMatrix(Format, packed, K, N, RowBytes, _inputOrder, SourceFormat, MatrixLayout.Interleaved8);
    }
}
