using System.Buffers;
using System.Globalization;
using System.Text;

namespace KernelGen.Containers.Safetensors;

/// <summary>One tensor's header entry as the writer lays it out.</summary>
internal readonly record struct HeaderEntry(byte[] NameUtf8, SafetensorsDType DType, long[] Shape, long Begin, long End);

/// <summary>
/// Serializes a header exactly as the reference's serde_json does with <c>to_string</c>: no whitespace,
/// <c>__metadata__</c> first, then each tensor as <c>{"dtype":…,"shape":[…],"data_offsets":[b,e]}</c>, padded with
/// spaces to a multiple of 8 so the data buffer is 8-aligned. Strings are written as serde_json writes them: raw
/// UTF-8, escaping only <c>"</c>, <c>\</c> and control characters (<c>\b \t \n \f \r</c>, others as lower-case
/// <c>\u00XX</c>). System.Text.Json's writer escapes more (non-ASCII, <c>+</c>, <c>&lt;</c>…), which would break byte
/// identity, hence this small emitter.
/// </summary>
internal static class SafetensorsHeaderWriter
{
    private static ReadOnlySpan<byte> Hex => "0123456789abcdef"u8;

    /// <summary>The padded header bytes (N of them).</summary>
    public static byte[] Build(IReadOnlyList<KeyValuePair<string, string>> metadata, bool writeMetadata, IReadOnlyList<HeaderEntry> tensors)
    {
        var buffer = new ArrayBufferWriter<byte>(256 + 96 * tensors.Count);
        Raw(buffer, "{"u8);
        bool first = true;
        if (writeMetadata)
        {
            String(buffer, Encoding.UTF8.GetBytes(SafetensorsHeaderParser.MetadataKey));
            Raw(buffer, ":{"u8);
            for (int i = 0; i < metadata.Count; i++)
            {
                if (i > 0) Raw(buffer, ","u8);
                String(buffer, Encoding.UTF8.GetBytes(metadata[i].Key));
                Raw(buffer, ":"u8);
                String(buffer, Encoding.UTF8.GetBytes(metadata[i].Value));
            }
            Raw(buffer, "}"u8);
            first = false;
        }
        foreach (var t in tensors)
        {
            if (!first) Raw(buffer, ","u8);
            first = false;
            String(buffer, t.NameUtf8);
            Raw(buffer, ":{\"dtype\":"u8);
            String(buffer, Encoding.ASCII.GetBytes(t.DType.Name()));
            Raw(buffer, ",\"shape\":["u8);
            for (int d = 0; d < t.Shape.Length; d++)
            {
                if (d > 0) Raw(buffer, ","u8);
                Number(buffer, t.Shape[d]);
            }
            Raw(buffer, "],\"data_offsets\":["u8);
            Number(buffer, t.Begin);
            Raw(buffer, ","u8);
            Number(buffer, t.End);
            Raw(buffer, "]}"u8);
        }
        Raw(buffer, "}"u8);
        int padding = (8 - buffer.WrittenCount % 8) % 8;
        buffer.GetSpan(padding)[..padding].Fill((byte)' ');
        buffer.Advance(padding);
        return buffer.WrittenSpan.ToArray();
    }

    private static void Raw(ArrayBufferWriter<byte> buffer, ReadOnlySpan<byte> bytes) => buffer.Write(bytes);

    private static void Number(ArrayBufferWriter<byte> buffer, long value)
    {
        Span<byte> digits = stackalloc byte[20];
        value.TryFormat(digits, out int written, default, CultureInfo.InvariantCulture);
        buffer.Write(digits[..written]);
    }

    private static void String(ArrayBufferWriter<byte> buffer, ReadOnlySpan<byte> utf8)
    {
        Raw(buffer, "\""u8);
        int run = 0;
        for (int i = 0; i < utf8.Length; i++)
        {
            byte c = utf8[i];
            if (c >= 0x20 && c != '"' && c != '\\') continue;
            buffer.Write(utf8[run..i]);
            run = i + 1;
            ReadOnlySpan<byte> escape = c switch
            {
                (byte)'"' => "\\\""u8,
                (byte)'\\' => "\\\\"u8,
                (byte)'\b' => "\\b"u8,
                (byte)'\t' => "\\t"u8,
                (byte)'\n' => "\\n"u8,
                (byte)'\f' => "\\f"u8,
                (byte)'\r' => "\\r"u8,
                _ => [(byte)'\\', (byte)'u', (byte)'0', (byte)'0', Hex[c >> 4], Hex[c & 0xF]],
            };
            buffer.Write(escape);
        }
        buffer.Write(utf8[run..]);
        Raw(buffer, "\""u8);
    }
}
