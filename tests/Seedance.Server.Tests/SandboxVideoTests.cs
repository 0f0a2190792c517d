using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using FFMpegCore;
using Seedance.Server.Providers.Sandbox;
using Seedance.Server.Tests.Support;

namespace Seedance.Server.Tests;

/// <summary>One server for the class: each test makes its own key, so tests see only their own tasks.</summary>
public sealed class SandboxServer : IAsyncLifetime
{
    public RunningServer Server { get; private set; } = null!;

    public async Task InitializeAsync() => Server = await RunningServer.StartAsync(new() { ["Seedance:Tasks:Thumbnails"] = "true" });

    public async Task DisposeAsync() => await Server.DisposeAsync();
}

/// <summary>The sandbox renders real, playable videos: checked with ffprobe and decoded frames, never by trusting the task object.</summary>
[TakesAbout(85)]
public sealed class SandboxVideoTests(SandboxServer fixture) : IClassFixture<SandboxServer>
{
    private const double OneFrame = 1.0 / 24;
    private static readonly byte[] PngSignature = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    [Theory]
    [InlineData("480p", "16:9", 854, 480)]
    [InlineData("480p", "9:16", 480, 854)]
    [InlineData("480p", "4:3", 640, 480)]
    [InlineData("480p", "3:4", 480, 640)]
    [InlineData("480p", "1:1", 480, 480)]
    [InlineData("480p", "21:9", 1120, 480)]
    [InlineData("720p", "16:9", 1280, 720)]
    [InlineData("720p", "9:16", 720, 1280)]
    [InlineData("720p", "4:3", 960, 720)]
    [InlineData("720p", "3:4", 720, 960)]
    [InlineData("720p", "1:1", 720, 720)]
    [InlineData("720p", "21:9", 1680, 720)]
    [InlineData("1080p", "16:9", 1920, 1080)]
    [InlineData("1080p", "9:16", 1080, 1920)]
    [InlineData("1080p", "4:3", 1440, 1080)]
    [InlineData("1080p", "3:4", 1080, 1440)]
    [InlineData("1080p", "1:1", 1080, 1080)]
    [InlineData("1080p", "21:9", 2520, 1080)]
    public void TheOutputSizeHasTheNominalShortSideAndALongSideFollowingTheRatio(string resolution, string ratio, int width, int height)
    {
        Assert.Equal((width, height), SandboxRenderer.Size(resolution, ratio));
    }

    [Theory]
    [InlineData("720p", "16:9", 1280, 720)]
    [InlineData("720p", "21:9", 1680, 720)]
    [InlineData("720p", "1:1", 720, 720)]
    [InlineData("720p", "9:16", 720, 1280)]
    [InlineData("480p", "4:3", 640, 480)]
    public async Task AVideoIsH264AtTheContractSizeForItsResolutionAndRatio(string resolution, string ratio, int width, int height)
    {
        using var client = await fixture.Server.CreateKeyAsync();
        var task = await RenderAsync(client, new() { ["resolution"] = resolution, ["ratio"] = ratio });
        Assert.Equal(resolution, task["resolution"]!.GetValue<string>());
        Assert.Equal(ratio, task["ratio"]!.GetValue<string>());

        var video = await ProbeAsync(task["video_url"]!.GetValue<string>(), (analysis, _) => Task.FromResult(analysis));
        Assert.Equal("h264", video.PrimaryVideoStream!.CodecName);
        Assert.Equal("yuv420p", video.PrimaryVideoStream.PixelFormat);
        Assert.Equal((width, height), Frame.SizeOf(video.PrimaryVideoStream));
        Assert.InRange(video.PrimaryVideoStream.Duration.TotalSeconds, 4 - OneFrame, 4 + OneFrame);
    }

