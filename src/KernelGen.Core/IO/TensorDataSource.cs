namespace KernelGen.IO;

/// <summary>
/// Where a streaming writer gets one tensor's bytes from when it reaches that tensor: a span already in memory, a
/// stream opened on demand, or a callback that produces the bytes (for example a quantizer working row by row). The
/// writers call <see cref="WriteTo"/> once per tensor and check that exactly <see cref="Length"/> bytes arrived, so
/// no model ever has to be held in memory whole.
/// </summary>
public abstract class TensorDataSource
{
    protected TensorDataSource(long length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        Length = length;
    }

    /// <summary>Number of bytes the source produces.</summary>
    public long Length { get; }

    /// <summary>Writes the bytes to <paramref name="destination"/>.</summary>
    public abstract void WriteTo(Stream destination, CancellationToken cancellation);

    /// <summary>Bytes already in memory.</summary>
    public static TensorDataSource FromMemory(ReadOnlyMemory<byte> data) => new MemorySource(data);

    /// <summary>A stream opened when the tensor is written, copied whole, then disposed.</summary>
    public static TensorDataSource FromStream(long length, Func<Stream> open) => new StreamSource(length, open);

    /// <summary>A callback that writes exactly <paramref name="length"/> bytes to the stream it is given.</summary>
    public static TensorDataSource FromCallback(long length, Action<Stream, CancellationToken> write) => new CallbackSource(length, write);

    private sealed class MemorySource(ReadOnlyMemory<byte> data) : TensorDataSource(data.Length)
    {
        public override void WriteTo(Stream destination, CancellationToken cancellation) => destination.Write(data.Span);
    }

    private sealed class StreamSource(long length, Func<Stream> open) : TensorDataSource(length)
    {
        public override void WriteTo(Stream destination, CancellationToken cancellation)
        {
            using var s = open();
            byte[] buffer = new byte[Math.Min(Length, 1 << 20) is var n && n > 0 ? n : 1];
            long left = Length;
            while (left > 0)
            {
                cancellation.ThrowIfCancellationRequested();
                int read = s.Read(buffer, 0, (int)Math.Min(buffer.Length, left));
                if (read == 0) throw new EndOfStreamException($"tensor source ended {left} bytes early");
                destination.Write(buffer, 0, read);
                left -= read;
            }
        }
    }

    private sealed class CallbackSource(long length, Action<Stream, CancellationToken> write) : TensorDataSource(length)
    {
        public override void WriteTo(Stream destination, CancellationToken cancellation) => write(destination, cancellation);
    }
}

/// <summary>A write-only stream wrapper that counts bytes and refuses to go past a limit.</summary>
internal sealed class CountingStream(Stream inner, long limit, string what) : Stream
{
    public long Written { get; private set; }

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        if (buffer.Length > limit - Written)
            throw new InvalidOperationException($"{what}: the source wrote more than the declared {limit} bytes");
        inner.Write(buffer);
        Written += buffer.Length;
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));
    public override void WriteByte(byte value) => Write([value]);
    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => Written;
    public override long Position { get => Written; set => throw new NotSupportedException(); }
    public override void Flush() => inner.Flush();
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}
