using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace KernelGen.Containers.Safetensors;

/// <summary>
/// Turns the (line, byte-in-line) position that System.Text.Json reports into a byte offset in the parsed text, so a
/// <see cref="KernelGen.Errors.ModelFormatException"/> can name the absolute offset in the file as every other
/// container error does. Shared by the safetensors header parser and the Hugging Face JSON files.
/// </summary>
internal static class JsonErrorPosition
{
    /// <summary>The offset of the error inside <paramref name="json"/>, or null when the exception carries no position.</summary>
    public static long? Offset(ReadOnlySpan<byte> json, JsonException error)
    {
        if (error.LineNumber is not long line || error.BytePositionInLine is not long column) return null;
        int lineStart = 0;
        for (long l = 0; l < line; l++)
        {
            int newline = json[lineStart..].IndexOf((byte)'\n');
            if (newline < 0) break;
            lineStart += newline + 1;
        }
        return Math.Min(lineStart + column, json.Length);
    }

    /// <summary>
    /// Offset of the first byte that is not valid UTF-8, or -1 when <paramref name="text"/> is valid. System.Text.Json
    /// only validates UTF-8 lazily, when a string is decoded, so callers check the whole text up front.
    /// </summary>
    public static int FirstInvalidUtf8(ReadOnlySpan<byte> text)
    {
        if (Utf8.IsValid(text)) return -1;
        int pos = 0;
        while (pos < text.Length && Rune.DecodeFromUtf8(text[pos..], out _, out int consumed) == OperationStatus.Done)
            pos += consumed;
        return pos;
    }

    /// <summary>The exception's message without System.Text.Json's own "LineNumber: … | BytePositionInLine: …" suffix.</summary>
    public static string Describe(JsonException error)
    {
        string message = error.Message;
        int at = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
        return (at >= 0 ? message[..at] : message).TrimEnd(' ', '.');
    }
}
