using System.Collections.Generic;

namespace KernelGen.Generators.Helpers;

/// <summary>A minimal stand-in for System.HashCode, which netstandard2.0 lacks (FNV-style mixing).</summary>
internal struct HashCode
{
    private int _value;
    private bool _started;

    public void Add<T>(T value)
    {
        int h = value is null ? 0 : EqualityComparer<T>.Default.GetHashCode(value);
        _value = _started ? unchecked((_value * 16777619) ^ h) : unchecked((int)2166136261 ^ h);
        _started = true;
    }

    public readonly int ToHashCode() => _value;

    public static int Combine<T1, T2>(T1 a, T2 b)
    {
        var h = new HashCode();
        h.Add(a);
        h.Add(b);
        return h.ToHashCode();
    }
}
