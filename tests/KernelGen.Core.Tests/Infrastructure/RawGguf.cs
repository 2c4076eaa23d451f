using System.Buffers.Binary;
using System.Text;

namespace KernelGen.Tests.Infrastructure;

/// <summary>
/// Builds GGUF bytes by hand, independently of KernelGen's writer, so tests can make both valid files and every kind
/// of broken one. Fields are appended in order; positions of interesting fields are recorded for later patching.
/// </summary>
public sealed class RawGguf
{
    private readonly List<byte> _b = new();

    public int Position => _b.Count;

    public RawGguf U32(uint v) { Span<byte> s = stackalloc byte[4]; BinaryPrimitives.WriteUInt32LittleEndian(s, v); _b.AddRange(s.ToArray()); return this; }
    public RawGguf U64(ulong v) { Span<byte> s = stackalloc byte[8]; BinaryPrimitives.WriteUInt64LittleEndian(s, v); _b.AddRange(s.ToArray()); return this; }
    public RawGguf Bytes(params byte[] v) { _b.AddRange(v); return this; }
    public RawGguf Str(string s) => StrBytes(Encoding.UTF8.GetBytes(s));
    public RawGguf StrBytes(byte[] bytes) { U64((ulong)bytes.Length); _b.AddRange(bytes); return this; }

    public RawGguf Header(uint version, ulong tensors, ulong kvs) { Bytes("GGUF"u8.ToArray()); U32(version); U64(tensors); U64(kvs); return this; }

    public RawGguf KvU32(string key, uint v) { Str(key); U32(4); U32(v); return this; }
    public RawGguf KvString(string key, string v) { Str(key); U32(8); Str(v); return this; }

    public RawGguf TensorInfo(string name, long[] ne, uint type, ulong offset)
    {
        Str(name);
        U32((uint)ne.Length);
        foreach (long d in ne) U64((ulong)d);
        U32(type);
        U64(offset);
        return this;
    }

    public RawGguf PadTo(int alignment) { while (_b.Count % alignment != 0) _b.Add(0); return this; }

    public byte[] ToArray() => _b.ToArray();

    /// <summary>A valid file: one KV, tensors of (name, ne, type, data) packed at alignment 32.</summary>
    public static byte[] Valid(params (string Name, long[] Ne, uint Type, byte[] Data)[] tensors)
    {
        var g = new RawGguf().Header(3, (ulong)tensors.Length, 1).KvString("general.architecture", "llama");
        ulong offset = 0;
        foreach (var t in tensors)
        {
            g.TensorInfo(t.Name, t.Ne, t.Type, offset);
            offset += (ulong)((t.Data.Length + 31) / 32 * 32);
        }
        g.PadTo(32);
        foreach (var t in tensors) g.Bytes(t.Data).PadTo(32);
        return g.ToArray();
    }
}