    [Fact]
    public async Task AVideoLastsTheRequestedSecondsAndHasAnAudioTrackOnlyWhenGenerateAudioIsTrue()
    {
        using var client = await fixture.Server.CreateKeyAsync();
        var silentId = await client.SubmitTextAsync("A quiet lake at dawn", duration: 5, extra: new() { ["generate_audio"] = false });
        var soundId = await client.SubmitTextAsync("A drum circle on the beach", duration: 6, extra: new() { ["generate_audio"] = true });

        var silent = await CompletedAsync(client, silentId);
        Assert.False(silent["generate_audio"]!.GetValue<bool>());
        Assert.Equal(5, silent["duration"]!.GetValue<int>());
        var silentVideo = await ProbeAsync(silent["video_url"]!.GetValue<string>(), (analysis, _) => Task.FromResult(analysis));
        Assert.Empty(silentVideo.AudioStreams);
        Assert.InRange(silentVideo.PrimaryVideoStream!.Duration.TotalSeconds, 5 - OneFrame, 5 + OneFrame);
        Assert.InRange(silentVideo.Duration.TotalSeconds, 5 - OneFrame, 5 + OneFrame);

        var sound = await CompletedAsync(client, soundId);
        Assert.True(sound["generate_audio"]!.GetValue<bool>());
        Assert.Equal(6, sound["duration"]!.GetValue<int>());
        var soundVideo = await ProbeAsync(sound["video_url"]!.GetValue<string>(), (analysis, _) => Task.FromResult(analysis));
        var audio = Assert.Single(soundVideo.AudioStreams);
        Assert.Equal("aac", audio.CodecName);
        Assert.InRange(soundVideo.PrimaryVideoStream!.Duration.TotalSeconds, 6 - OneFrame, 6 + OneFrame);
        Assert.InRange(audio.Duration.TotalSeconds, 6 - OneFrame, 6 + OneFrame);
        Assert.InRange(soundVideo.Duration.TotalSeconds, 6 - OneFrame, 6 + OneFrame);
    }

    [Fact]
    public async Task ReturnLastFrameGivesALastFrameUrlServingAPngOfTheVideoSize()
    {
        using var client = await fixture.Server.CreateKeyAsync();
        var withFrameId = await client.SubmitTextAsync("A paper boat on a stream", extra: new() { ["return_last_frame"] = true, ["ratio"] = "9:16" });
        var withoutFrameId = await client.SubmitTextAsync("A paper boat on a stream");

        var withFrame = await CompletedAsync(client, withFrameId);
        var (videoWidth, videoHeight) = await ProbeAsync(withFrame["video_url"]!.GetValue<string>(),
            (analysis, _) => Task.FromResult(Frame.SizeOf(analysis.PrimaryVideoStream!)));
        Assert.Equal((480, 854), (videoWidth, videoHeight));

        var frame = (await Media.DownloadAndProbeImageAsync(withFrame["last_frame_url"]!.GetValue<string>(), "image/png", PngSignature)).PrimaryVideoStream!;
        Assert.Equal((videoWidth, videoHeight), Frame.SizeOf(frame));

        var withoutFrame = await CompletedAsync(client, withoutFrameId);
        Assert.Null(withoutFrame["last_frame_url"]);
    }

    [Fact]
    public async Task AnUploadedImageBecomesTheOpeningFrameAndThePosterWhileATextOnlyVideoDoesNotOpenOnIt()
    {
        using var client = await fixture.Server.CreateKeyAsync();
        var image = await client.UploadAsync("red.png", "image/png", await Media.PngAsync("red"));
        var fromImage = await client.SubmitAsync(new Dictionary<string, object>
        {
            ["content"] = new object[] { new { type = "image_url", image_url = image }, new { type = "text", text = "The scene comes alive" } },
            ["resolution"] = "480p", ["duration"] = 4,
        });
        fromImage.AssertOk();
        var textOnlyId = await client.SubmitTextAsync("The scene comes alive", extra: new() { ["seed"] = 7 });

        // The prompt is drawn across the middle on a translucent box: the centre is darkened red, above it pure red.
        var withImage = await FirstFrameAsync(await CompletedAsync(client, fromImage.Result!["task_id"]!.GetValue<string>()));
        var above = withImage.Pixel(withImage.Width / 2, withImage.Height / 4);
        Assert.True(withImage.Centre.IsRedIsh, $"centre of the opening frame is {withImage.Centre}, not the uploaded red");
        Assert.True(above.IsRed, $"upper middle of the opening frame is {above}, not the uploaded red");

        var textOnly = await FirstFrameAsync(await CompletedAsync(client, textOnlyId));
        var textOnlyAbove = textOnly.Pixel(textOnly.Width / 2, textOnly.Height / 4);
        Assert.False(textOnly.Centre.IsRedIsh, $"centre of a text-only opening frame is {textOnly.Centre}");
        Assert.False(textOnlyAbove.IsRedIsh, $"upper middle of a text-only opening frame is {textOnlyAbove}");

        // The poster (thumbnail_url) is the opening frame: red only for the video that opens on the image (shown for its first second).
        var poster = await PosterAsync(await CompletedAsync(client, fromImage.Result!["task_id"]!.GetValue<string>()));
        Assert.True(poster.Pixel(poster.Width / 2, poster.Height / 4).IsRed, $"upper middle of the poster is {poster.Pixel(poster.Width / 2, poster.Height / 4)}");
        var textOnlyPoster = await PosterAsync(await CompletedAsync(client, textOnlyId));
        Assert.False(textOnlyPoster.Pixel(textOnlyPoster.Width / 2, textOnlyPoster.Height / 4).IsRedIsh, "a text-only video's poster is red");
    }

