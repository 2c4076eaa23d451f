namespace KernelGen.Containers.Safetensors;

/// <summary>
/// The order in which <see cref="SafetensorsWriter"/> lays tensors out (header entries and data alike). Readers do
/// not care, but byte-identical output does: the reference writers disagree among themselves, see each member.
/// </summary>
public enum SafetensorsTensorOrder
{
    /// <summary>
    /// Descending element size in bits, then name (UTF-8 byte order): the documented convention (FORMATS.md §8.1,
    /// "descending dtype alignment, then name") and the order of every file in <c>tests/data/vectors/quant</c>, whose
    /// writer interleaves same-size dtypes by name (an <c>I32</c> named <c>qzeros…</c> before an <c>F32</c> named
    /// <c>weight…</c>). It keeps every tensor aligned to its element size in the data buffer.
    /// </summary>
    SizeThenName,

    /// <summary>
    /// Descending <see cref="SafetensorsDType"/> declaration order, then name: exactly what the Rust library's
    /// <c>prepare</c> does (<c>right.dtype().cmp(&amp;left.dtype()).then(lname.cmp(rname))</c>), and so what
    /// <c>safetensors.torch.save_file</c> writes. It differs from <see cref="SizeThenName"/> only between different
    /// dtypes of one size: F32 before U32 before I32, BF16 before F16, I8 before U8, and BOOL after the sub-byte types.
    /// </summary>
    DTypeThenName,

    /// <summary>The order the tensors were added in (for re-writing a file whose header follows no sort).</summary>
    Insertion,
}
