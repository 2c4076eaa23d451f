using System.Buffers.Binary;
using System.Text;
using KernelGen.Errors;

namespace KernelGen.IO;

/// <summary>
/// A little-endian sequential reader over a span of a file that checks every read against the bytes that remain and
/// reports failures as <see cref="ModelFormatException"/> with the absolute offset. Nothing it reads is used to size
/// an allocation until it has been checked against the remaining length.
/// </summary>
internal ref struct BoundedReader
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly ReadOnlySpan<byte> _data;
    private readonly string _path;
    private int _pos;

    public BoundedReader(ReadOnlySpan<byte> data, string path, int start = 0)
    {
        _data = data;
        _path = path;
        _pos = start;
    }

    /// <summary>Absolute offset of the next byte.</summary>
    public readonly long Position => _pos;

    /// <summary>Bytes left to read.</summary>
    public readonly long Remaining => _data.Length - _pos;

    public readonly ModelFormatException Error(string reason, long? at = null) => new(_path, at ?? _pos, reason);

    private ReadOnlySpan<byte> Take(int count, string what)
    {
        if (count > _data.Length - _pos)
            throw Error($"file ends inside {what} (needs {count} bytes, {_data.Length - _pos} left)");
        var s = _data.Slice(_pos, count);
        _pos += count;
        return s;
    }

    public byte U8(string what) => Take(1, what)[0];
    public ushort U16(string what) => BinaryPrimitives.ReadUInt16LittleEndian(Take(2, what));
    public uint U32(string what) => BinaryPrimitives.ReadUInt32LittleEndian(Take(4, what));
    public ulong U64(string what) => BinaryPrimitives.ReadUInt64LittleEndian(Take(8, what));
    public float F32(string what) => BinaryPrimitives.ReadSingleLittleEndian(Take(4, what));
    public double F64(string what) => BinaryPrimitives.ReadDoubleLittleEndian(Take(8, what));

    /// <summary>Raw bytes of a block whose size has already been validated.</summary>
    public ReadOnlySpan<byte> Bytes(int count, string what) => Take(count, what);

    /// <summary>Checks that <paramref name="count"/> items of at least <paramref name="minSize"/> bytes each can fit in what remains.</summary>
    public readonly void EnsureCanHold(ulong count, int minSize, string what)
    {
        if (minSize > 0 && count > (ulong)Remaining / (ulong)minSize)
            throw Error($"{what} count {count} cannot fit in the {Remaining} bytes left in the file");
    }

    /// <summary>A u64-length-prefixed UTF-8 string (GGUF). Invalid UTF-8 is an error.</summary>
    public string LengthPrefixedString(string what, ulong maxLength)
    {
        long at = _pos;
        ulong len = U64($"the length of {what}");
        if (len > maxLength) throw Error($"{what} length {len} exceeds the limit of {maxLength} bytes", at);
        if (len > (ulong)Remaining) throw Error($"{what} length {len} runs past the end of the file ({Remaining} bytes left)", at);
        var bytes = Take((int)len, what);
        try
        {
            return StrictUtf8.GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            throw Error($"{what} is not valid UTF-8", at + 8);
        }
    }

    public void Seek(int position) => _pos = position;
}
