using System.Runtime.InteropServices;

namespace KernelGen.Containers.Gguf;

/// <summary>
/// A GGUF array value. Items are held in a typed .NET array matching <see cref="ElementType"/>: byte[], sbyte[],
/// ushort[], short[], uint[], int[], float[], byte[] (BOOL, stored bytes), string[], <see cref="GgufArray"/>[] (nested
/// arrays, which gguf-py writes and ggml's reader rejects), ulong[], long[] or double[].
/// </summary>
public sealed class GgufArray : IEquatable<GgufArray>
{
    public GgufArray(GgufValueType elementType, System.Array items)
    {
        ElementType = elementType;
        Items = items ?? throw new ArgumentNullException(nameof(items));
        Type expected = ClrType(elementType);
        if (items.GetType().GetElementType() != expected)
            throw new ArgumentException($"items of a GGUF {GgufValueTypes.Name(elementType)} array must be {expected.Name}[]", nameof(items));
    }

    /// <summary>The element type.</summary>
    public GgufValueType ElementType { get; }

    /// <summary>The typed items.</summary>
    public System.Array Items { get; }

    /// <summary>Number of elements.</summary>
    public int Count => Items.Length;

    /// <summary>True if this array (or one inside it) has array elements.</summary>
    public bool IsNested => ElementType == GgufValueType.Array;

    public static GgufArray Of(params string[] items) => new(GgufValueType.String, items);
    public static GgufArray Of(params float[] items) => new(GgufValueType.Float32, items);
    public static GgufArray Of(params int[] items) => new(GgufValueType.Int32, items);
    public static GgufArray Of(params uint[] items) => new(GgufValueType.UInt32, items);

    /// <summary>The CLR element type used for a GGUF element type.</summary>
    public static Type ClrType(GgufValueType t) => t switch
    {
        GgufValueType.UInt8 or GgufValueType.Bool => typeof(byte),
        GgufValueType.Int8 => typeof(sbyte),
        GgufValueType.UInt16 => typeof(ushort),
        GgufValueType.Int16 => typeof(short),
        GgufValueType.UInt32 => typeof(uint),
        GgufValueType.Int32 => typeof(int),
        GgufValueType.Float32 => typeof(float),
        GgufValueType.String => typeof(string),
        GgufValueType.Array => typeof(GgufArray),
        GgufValueType.UInt64 => typeof(ulong),
        GgufValueType.Int64 => typeof(long),
        GgufValueType.Float64 => typeof(double),
        _ => throw new ArgumentOutOfRangeException(nameof(t), $"invalid GGUF value type {(uint)t}"),
    };

    /// <summary>Item <paramref name="i"/> as a <see cref="GgufValue"/>.</summary>
    public GgufValue this[int i] => ElementType switch
    {
        GgufValueType.UInt8 => GgufValue.UInt8(((byte[])Items)[i]),
        GgufValueType.Bool => GgufValue.BoolByte(((byte[])Items)[i]),
        GgufValueType.Int8 => GgufValue.Int8(((sbyte[])Items)[i]),
        GgufValueType.UInt16 => GgufValue.UInt16(((ushort[])Items)[i]),
        GgufValueType.Int16 => GgufValue.Int16(((short[])Items)[i]),
        GgufValueType.UInt32 => GgufValue.UInt32(((uint[])Items)[i]),
        GgufValueType.Int32 => GgufValue.Int32(((int[])Items)[i]),
        GgufValueType.Float32 => GgufValue.Float32(((float[])Items)[i]),
        GgufValueType.String => GgufValue.String(((string[])Items)[i]),
        GgufValueType.Array => GgufValue.Array(((GgufArray[])Items)[i]),
        GgufValueType.UInt64 => GgufValue.UInt64(((ulong[])Items)[i]),
        GgufValueType.Int64 => GgufValue.Int64(((long[])Items)[i]),
        GgufValueType.Float64 => GgufValue.Float64(((double[])Items)[i]),
        _ => throw new InvalidOperationException(),
    };

    /// <summary>The bytes of a fixed-size element array, as stored on disk (little-endian hosts).</summary>
    internal static Span<byte> RawBytes(System.Array items) => items switch
    {
        byte[] x => x,
        sbyte[] x => MemoryMarshal.AsBytes(x.AsSpan()),
        ushort[] x => MemoryMarshal.AsBytes(x.AsSpan()),
        short[] x => MemoryMarshal.AsBytes(x.AsSpan()),
        uint[] x => MemoryMarshal.AsBytes(x.AsSpan()),
        int[] x => MemoryMarshal.AsBytes(x.AsSpan()),
        float[] x => MemoryMarshal.AsBytes(x.AsSpan()),
        ulong[] x => MemoryMarshal.AsBytes(x.AsSpan()),
        long[] x => MemoryMarshal.AsBytes(x.AsSpan()),
        double[] x => MemoryMarshal.AsBytes(x.AsSpan()),
        _ => throw new InvalidOperationException($"{items.GetType().Name} is not a fixed-size element array"),
    };

    public bool Equals(GgufArray? other)
    {
        if (other is null || other.ElementType != ElementType || other.Count != Count) return false;
        for (int i = 0; i < Count; i++)
            if (!this[i].Equals(other[i])) return false;
        return true;
    }

    public override bool Equals(object? obj) => Equals(obj as GgufArray);

    public override int GetHashCode() => HashCode.Combine(ElementType, Count);

    public override string ToString() => $"[{GgufValueTypes.Name(ElementType)} x {Count}]";
}
