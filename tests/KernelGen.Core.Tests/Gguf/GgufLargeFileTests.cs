using System.Diagnostics;
using KernelGen.Containers.Gguf;
using KernelGen.Tests.Infrastructure;

namespace KernelGen.Tests.Gguf;

/// <summary>Files over 4 GiB: 64-bit offsets, and opening maps the file instead of reading it.</summary>
public class GgufLargeFileTests
{
    [Fact]
    public void A9GiBSparseFileOpensWithoutReadingItsData()
    {
        using var dir = new TempDir();
        string path = dir.File("big.gguf");
        // Two F32 tensors of 4.5 GiB each: the second starts past 4 GiB, where a 32-bit offset would wrap.
        const long rows = 36864, cols = 32768;
        long bytes = rows * cols * 4;
        var g = new RawGguf().Header(3, 2, 1).KvString("general.architecture", "llama")
            .TensorInfo("a", [cols, rows], 0, 0).TensorInfo("b", [cols, rows], 0, (ulong)bytes).PadTo(32);
        using (var s = File.Create(path))
        {
            s.Write(g.ToArray());
            s.SetLength(g.Position + 2 * bytes); // sparse: no data blocks are written
            s.Seek(-4, SeekOrigin.End);
            s.Write([1, 2, 3, 4]);
        }

        long before = Process.GetCurrentProcess().WorkingSet64;
        using var f = GgufFile.Open(path);
        var b = f.Tensors[1];
        Assert.Equal(g.Position + bytes, b.AbsoluteOffset);
        Assert.True(b.AbsoluteOffset > uint.MaxValue);
        Assert.Equal(bytes, b.ByteSize);
        using (var data = f.OpenData(b))
        {
            data.Seek(-4, SeekOrigin.End);
            var tail = new byte[4];
            data.ReadExactly(tail);
            Assert.Equal([1, 2, 3, 4], tail);
        }
        long grown = Process.GetCurrentProcess().WorkingSet64 - before;
        Assert.True(grown < 100L << 20, $"opening a 9 GiB file grew the working set by {grown >> 20} MiB");
    }
}