    [Fact]
    public async Task TheSameSeedAndPromptRenderTheSameBackgroundAndTheSeedIsReportedBack()
    {
        using var client = await fixture.Server.CreateKeyAsync();
        const string prompt = "A lighthouse in a storm";
        var ids = new Dictionary<string, string>
        {
            ["42"] = await client.SubmitTextAsync(prompt, extra: new() { ["seed"] = 42 }),
            ["42 again"] = await client.SubmitTextAsync(prompt, extra: new() { ["seed"] = 42 }),
            ["43"] = await client.SubmitTextAsync(prompt, extra: new() { ["seed"] = 43 }),
            ["absent"] = await client.SubmitTextAsync(prompt),
            ["-1"] = await client.SubmitTextAsync(prompt, extra: new() { ["seed"] = -1 }),
        };
        var tasks = new Dictionary<string, JsonNode>();
        foreach (var (name, id) in ids) tasks[name] = await CompletedAsync(client, id);

        Assert.Equal(42, tasks["42"]["seed"]!.GetValue<long>());
        Assert.Equal(42, tasks["42 again"]["seed"]!.GetValue<long>());
        Assert.Equal(43, tasks["43"]["seed"]!.GetValue<long>());
        var drawn = tasks["absent"]["seed"]!.GetValue<long>();
        Assert.InRange(drawn, 0, int.MaxValue);
        Assert.InRange(tasks["-1"]["seed"]!.GetValue<long>(), 0, int.MaxValue);

        var background = new Dictionary<string, Colour>();
        foreach (var (name, task) in tasks) background[name] = (await FirstFrameAsync(task)).Pixel(4, 4);
        Assert.Equal(background["42"], background["42 again"]);
        Assert.NotEqual(background["42"], background["43"]);

        // The reported seed reproduces the video it was reported for.
        var replay = await CompletedAsync(client, await client.SubmitTextAsync(prompt, extra: new() { ["seed"] = drawn }));
        Assert.Equal(drawn, replay["seed"]!.GetValue<long>());
        Assert.Equal(background["absent"], (await FirstFrameAsync(replay)).Pixel(4, 4));
    }

    [Fact]
    public async Task TheVideoUrlServesRangeRequestsAsVideoMp4()
    {
        using var client = await fixture.Server.CreateKeyAsync();
        var task = await RenderAsync(client, []);
        var url = task["video_url"]!.GetValue<string>();
        using var http = new HttpClient();

        using var whole = await http.GetAsync(url);
        Assert.Equal(HttpStatusCode.OK, whole.StatusCode);
        Assert.Equal("video/mp4", whole.Content.Headers.ContentType?.MediaType);
        Assert.Contains("bytes", whole.Headers.AcceptRanges);
        var bytes = await whole.Content.ReadAsByteArrayAsync();
        Assert.True(bytes.Length > 1000, $"a 4 s video of {bytes.Length} bytes");

        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Range = new RangeHeaderValue(100, 199);
        using var part = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.PartialContent, part.StatusCode);
        Assert.Equal("video/mp4", part.Content.Headers.ContentType?.MediaType);
        var range = part.Content.Headers.ContentRange!;
        Assert.Equal("bytes", range.Unit);
        Assert.Equal((100L, 199L, (long)bytes.Length), (range.From!.Value, range.To!.Value, range.Length!.Value));
        Assert.Equal(bytes.AsSpan(100, 100).ToArray(), await part.Content.ReadAsByteArrayAsync());

