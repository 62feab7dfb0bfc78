namespace FiberRuntime.IO;

/// <summary>
/// A <see cref="Stream"/> over a connected <see cref="FiberSocket"/> whose synchronous <see cref="Read(Span{byte})"/>
/// and <see cref="Write(ReadOnlySpan{byte})"/> suspend only the calling fiber, so <see cref="StreamReader"/>,
/// <see cref="BinaryReader"/> and other synchronous stream code run cooperatively.
/// </summary>
public sealed class FiberNetworkStream : Stream
{
    private readonly bool _ownsSocket;

    /// <summary>Wraps <paramref name="socket"/>; with <paramref name="ownsSocket"/>, disposing the stream closes it.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="socket"/> is null.</exception>
    public FiberNetworkStream(FiberSocket socket, bool ownsSocket = true)
    {
        ArgumentNullException.ThrowIfNull(socket);
        Socket = socket;
        _ownsSocket = ownsSocket;
    }

    /// <summary>The socket.</summary>
    public FiberSocket Socket { get; }

    /// <inheritdoc />
    public override bool CanRead => true;

    /// <inheritdoc />
    public override bool CanWrite => true;

    /// <inheritdoc />
    public override bool CanSeek => false;

    /// <inheritdoc />
    public override long Length => throw new NotSupportedException("A network stream has no length.");

    /// <inheritdoc />
    public override long Position
    {
        get => throw new NotSupportedException("A network stream cannot seek.");
        set => throw new NotSupportedException("A network stream cannot seek.");
    }

    /// <inheritdoc />
    public override int Read(byte[] buffer, int offset, int count)
    {
        ValidateBufferArguments(buffer, offset, count);
        return Read(buffer.AsSpan(offset, count));
    }

    /// <inheritdoc />
    public override int Read(Span<byte> buffer) => buffer.IsEmpty ? 0 : Socket.Receive(buffer);

    /// <inheritdoc />
    public override void Write(byte[] buffer, int offset, int count)
    {
        ValidateBufferArguments(buffer, offset, count);
        Write(buffer.AsSpan(offset, count));
    }

    /// <inheritdoc />
    public override void Write(ReadOnlySpan<byte> buffer) => Socket.SendAll(buffer);

    /// <inheritdoc />
    public override void Flush()
    {
    }

    /// <inheritdoc />
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException("A network stream cannot seek.");

    /// <inheritdoc />
    public override void SetLength(long value) => throw new NotSupportedException("A network stream has no length.");

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing && _ownsSocket) Socket.Dispose();
        base.Dispose(disposing);
    }
}
