using System.Buffers;
using System.Runtime.InteropServices;

namespace KernelGen.Cli.Benchmarks;

/// <summary>A native, 64-byte aligned float buffer for benchmark outputs (freed on dispose).</summary>
public sealed unsafe class AlignedFloats : MemoryManager<float>
{
    private float* _data;
    private readonly int _length;

    public AlignedFloats(long length)
    {
        if (length < 0 || length > int.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(length), "a benchmark buffer holds at most 2^31 - 1 floats");
        }
        _length = (int)length;
        _data = (float*)NativeMemory.AlignedAlloc((nuint)Math.Max(1, length) * sizeof(float), 64);
        new Span<float>(_data, _length).Clear(); // touch every page before timing
    }

    public override Span<float> GetSpan() => new(_data, _length);

    public override MemoryHandle Pin(int elementIndex = 0) => new(_data + elementIndex);

    public override void Unpin()
    {
    }

    protected override void Dispose(bool disposing)
    {
        if (_data != null)
        {
            NativeMemory.AlignedFree(_data);
            _data = null;
        }
    }
}
