using System.Collections;

namespace KernelGen.Containers.Gguf;

/// <summary>
/// GGUF metadata: key/value pairs in file order. Setting an existing key moves it to the end, as ggml's
/// <c>gguf_set_val_*</c> does (llama-quantize relies on this to put <c>general.file_type</c> last).
/// </summary>
public sealed class GgufMetadata : IReadOnlyList<KeyValuePair<string, GgufValue>>
{
    private readonly List<KeyValuePair<string, GgufValue>> _items = new();
    private readonly Dictionary<string, GgufValue> _byKey = new(StringComparer.Ordinal);

    public const string ArchitectureKey = "general.architecture";
    public const string AlignmentKey = "general.alignment";
    public const string FileTypeKey = "general.file_type";
    public const string QuantizationVersionKey = "general.quantization_version";

    public int Count => _items.Count;

    public KeyValuePair<string, GgufValue> this[int index] => _items[index];

    /// <summary>The value stored under <paramref name="key"/>.</summary>
    public GgufValue this[string key] => _byKey[key];

    public bool ContainsKey(string key) => _byKey.ContainsKey(key);

    public bool TryGetValue(string key, out GgufValue value) => _byKey.TryGetValue(key, out value!);

    /// <summary>Sets a key: replaces and moves an existing key to the end, or appends a new one.</summary>
    public void Set(string key, GgufValue value)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        ArgumentNullException.ThrowIfNull(value);
        Remove(key);
        _items.Add(new(key, value));
        _byKey.Add(key, value);
    }

    /// <summary>Appends a key that must not exist yet (the reader uses this: duplicates are an error in a file).</summary>
    internal bool TryAdd(string key, GgufValue value)
    {
        if (!_byKey.TryAdd(key, value)) return false;
        _items.Add(new(key, value));
        return true;
    }

    /// <summary>Removes a key; false if it was not there.</summary>
    public bool Remove(string key)
    {
        if (!_byKey.Remove(key)) return false;
        _items.RemoveAt(_items.FindIndex(kv => kv.Key == key));
        return true;
    }

    /// <summary>A string value, or null when the key is absent or not a string.</summary>
    public string? GetString(string key) => TryGetValue(key, out var v) && v.Type == GgufValueType.String ? v.AsString() : null;

    /// <summary>The data alignment the file uses: <c>general.alignment</c> or the default 32.</summary>
    public uint Alignment => TryGetValue(AlignmentKey, out var v) && v.Type == GgufValueType.UInt32 ? (uint)v.Raw : GgufFile.DefaultAlignment;

    /// <summary>A copy with the same keys, order and values.</summary>
    public GgufMetadata Clone()
    {
        var copy = new GgufMetadata();
        foreach (var kv in _items) copy.TryAdd(kv.Key, kv.Value);
        return copy;
    }

    public IEnumerator<KeyValuePair<string, GgufValue>> GetEnumerator() => _items.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
