using System.Net;
using System.Net.Http.Headers;

namespace Seedance.Client.Internal;

/// <summary>
/// A request body streamed from a <see cref="Stream"/> with progress. A seekable stream is rewound when the
/// request is retried; a stream that cannot be rewound is sent once.
/// </summary>
internal sealed class ProgressContent : HttpContent
{
    private const int BufferSize = 81920;
    private readonly Stream _source;
    private readonly long? _start;
    private readonly IProgress<TransferProgress>? _progress;
    private bool _sent;

    public ProgressContent(Stream source, string contentType, IProgress<TransferProgress>? progress)
    {
        _source = source;
        _start = source.CanSeek ? source.Position : null;
        _progress = progress;
        Headers.ContentType = new MediaTypeHeaderValue(contentType);
    }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        if (_sent)
        {
            if (_start is not { } start) throw new InvalidOperationException("The upload stream cannot be rewound to send it again");
            _source.Position = start;
        }
        _sent = true;
        var total = Length();
        var buffer = new byte[BufferSize];
        long done = 0;
        _progress?.Report(new TransferProgress(0, total));
        int read;
        while ((read = await _source.ReadAsync(buffer, cancellationToken)) > 0)
        {
            await stream.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
            done += read;
            _progress?.Report(new TransferProgress(done, total));
        }
    }

    protected override bool TryComputeLength(out long length)
    {
        var known = Length();
        length = known ?? 0;
        return known is not null;
    }

    private long? Length() => _start is { } start ? _source.Length - start : null;
}

internal static class Transfer
{
    /// <summary>Copies a response body to <paramref name="destination"/>, reporting progress.</summary>
    public static async Task CopyAsync(HttpResponseMessage response, Stream destination, IProgress<TransferProgress>? progress, CancellationToken ct)
    {
        var total = response.Content.Headers.ContentLength;
        await using var source = await response.Content.ReadAsStreamAsync(ct);
        var buffer = new byte[81920];
        long done = 0;
        progress?.Report(new TransferProgress(0, total));
        int read;
        while ((read = await source.ReadAsync(buffer, ct)) > 0)
        {
            await destination.WriteAsync(buffer.AsMemory(0, read), ct);
            done += read;
            progress?.Report(new TransferProgress(done, total));
        }
    }
}
