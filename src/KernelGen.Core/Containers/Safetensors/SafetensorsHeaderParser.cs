using System.Text;
using System.Text.Json;
using KernelGen.Errors;

namespace KernelGen.Containers.Safetensors;

/// <summary>
/// One tensor entry as the header states it, before its offsets are checked against the file; <c>At</c> is the file
/// offset of the entry's key, for error messages.
/// </summary>
internal sealed record ParsedTensor(string Name, SafetensorsDType DType, long[] Shape, long Begin, long End, long At);

/// <summary>
/// The header's content in file order; <c>HasMetadataObject</c> is true when <c>__metadata__</c> is present as an
/// object (even an empty one).
/// </summary>
internal sealed record ParsedHeader(IReadOnlyList<KeyValuePair<string, string>> Metadata, bool HasMetadataObject, IReadOnlyList<ParsedTensor> Tensors);

/// <summary>
/// Reads the JSON header of a safetensors file with the strictness of the reference's serde types (FORMATS.md §8.2
/// step 3): the text must be UTF-8 and one JSON object; <c>__metadata__</c> is null or an object of strings; every
/// other key is a tensor object with a known <c>dtype</c>, a <c>shape</c> of non-negative integers and two
/// non-negative integer <c>data_offsets</c>. Beyond the reference we also reject duplicate keys (serde would keep
/// one silently) and a header not starting with <c>{</c> (newer releases' InvalidHeaderStart). Every error names the
/// byte offset in the file. Offsets and sizes are checked afterwards by <see cref="SafetensorsLayout"/>.
/// </summary>
internal ref struct SafetensorsHeaderParser
{
    /// <summary>The reserved key of the string-to-string metadata object.</summary>
    public const string MetadataKey = "__metadata__";

    private readonly ReadOnlySpan<byte> _json;
    private readonly long _base;
    private readonly string _path;
    private Utf8JsonReader _reader;

    private SafetensorsHeaderParser(ReadOnlySpan<byte> json, long baseOffset, string path)
    {
        _json = json;
        _base = baseOffset;
        _path = path;
        _reader = new Utf8JsonReader(json, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow });
    }

    /// <summary>Parses <paramref name="json"/>, which starts at file offset <paramref name="baseOffset"/>.</summary>
    public static ParsedHeader Parse(ReadOnlySpan<byte> json, long baseOffset, string path)
    {
        RequireUtf8(json, baseOffset, path);
        if (json.IsEmpty || json[0] != (byte)'{')
            throw new ModelFormatException(path, baseOffset, json.IsEmpty
                ? "header is empty (expected a JSON object)"
                : "header does not start with '{' (it must be a JSON object)");
        var parser = new SafetensorsHeaderParser(json, baseOffset, path);
        try
        {
            return parser.ParseRoot();
        }
        catch (JsonException e)
        {
            throw new ModelFormatException(path, baseOffset + (JsonErrorPosition.Offset(json, e) ?? 0),
                $"header is not valid JSON: {JsonErrorPosition.Describe(e)}", e);
        }
    }

    private static void RequireUtf8(ReadOnlySpan<byte> json, long baseOffset, string path)
    {
        int invalid = JsonErrorPosition.FirstInvalidUtf8(json);
        if (invalid >= 0) throw new ModelFormatException(path, baseOffset + invalid, "header is not valid UTF-8");
    }

    private ParsedHeader ParseRoot()
    {
        Next();
        var metadata = new List<KeyValuePair<string, string>>();
        var tensors = new List<ParsedTensor>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        bool seenMetadata = false, hasMetadataObject = false;
        while (Next() != JsonTokenType.EndObject)
        {
            long keyAt = At;
            string key = ReadString("a tensor name");
            Next();
            if (key == MetadataKey)
            {
                if (seenMetadata) throw Error($"duplicate \"{MetadataKey}\" entry", keyAt);
                seenMetadata = true;
                hasMetadataObject = ParseMetadata(metadata);
            }
            else
            {
                if (!names.Add(key)) throw Error($"duplicate tensor name '{key}'", keyAt);
                tensors.Add(ParseTensor(key, _base + keyAt));
            }
        }
        // The reader rejects anything but whitespace after the root object; this only consumes the end of input.
        _reader.Read();
        return new ParsedHeader(metadata, hasMetadataObject, tensors);
    }

    /// <summary>Reads the metadata value; returns false for <c>null</c>, which the reference treats as absent.</summary>
    private bool ParseMetadata(List<KeyValuePair<string, string>> metadata)
    {
        if (_reader.TokenType == JsonTokenType.Null) return false;
        if (_reader.TokenType != JsonTokenType.StartObject)
            throw Error($"\"{MetadataKey}\" is {Describe(_reader.TokenType)}, not an object of strings", At);
        var keys = new HashSet<string>(StringComparer.Ordinal);
        while (Next() != JsonTokenType.EndObject)
        {
            long keyAt = At;
            string key = ReadString("a metadata key");
            if (!keys.Add(key)) throw Error($"duplicate metadata key '{key}'", keyAt);
            if (Next() != JsonTokenType.String)
                throw Error($"metadata value of '{key}' is {Describe(_reader.TokenType)}, not a string", At);
            metadata.Add(new(key, ReadString($"the metadata value of '{key}'")));
        }
        return true;
    }

    /// <summary>Reads the tensor object named <paramref name="name"/> whose key is at file offset <paramref name="nameAt"/>.</summary>
    private ParsedTensor ParseTensor(string name, long nameAt)
    {
        if (_reader.TokenType != JsonTokenType.StartObject)
            throw Error($"entry '{name}' is {Describe(_reader.TokenType)}, not a tensor object with dtype, shape and data_offsets", At);
        SafetensorsDType? dtype = null;
        long[]? shape = null, offsets = null;
        while (Next() != JsonTokenType.EndObject)
        {
            long fieldAt = At;
            string field = ReadString($"a field name of tensor '{name}'");
            Next();
            switch (field)
            {
                case "dtype":
                    if (dtype.HasValue) throw Error($"tensor '{name}' has two dtype fields", fieldAt);
                    dtype = ReadDType(name);
                    break;
                case "shape":
                    if (shape is not null) throw Error($"tensor '{name}' has two shape fields", fieldAt);
                    shape = ReadIntegers(name, "shape");
                    break;
                case "data_offsets":
                    if (offsets is not null) throw Error($"tensor '{name}' has two data_offsets fields", fieldAt);
                    offsets = ReadIntegers(name, "data_offsets");
                    if (offsets.Length != 2)
                        throw Error($"tensor '{name}' data_offsets has {offsets.Length} numbers, expected [begin, end]", fieldAt);
                    break;
                default:
                    // The reference's TensorInfo ignores fields it does not know; so do we.
                    _reader.Skip();
                    break;
            }
        }
        if (dtype is null) throw new ModelFormatException(_path, nameAt, $"tensor '{name}' has no dtype");
        if (shape is null) throw new ModelFormatException(_path, nameAt, $"tensor '{name}' has no shape");
        if (offsets is null) throw new ModelFormatException(_path, nameAt, $"tensor '{name}' has no data_offsets");
        return new ParsedTensor(name, dtype.Value, shape, offsets[0], offsets[1], nameAt);
    }

    private SafetensorsDType ReadDType(string name)
    {
        if (_reader.TokenType != JsonTokenType.String)
            throw Error($"tensor '{name}' dtype is {Describe(_reader.TokenType)}, not a string", At);
        string text = ReadString($"the dtype of tensor '{name}'");
        return SafetensorsDTypes.TryParse(text, out var dtype)
            ? dtype
            : throw Error($"unsupported dtype '{Snippet(text)}' for tensor '{name}'", At);
    }

    private long[] ReadIntegers(string name, string field)
    {
        if (_reader.TokenType != JsonTokenType.StartArray)
            throw Error($"tensor '{name}' {field} is {Describe(_reader.TokenType)}, not an array of integers", At);
        var values = new List<long>();
        while (Next() != JsonTokenType.EndArray)
            values.Add(ReadNonNegative(name, field));
        return values.ToArray();
    }

    /// <summary>
    /// A JSON number that is a plain non-negative integer (serde's usize): no sign, fraction or exponent, and at most
    /// <see cref="long.MaxValue"/> (a larger dimension or offset could never describe bytes in a file).
    /// </summary>
    private long ReadNonNegative(string name, string field)
    {
        if (_reader.TokenType != JsonTokenType.Number)
            throw Error($"tensor '{name}' {field} holds {Describe(_reader.TokenType)}, not an integer", At);
        ReadOnlySpan<byte> text = _reader.ValueSpan;
        long value = 0;
        foreach (byte c in text)
        {
            if (c is < (byte)'0' or > (byte)'9')
                throw Error($"tensor '{name}' {field} holds {Snippet(Encoding.UTF8.GetString(text))}, not a non-negative integer", At);
            int digit = c - '0';
            if (value > (long.MaxValue - digit) / 10)
                throw Error($"tensor '{name}' {field} holds {Snippet(Encoding.UTF8.GetString(text))}, which is too large", At);
            value = value * 10 + digit;
        }
        return value;
    }

    private string ReadString(string what)
    {
        try
        {
            return _reader.GetString() ?? "";
        }
        catch (InvalidOperationException e)
        {
            // Escapes such as a lone "\ud800" decode to invalid UTF-16; the reference's serde_json rejects them too.
            throw Error($"{what} is not valid Unicode: {e.Message}", At);
        }
    }

    private JsonTokenType Next()
    {
        if (!_reader.Read()) throw Error("header ends before its JSON object is complete", _json.Length);
        return _reader.TokenType;
    }

    private readonly long At => _reader.TokenStartIndex;

    private readonly ModelFormatException Error(string reason, long at) => new(_path, _base + at, reason);

    private static string Describe(JsonTokenType token) => token switch
    {
        JsonTokenType.StartObject => "an object",
        JsonTokenType.StartArray => "an array",
        JsonTokenType.String => "a string",
        JsonTokenType.Number => "a number",
        JsonTokenType.True => "true",
        JsonTokenType.False => "false",
        JsonTokenType.Null => "null",
        _ => token.ToString(),
    };

    private static string Snippet(string text) => text.Length <= 40 ? text : text[..40] + "...";
}
