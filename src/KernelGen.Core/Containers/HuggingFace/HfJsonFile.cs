using System.Text.Json;
using KernelGen.Containers.Safetensors;
using KernelGen.Errors;

namespace KernelGen.Containers.HuggingFace;

/// <summary>
/// Loads the small JSON files of a model folder (config.json, quantize_config.json, the shard index) so that every
/// problem, from an unreadable or oversized file to a syntax error, is a <see cref="ModelFormatException"/> naming
/// the file and, for syntax errors, the byte offset.
/// </summary>
internal static class HfJsonFile
{
    /// <summary>Larger files are refused rather than read into memory: no real config or index comes close.</summary>
    public const long MaxBytes = 64L << 20;

    /// <summary>Parses <paramref name="path"/>; the root must be a JSON object.</summary>
    public static JsonDocument LoadObject(string path)
    {
        byte[] bytes = ReadBounded(path);
        // Python's json module writes no BOM, but Windows editors do; System.Text.Json does not skip it on spans.
        int start = bytes.AsSpan().StartsWith("\uFEFF"u8) ? 3 : 0;
        ReadOnlyMemory<byte> json = bytes.AsMemory(start);
        int invalid = JsonErrorPosition.FirstInvalidUtf8(json.Span);
        if (invalid >= 0) throw new ModelFormatException(path, start + invalid, "not valid UTF-8");
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Disallow });
        }
        catch (JsonException e)
        {
            throw new ModelFormatException(path, start + JsonErrorPosition.Offset(json.Span, e), $"not valid JSON: {JsonErrorPosition.Describe(e)}", e);
        }
        if (document.RootElement.ValueKind != JsonValueKind.Object)
        {
            var kind = document.RootElement.ValueKind;
            document.Dispose();
            throw new ModelFormatException(path, start, $"the JSON root is {kind.ToString().ToLowerInvariant()}, not an object");
        }
        return document;
    }

    private static byte[] ReadBounded(string path)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
            if (stream.Length > MaxBytes)
                throw new ModelFormatException(path, null, $"file is {stream.Length} bytes; JSON files over {MaxBytes} bytes are not read");
            var bytes = new byte[stream.Length];
            stream.ReadExactly(bytes);
            return bytes;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ModelFormatException(path, null, $"cannot read: {e.Message}", e);
        }
    }
}
