using FFMpegCore;
using FFMpegCore.Exceptions;
using Polly;
using Polly.Retry;
using Microsoft.Extensions.Options;
using Seedance.Server.Infrastructure;
using Seedance.Server.Storage;

namespace Seedance.Server.Dispatch;

/// <summary>
/// The poster of a completed task (<c>thumbnail_url</c>): its video's first frame as a JPEG, 320 px on the long side, made
/// with ffmpeg from the stored copy of the video before the task completes, so its callback already carries the link.
/// <para>
/// A poster is an extra; the video is what was paid for. One that cannot be made leaves the task without a poster
/// (logged), never fails it or holds it up for long: ffmpeg has <see cref="Timeout"/>, and what it refuses is not tried
/// again (the same bytes fail the same way); trouble reading the video from the store or storing the poster is retried,
/// as the copies are.
/// </para>
/// </summary>
public sealed class ThumbnailRenderer(FileStore store, FFOptions ffmpeg, IOptions<SeedanceOptions> options, ILogger<ThumbnailRenderer> logger)
{
    public const string FileName = "thumbnail.jpg";
    public const int LongSide = 320;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Square pixels first (a video with a non-square sample aspect ratio is shown wider or narrower than it is stored), then
    /// fitted into a 320 px square, which keeps the ratio and makes the long side 320 px, the short side as near the ratio
    /// as whole pixels allow (a JPEG needs no even sizes).
    /// </summary>
    private static readonly string Filter =
        $"scale=trunc(iw*sar):ih,setsar=1,scale={LongSide}:{LongSide}:force_original_aspect_ratio=decrease,setsar=1";

    /// <summary>At most one ffmpeg per core: many tasks ending at once (a restart, a busy upstream) must not start one each.</summary>
    private readonly SemaphoreSlim _renders = new(Environment.ProcessorCount);

    private static readonly ResiliencePipeline StoreRetries = new ResiliencePipelineBuilder()
        .AddRetry(new RetryStrategyOptions
        {
            MaxRetryAttempts = 2, Delay = TimeSpan.FromSeconds(1), BackoffType = DelayBackoffType.Exponential, UseJitter = true,
            ShouldHandle = new PredicateBuilder().Handle<Exception>(e => e is not (OperationCanceledException or FFMpegException)),
        })
        .Build();

    /// <summary>
    /// Makes the poster of the stored video <paramref name="videoFile"/> beside it; returns its store path, or null when it
    /// could not be made or posters are off (<c>Seedance:Tasks:Thumbnails</c>).
    /// </summary>
    public async Task<string?> TryMakeAsync(string taskId, string videoFile, CancellationToken ct)
    {
        if (!options.Value.Tasks.Thumbnails) return null;
        var thumbnail = FileStore.ResultPath(taskId, FileName);
        try
        {
            await StoreRetries.ExecuteAsync(async token => await MakeAsync(videoFile, thumbnail, token), ct);
            return thumbnail;
        }
        catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            logger.LogWarning(e, "No thumbnail for task {TaskId}: its poster could not be made; the task completes without one", taskId);
            return null;
        }
    }

    private async Task MakeAsync(string videoFile, string thumbnail, CancellationToken ct)
    {
        // A scratch directory of its own, always removed: the S3 store's local copy of the video and the poster are made in it.
        var scratch = Path.Combine(ffmpeg.TemporaryFilesFolder, $"seedance-thumbnail-{Guid.NewGuid():N}");
        Directory.CreateDirectory(scratch);
        try
        {
            var video = await store.LocalFileAsync(videoFile, scratch, ct);
            var jpeg = Path.Combine(scratch, FileName);
            await _renders.WaitAsync(ct);
            try
            {
                using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
                limit.CancelAfter(Timeout);
                await FFMpegArguments.FromFileInput(video)
                    .OutputToFile(jpeg, true, o => o.WithCustomArgument($"-map 0:v:0 -frames:v 1 -vf {Filter} -c:v mjpeg -q:v 3 -f image2"))
                    .CancellableThrough(limit.Token)
                    .ProcessAsynchronously(true, ffmpeg);
            }
            finally { _renders.Release(); }
            await store.WriteAsync(thumbnail, async (destination, token) =>
            {
                await using var source = File.OpenRead(jpeg);
                await source.CopyToAsync(destination, token);
            }, ct);
        }
        finally
        {
            try { Directory.Delete(scratch, recursive: true); } catch (IOException) { }
        }
    }
}
