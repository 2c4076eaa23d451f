using System.IO.MemoryMappedFiles;
using System.Runtime.InteropServices;
using KernelGen.Errors;

namespace KernelGen.IO;

/// <summary>
/// A read-only memory-mapped file. Opening one costs address space, not memory: pages are read from disk only
/// when touched, so a multi-gigabyte model can be opened to read its header alone. All offsets are 64-bit.
/// </summary>
public sealed unsafe class MappedFile : IDisposable
{
    private readonly MemoryMappedFile? _map;
    private readonly MemoryMappedViewAccessor? _view;
    private byte* _pointer;

    private MappedFile(string path, long length, MemoryMappedFile? map, MemoryMappedViewAccessor? view, byte* pointer)
    {
        Path = path;
        Length = length;
        _map = map;
        _view = view;
        _pointer = pointer;
    }

    /// <summary>The path the file was opened from.</summary>
    public string Path { get; }

    /// <summary>File length in bytes.</summary>
    public long Length { get; }

    /// <summary>Maps <paramref name="path"/> read-only. Missing or unreadable files become <see cref="ModelFormatException"/>.</summary>
    public static MappedFile Open(string path)
    {
        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 1, FileOptions.None);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new ModelFormatException(path, null, $"cannot open: {e.Message}");
        }

        long length = stream.Length;
        if (length == 0)
        {
            // An empty file cannot be mapped; it is still a valid (if useless) input to report on.
            stream.Dispose();
            return new MappedFile(path, 0, null, null, null);
        }

        MemoryMappedFile map = MemoryMappedFile.CreateFromFile(stream, null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: false);
        MemoryMappedViewAccessor view = map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
        byte* pointer = null;
        view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
        pointer += view.PointerOffset;
        return new MappedFile(path, length, map, view, pointer);
    }

    /// <summary>True when <c>[offset, offset + count)</c> lies inside the file.</summary>
    public bool Contains(long offset, long count) => offset >= 0 && count >= 0 && offset <= Length && count <= Length - offset;

    /// <summary>A span over <paramref name="count"/> bytes at <paramref name="offset"/>; the range must be inside the file and under 2 GiB.</summary>
    public ReadOnlySpan<byte> Span(long offset, int count)
    {
        ObjectDisposedException.ThrowIf(_pointer == null && Length != 0, this);
        if (!Contains(offset, count))
            throw new ArgumentOutOfRangeException(nameof(offset), $"[{offset}, {offset}+{count}) is outside the {Length}-byte file {Path}");
        return count == 0 ? ReadOnlySpan<byte>.Empty : new ReadOnlySpan<byte>(_pointer + offset, count);
    }

    /// <summary>
    /// The address of byte <paramref name="offset"/>; valid until the file is disposed. For kernels that take raw
    /// pointers over tensors larger than a span can describe.
    /// </summary>
    public byte* Pointer(long offset)
    {
        if (!Contains(offset, 0)) throw new ArgumentOutOfRangeException(nameof(offset));
        return _pointer + offset;
    }

    /// <summary>A stream over a range of the file, for copying tensors of any size.</summary>
    public Stream OpenRange(long offset, long count)
    {
        if (!Contains(offset, count)) throw new ArgumentOutOfRangeException(nameof(offset));
        return count == 0 ? Stream.Null : new UnmanagedMemoryStream(_pointer + offset, count);
    }

    public void Dispose()
    {
        if (_view is not null && _pointer != null)
        {
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
            _pointer = null;
        }
        _view?.Dispose();
        _map?.Dispose();
    }
}
