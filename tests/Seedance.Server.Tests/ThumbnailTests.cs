using System.Text.Json.Nodes;
using FFMpegCore;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Seedance.Server.Infrastructure;
using Seedance.Server.Dispatch;
using Seedance.Server.Storage;
using Seedance.Server.Tests.Support;

namespace Seedance.Server.Tests;

/// <summary>
/// <c>thumbnail_url</c>, an addition to the document's task object: a completed task's poster, a JPEG of its first frame,
/// 320 px on the long side, downloaded through its signed link and checked with ffprobe. That it shows the first frame:
/// <see cref="SandboxVideoTests.AnUploadedImageBecomesTheOpeningFrameAndThePosterWhileATextOnlyVideoDoesNotOpenOnIt"/>.
/// </summary>
[TakesAbout(17)]
public sealed class ThumbnailTests(SandboxServer fixture) : IClassFixture<SandboxServer>
{
    private static readonly byte[] JpegSignature = [0xFF, 0xD8, 0xFF];

    [Theory]
    [InlineData("16:9", 320, 180)] // 854x480
    [InlineData("9:16", 180, 320)] // 480x854
    [InlineData("21:9", 320, 137)] // 1120x480: 137.1, whole pixels as near the ratio as they come
    public async Task ACompletedTaskHasAThumbnailUrlServingAJpeg320PxOnTheLongSideInTheVideosRatio(string ratio, int width, int height)
    {
        using var client = await fixture.Server.CreateKeyAsync();
        var taskId = await client.SubmitTextAsync("A heron fishing at dawn", extra: new() { ["ratio"] = ratio });
        var task = await CompletedAsync(client, taskId);

        var stream = (await ProbePosterAsync(task)).PrimaryVideoStream!;
        Assert.Equal("mjpeg", stream.CodecName);
        Assert.Equal((width, height), Frame.SizeOf(stream));

        // The list shows the same poster as the task (an S3 link is signed anew at each read: the same object, then).
        var listed = await client.ListAsync($"?task_ids={taskId}");
        listed.AssertOk();
        Assert.Equal(new Uri(task["thumbnail_url"]!.GetValue<string>()).AbsolutePath,
            new Uri(listed.Result!["data"]![0]!["thumbnail_url"]!.GetValue<string>()).AbsolutePath);
    }

    [Fact]
    public async Task ATaskThatDidNotCompleteHasAThumbnailUrlOfNull()
    {
        using var client = await fixture.Server.CreateKeyAsync(maxConcurrent: 1);
        using var other = await fixture.Server.CreateKeyAsync();
        var processing = await client.SubmitTextAsync(ServerFixture.Stalled);
        var pending = await client.SubmitTextAsync(ServerFixture.Stalled); // behind it, over the key's concurrency
        var cancelled = await client.SubmitTextAsync(ServerFixture.Stalled);
        (await client.CancelAsync(cancelled)).AssertOk();
        var failed = await other.SubmitTextAsync("A forbidden scene [sandbox:fail=CONTENT_MODERATION_FAILED]");
        await client.WaitForAsync(processing, "processing");
        Assert.Equal("failed", (await other.WaitForAsync(failed))["status"]!.GetValue<string>());

        foreach (var (owner, taskId) in new[] { (client, processing), (client, pending), (client, cancelled), (other, failed) })
        {
            var task = (await owner.GetTaskAsync(taskId)).Result!.AsObject();
            Assert.True(task.ContainsKey("thumbnail_url") && task["thumbnail_url"] is null, task.ToJsonString());
        }
        var listed = await client.ListAsync();
        listed.AssertOk();
        Assert.Equal(3, listed.Result!["data"]!.AsArray().Count);
        Assert.All(listed.Result!["data"]!.AsArray(), t => Assert.True(t!.AsObject().ContainsKey("thumbnail_url") && t["thumbnail_url"] is null));
    }

    [Fact]
    public async Task APosterFfmpegCannotMakeOrThatIsTurnedOffIsNoneAndNothingIsStoredAndTheScratchDirectoryGoesEitherWay()
    {
        var store = fixture.Server.Services.GetRequiredService<FileStore>();
        var scratch = TempDir.Create();
        try
        {
            var options = fixture.Server.Services.GetRequiredService<IOptions<SeedanceOptions>>();
            var renderer = new ThumbnailRenderer(store, new FFOptions { TemporaryFilesFolder = scratch }, options, NullLogger<ThumbnailRenderer>.Instance);
            var good = $"poster-{Guid.NewGuid():N}";
            var broken = $"poster-{Guid.NewGuid():N}";
            var mp4 = await Media.Mp4Async();
            var garbage = new byte[4096];
            Random.Shared.NextBytes(garbage);
            foreach (var (taskId, bytes) in new[] { (good, mp4), (broken, garbage) })
                await store.WriteAsync(FileStore.ResultPath(taskId, "video.mp4"), (s, ct) => s.WriteAsync(bytes, ct).AsTask(), default);

            Assert.Equal(FileStore.ResultPath(good, ThumbnailRenderer.FileName), await renderer.TryMakeAsync(good, FileStore.ResultPath(good, "video.mp4"), default));
            Assert.Empty(Directory.EnumerateFileSystemEntries(scratch));
            Assert.Null(await renderer.TryMakeAsync(broken, FileStore.ResultPath(broken, "video.mp4"), default));
            Assert.Empty(Directory.EnumerateFileSystemEntries(scratch));
            // Posters off (Seedance:Tasks:Thumbnails=false): none is made, not even of a good video.
            var off = new SeedanceOptions();
            off.Tasks.Thumbnails = false;
            var notMaking = new ThumbnailRenderer(store, new FFOptions { TemporaryFilesFolder = scratch }, Options.Create(off), NullLogger<ThumbnailRenderer>.Instance);
            var skipped = $"poster-{Guid.NewGuid():N}";
            await store.WriteAsync(FileStore.ResultPath(skipped, "video.mp4"), (s, ct) => s.WriteAsync(mp4, ct).AsTask(), default);
            Assert.Null(await notMaking.TryMakeAsync(skipped, FileStore.ResultPath(skipped, "video.mp4"), default));
            Assert.Equal([FileStore.ResultPath(skipped, "video.mp4")], await fixture.Server.StoredFilesAsync($"results/{skipped}/"));

            Assert.Equal([FileStore.ResultPath(good, ThumbnailRenderer.FileName), FileStore.ResultPath(good, "video.mp4")],
                (await fixture.Server.StoredFilesAsync($"results/{good}/")).Order());
            Assert.Equal([FileStore.ResultPath(broken, "video.mp4")], await fixture.Server.StoredFilesAsync($"results/{broken}/"));
        }
        finally { TempDir.Delete(scratch); }
    }

    private static async Task<JsonNode> CompletedAsync(ApiClient client, string taskId)
    {
        var task = await client.WaitForAsync(taskId);
        Assert.True(task["status"]!.GetValue<string>() == "completed", $"task {taskId} ended {task.ToJsonString()}");
        return task;
    }

    /// <summary>The task's poster, downloaded through its signed link and served as a JPEG.</summary>
    private static Task<IMediaAnalysis> ProbePosterAsync(JsonNode task)
    {
        var url = task["thumbnail_url"]?.GetValue<string>();
        Assert.False(url is null, $"no thumbnail_url on {task.ToJsonString()}");
        return Media.DownloadAndProbeImageAsync(url, "image/jpeg", JpegSignature);
    }
}
