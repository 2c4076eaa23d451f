using System.Globalization;

namespace KernelGen.Containers.Gguf;

/// <summary>
/// One GGUF metadata value with its exact on-disk type, so that a file read and written back is byte-identical.
/// Booleans keep their stored byte (ggml reads any non-zero byte as true).
/// </summary>
public sealed class GgufValue : IEquatable<GgufValue>
{
    private GgufValue(GgufValueType type, object raw)
    {
        Type = type;
        Raw = raw;
    }

    /// <summary>The stored value type.</summary>
    public GgufValueType Type { get; }

    /// <summary>The value: byte, sbyte, ushort, short, uint, int, float, byte (bool), string, <see cref="GgufArray"/>, ulong, long or double.</summary>
    public object Raw { get; }

    public static GgufValue UInt8(byte v) => new(GgufValueType.UInt8, v);
    public static GgufValue Int8(sbyte v) => new(GgufValueType.Int8, v);
    public static GgufValue UInt16(ushort v) => new(GgufValueType.UInt16, v);
    public static GgufValue Int16(short v) => new(GgufValueType.Int16, v);
    public static GgufValue UInt32(uint v) => new(GgufValueType.UInt32, v);
    public static GgufValue Int32(int v) => new(GgufValueType.Int32, v);
    public static GgufValue Float32(float v) => new(GgufValueType.Float32, v);
    public static GgufValue Bool(bool v) => new(GgufValueType.Bool, (byte)(v ? 1 : 0));
    internal static GgufValue BoolByte(byte stored) => new(GgufValueType.Bool, stored);
    public static GgufValue String(string v) => new(GgufValueType.String, v ?? throw new ArgumentNullException(nameof(v)));
    public static GgufValue Array(GgufArray v) => new(GgufValueType.Array, v ?? throw new ArgumentNullException(nameof(v)));
    public static GgufValue UInt64(ulong v) => new(GgufValueType.UInt64, v);
    public static GgufValue Int64(long v) => new(GgufValueType.Int64, v);
    public static GgufValue Float64(double v) => new(GgufValueType.Float64, v);

    /// <summary>The string value; throws if this is not a string.</summary>
    public string AsString() => Raw as string ?? throw new InvalidCastException($"GGUF value is {GgufValueTypes.Name(Type)}, not STRING");

    /// <summary>The array value; throws if this is not an array.</summary>
    public GgufArray AsArray() => Raw as GgufArray ?? throw new InvalidCastException($"GGUF value is {GgufValueTypes.Name(Type)}, not ARRAY");

    /// <summary>The boolean value (any non-zero stored byte is true).</summary>
    public bool AsBool() => Type == GgufValueType.Bool ? (byte)Raw != 0 : throw new InvalidCastException($"GGUF value is {GgufValueTypes.Name(Type)}, not BOOL");

    /// <summary>True for the integer types.</summary>
    public bool IsInteger => Type is GgufValueType.UInt8 or GgufValueType.Int8 or GgufValueType.UInt16 or GgufValueType.Int16
        or GgufValueType.UInt32 or GgufValueType.Int32 or GgufValueType.UInt64 or GgufValueType.Int64;

    /// <summary>Any integer value widened to Int128 (UInt64 does not fit in long).</summary>
    public Int128 AsInteger() => Raw switch
    {
        byte b when Type == GgufValueType.UInt8 => b,
        sbyte v => v, ushort v => v, short v => v, uint v => v, int v => v, ulong v => v, long v => v,
        _ => throw new InvalidCastException($"GGUF value is {GgufValueTypes.Name(Type)}, not an integer"),
    };

    /// <summary>Any numeric value as a double.</summary>
    public double AsDouble() => Raw switch
    {
        float f => f,
        double d => d,
        _ => (double)AsInteger(),
    };

    public bool Equals(GgufValue? other)
    {
        if (other is null || other.Type != Type) return false;
        return Raw switch
        {
            // Compare floats by bits so NaN payloads and -0.0 count.
            float f => BitConverter.SingleToUInt32Bits(f) == BitConverter.SingleToUInt32Bits((float)other.Raw),
            double d => BitConverter.DoubleToUInt64Bits(d) == BitConverter.DoubleToUInt64Bits((double)other.Raw),
            GgufArray a => a.Equals((GgufArray)other.Raw),
            _ => Raw.Equals(other.Raw),
        };
    }

    public override bool Equals(object? obj) => Equals(obj as GgufValue);

    public override int GetHashCode() => HashCode.Combine(Type, Raw is GgufArray a ? a.Count : Raw.GetHashCode());

    public override string ToString() => Raw switch
    {
        string s => s,
        GgufArray a => a.ToString(),
        float f => f.ToString("R", CultureInfo.InvariantCulture),
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        byte b when Type == GgufValueType.Bool => b != 0 ? "true" : "false",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => Raw.ToString() ?? "",
    };
}
