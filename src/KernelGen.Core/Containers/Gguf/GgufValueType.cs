namespace KernelGen.Containers.Gguf;

/// <summary>GGUF metadata value types (gguf.h <c>enum gguf_type</c>); any other id is invalid.</summary>
public enum GgufValueType : uint
{
    UInt8 = 0, Int8 = 1, UInt16 = 2, Int16 = 3, UInt32 = 4, Int32 = 5, Float32 = 6, Bool = 7,
    String = 8, Array = 9, UInt64 = 10, Int64 = 11, Float64 = 12,
}

/// <summary>Facts about GGUF value types: encoded sizes and the names gguf-py uses.</summary>
public static class GgufValueTypes
{
    public const uint Count = 13;

    /// <summary>Encoded size of a fixed-size value, or 0 for String and Array.</summary>
    public static int FixedSize(GgufValueType t) => t switch
    {
        GgufValueType.UInt8 or GgufValueType.Int8 or GgufValueType.Bool => 1,
        GgufValueType.UInt16 or GgufValueType.Int16 => 2,
        GgufValueType.UInt32 or GgufValueType.Int32 or GgufValueType.Float32 => 4,
        GgufValueType.UInt64 or GgufValueType.Int64 or GgufValueType.Float64 => 8,
        _ => 0,
    };

    /// <summary>The fewest bytes one element of this type can take on disk (strings: the 8-byte length).</summary>
    public static int MinEncodedSize(GgufValueType t) => t switch
    {
        GgufValueType.String => 8,
        GgufValueType.Array => 12,
        _ => FixedSize(t),
    };

    /// <summary>The name gguf-py uses (<c>UINT32</c>, <c>STRING</c>...).</summary>
    public static string Name(GgufValueType t) => t switch
    {
        GgufValueType.UInt8 => "UINT8", GgufValueType.Int8 => "INT8", GgufValueType.UInt16 => "UINT16",
        GgufValueType.Int16 => "INT16", GgufValueType.UInt32 => "UINT32", GgufValueType.Int32 => "INT32",
        GgufValueType.Float32 => "FLOAT32", GgufValueType.Bool => "BOOL", GgufValueType.String => "STRING",
        GgufValueType.Array => "ARRAY", GgufValueType.UInt64 => "UINT64", GgufValueType.Int64 => "INT64",
        GgufValueType.Float64 => "FLOAT64", _ => $"type_{(uint)t}",
    };
}