        using var tailRequest = new HttpRequestMessage(HttpMethod.Get, url);
        tailRequest.Headers.Range = new RangeHeaderValue(null, 10);
        using var tail = await http.SendAsync(tailRequest);
        Assert.Equal(HttpStatusCode.PartialContent, tail.StatusCode);
        Assert.Equal(bytes[^10..], await tail.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task AFailDirectiveFailsTheTaskWithThatErrorCodeAndChargesNothing()
    {
        using var client = await fixture.Server.CreateKeyAsync(credits: 50);
        var taskId = await client.SubmitTextAsync("A forbidden scene [sandbox:fail=CONTENT_MODERATION_FAILED]");
        var task = await client.WaitForAsync(taskId);

        Assert.Equal("failed", task["status"]!.GetValue<string>());
        Assert.Equal("CONTENT_MODERATION_FAILED", task["error_code"]!.GetValue<string>());
        Assert.False(string.IsNullOrWhiteSpace(task["error_message"]?.GetValue<string>()));
        Assert.Null(task["video_url"]);

        var balance = await client.BalanceAsync();
        balance.AssertOk();
        Assert.Equal(50m, balance.Result!["total_credits"]!.GetValue<decimal>());
        Assert.Equal(0m, balance.Result!["used_credits"]!.GetValue<decimal>());
        Assert.Equal(0m, balance.Result!["reserved_credits"]!.GetValue<decimal>());
        Assert.Equal(50m, balance.Result!["remain_credits"]!.GetValue<decimal>());

        var ledger = await ApiResponse.From(await fixture.Server.Admin.GetAsync($"/admin/v1/keys/{client.KeyId}/ledger"));
        ledger.AssertOk();
        var movements = ledger.Result!["data"]!.AsArray().Where(e => e!["task_id"]?.GetValue<string>() == taskId)
            .Select(e => (e!["kind"]!.GetValue<string>(), e["amount"]!.GetValue<decimal>())).OrderBy(m => m.Item1).ToList();
        Assert.Equal([("release", 3.6m), ("reserve", 3.6m)], movements);
    }

    [Fact]
    public async Task ADelayDirectiveKeepsTheTaskProcessingBeforeItCompletes()
    {
        using var client = await fixture.Server.CreateKeyAsync();
        var taskId = await client.SubmitTextAsync("A slow sunrise [sandbox:delay=2]");
        var seen = new List<string>();
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (seen.LastOrDefault() is not ("completed" or "failed" or "cancelled" or "expired"))
        {
            Assert.True(DateTime.UtcNow < deadline, $"still {seen.LastOrDefault()} after 90 s");
            var response = await client.GetTaskAsync(taskId);
            response.AssertOk();
            var status = response.Result!["status"]!.GetValue<string>();
            if (seen.LastOrDefault() != status) seen.Add(status);
            await Task.Delay(100);
        }

        Assert.Equal("completed", seen[^1]);
        Assert.Contains("processing", seen);
        string[] order = ["pending", "queued", "processing", "completed"];
        Assert.True(seen.Select(s => Array.IndexOf(order, s)).SequenceEqual(seen.Select(s => Array.IndexOf(order, s)).Order()),
            $"statuses went {string.Join(" -> ", seen)}");
    }

    private static async Task<JsonNode> RenderAsync(ApiClient client, Dictionary<string, object> extra)
    {
        var taskId = await client.SubmitTextAsync("A cat running under cherry blossoms", extra: extra);
        return await CompletedAsync(client, taskId);
    }

    private static async Task<JsonNode> CompletedAsync(ApiClient client, string taskId)
    {
        var task = await client.WaitForAsync(taskId);
        Assert.True(task["status"]!.GetValue<string>() == "completed", $"task {taskId} ended {task.ToJsonString()}");
        return task;
    }

    private static Task<Frame> FirstFrameAsync(JsonNode task) =>
        ProbeAsync(task["video_url"]!.GetValue<string>(), (_, path) => Frame.FirstOfAsync(path));

    private static Task<Frame> PosterAsync(JsonNode task) =>
        ProbeAsync(task["thumbnail_url"]!.GetValue<string>(), (_, path) => Frame.FirstOfAsync(path), ".jpg");

    /// <summary>Downloads a result, hands its analysis and local path to <paramref name="inspect"/>, then deletes it.</summary>
    private static async Task<T> ProbeAsync<T>(string url, Func<IMediaAnalysis, string, Task<T>> inspect, string extension = ".mp4")
    {
        var (analysis, path) = await Media.DownloadAndProbeAsync(url, extension);
        try { return await inspect(analysis, path); }
        finally { File.Delete(path); }
    }
}
