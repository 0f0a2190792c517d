namespace Seedance.Bench.Bar;

/// <summary>An upload body of any length made up as it is read: an MP4 signature, then a repeating pattern; nothing on disk.</summary>
public sealed class PatternStream(long length) : Stream
{
    private static readonly byte[] Head = [0, 0, 0, 0x18, (byte)'f', (byte)'t', (byte)'y', (byte)'p', (byte)'m', (byte)'p', (byte)'4', (byte)'2'];
    private static readonly byte[] Pattern = Enumerable.Range(0, 65536).Select(i => (byte)(i * 31 + 7)).ToArray();
    private long _position;

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var n = (int)Math.Min(buffer.Length, length - _position);
        for (var done = 0; done < n;)
        {
            var at = _position + done;
            var chunk = at < Head.Length
                ? Head.AsSpan((int)at, Math.Min(Head.Length - (int)at, n - done))
                : Pattern.AsSpan((int)(at % Pattern.Length), (int)Math.Min(Pattern.Length - at % Pattern.Length, n - done));
            chunk.CopyTo(buffer[done..]);
            done += chunk.Length;
        }
        _position += n;
        return n;
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => new(Read(buffer.Span));
    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => Task.FromResult(Read(buffer, offset, count));

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => length;
    public override long Position { get => _position; set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
