using System.Net;
using FFMpegCore;
using Microsoft.Extensions.Configuration;
using Seedance.Client.Tests.Support;

namespace Seedance.Client.Tests;

/// <summary>The SDK against the real server (sandbox provider, real ffmpeg, real HTTP on loopback).</summary>
public sealed class SdkTests(SdkServer fixture) : IClassFixture<SdkServer>
{
    [Fact]
    public async Task GenerateVideoUploadsAFirstFrameWaitsAndDownloadsAPlayableMp4()
    {
        var (client, _) = await fixture.NewClientAsync();
        using var _c = client;
        var image = Path.Combine(Path.GetTempPath(), $"seedance-{Guid.NewGuid():N}.png");
        var video = Path.Combine(Path.GetTempPath(), $"seedance-{Guid.NewGuid():N}.mp4");
        var poster = Path.Combine(Path.GetTempPath(), $"seedance-{Guid.NewGuid():N}.jpg");
        await File.WriteAllBytesAsync(image, await Media.PngAsync("blue", 640, 360));
        try
        {
            var uploaded = new List<TransferProgress>();
            var file = await client.UploadFileAsync(image, new SyncProgress<TransferProgress>(uploaded.Add));
            Assert.Equal("image/png", file.ContentType);
            Assert.StartsWith("api/uploads/", file.FilePath);
            Assert.Equal(new FileInfo(image).Length, uploaded[^1].BytesTransferred);

            var request = new VideoGenerationRequest("A blue sky slowly turning to night")
            {
                Resolution = VideoResolution.P480, Ratio = AspectRatio.Ratio16x9, Duration = 4, ReturnLastFrame = true,
            };
            request.Content.Add(ContentItem.Image(file, ContentRole.FirstFrame));
            var statuses = new List<VideoTaskStatus>();
            var operation = await client.GenerateVideoAsync(request, progress: new SyncProgress<VideoTask>(t => statuses.Add(t.Status)));

            Assert.Equal(VideoTaskStatus.Completed, operation.Status);
            Assert.Equal(VideoTaskStatus.Completed, statuses[^1]);
            Assert.Equal(3.6m, operation.CreditCost);
            Assert.Equal((await client.QuoteAsync(request)).CreditCost, operation.CreditCost);
            var downloaded = new List<TransferProgress>();
            await operation.DownloadVideoAsync(video, new SyncProgress<TransferProgress>(downloaded.Add));
            Assert.Equal(new FileInfo(video).Length, downloaded[^1].BytesTransferred);
            Assert.Equal(downloaded[^1].TotalBytes, downloaded[^1].BytesTransferred);

            var analysis = await FFProbe.AnalyseAsync(video);
            Assert.Equal("h264", analysis.PrimaryVideoStream!.CodecName);
            Assert.Equal((854, 480), (analysis.PrimaryVideoStream.Width, analysis.PrimaryVideoStream.Height));
            Assert.InRange(analysis.Duration.TotalSeconds, 3.9, 4.1);

            using var frame = new MemoryStream();
            await operation.DownloadLastFrameAsync(frame);
            Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], frame.ToArray()[..4]);

            // The server's addition to the task object: the poster, 320 px on the long side.
            var thumbnailUrl = operation.Value!.ThumbnailUrl;
            Assert.NotNull(thumbnailUrl);
            using var http = new HttpClient();
            await File.WriteAllBytesAsync(poster, await http.GetByteArrayAsync(thumbnailUrl));
            var jpeg = (await FFProbe.AnalyseAsync(poster)).PrimaryVideoStream!;
            Assert.Equal(("mjpeg", 320, 180), (jpeg.CodecName, jpeg.Width, jpeg.Height));
        }
        finally
        {
            File.Delete(image);
            File.Delete(video);
            File.Delete(poster);
        }
    }

    [Fact]
    public async Task ErrorsTheServerAnswersSurfaceWithTheirCodeAndHttpStatus()
    {
        var (client, api) = await fixture.NewClientAsync(credits: 10m);
        using var _c = client;
        using var wrongKey = SdkServer.Client("sk-sd2-not-a-key", fixture.Server.BaseUrl);
        await AssertError(SeedanceErrorCodes.InvalidApiKey, HttpStatusCode.Unauthorized, () => wrongKey.GetBalanceAsync());
        await AssertError(SeedanceErrorCodes.TaskNotFound, HttpStatusCode.NotFound, () => client.GetTaskAsync("0123456789abcdef0123456789abcdef"));
        await AssertError(SeedanceErrorCodes.InsufficientCredit, HttpStatusCode.PaymentRequired,
            () => client.CreateTaskAsync(new VideoGenerationRequest("Too long for ten credits") { Resolution = VideoResolution.P1080, Duration = 15 }));
        var missing = new VideoGenerationRequest("Someone else's picture");
        missing.Content.Add(ContentItem.Image($"api/uploads/{api.KeyId}/00000000000000000000000000000000_none.png"));
        await AssertError(SeedanceErrorCodes.InvalidParameter, HttpStatusCode.BadRequest, () => client.CreateTaskAsync(missing));

        var done = await client.GenerateVideoAsync(new VideoGenerationRequest("A short scene") { Resolution = VideoResolution.P480, Duration = 4 });
        var refused = await AssertError(SeedanceErrorCodes.TaskCancelNotAllowed, HttpStatusCode.BadRequest, () => done.CancelAsync());
        Assert.Equal(done.TaskId, refused.TaskId);
    }

    [Fact]
    public async Task LimitRefusalsSurfaceAs429WithTheirCodesWhenRetriesAreOff()
    {
        var (client, _) = await fixture.NewClientAsync(maxConcurrent: 1, maxPending: 0, configure: o => o.MaxRetries = 0);
        using var _c = client;
        var first = await client.CreateTaskAsync(new VideoGenerationRequest("Never ends [sandbox:stall]") { Resolution = VideoResolution.P480, Duration = 4 });
        await first.WaitForStatusAsync(VideoTaskStatus.Processing);
        await AssertError(SeedanceErrorCodes.ConcurrencyLimitReached, HttpStatusCode.TooManyRequests,
            () => client.CreateTaskAsync(new VideoGenerationRequest("One too many") { Resolution = VideoResolution.P480, Duration = 4 }));

        var (limited, _) = await fixture.NewClientAsync(rateLimit: 1, configure: o => o.MaxRetries = 0);
        using var _l = limited;
        var error = await Assert.ThrowsAsync<SeedanceException>(async () =>
        {
            for (var i = 0; i < 20; i++) await limited.GetBalanceAsync();
        });
        Assert.Equal((SeedanceErrorCodes.RateLimitExceeded, HttpStatusCode.TooManyRequests), (error.Code, error.HttpStatus));
    }

    [Fact]
    public async Task InvalidRequestsAreRefusedBeforeAnyRequestIsSent()
    {
        using var nowhere = SdkServer.Client("sk-sd2-anything", "http://127.0.0.1:9"); // nothing listens: a request would fail to connect
        var cases = new (VideoGenerationRequest Request, string Code, string Message)[]
        {
            // A duration outside the model's range is the server's to refuse (SdkCatalogueTests): models differ.
            (new VideoGenerationRequest("x") { Duration = 0 }, SeedanceErrorCodes.InvalidParameter, "Invalid parameter: duration must be a positive number of seconds"),
            (new VideoGenerationRequest("x") { Model = default(VideoModel) }, SeedanceErrorCodes.InvalidParameter, "model must name a model"),
            (new VideoGenerationRequest("x") { Resolution = default(VideoResolution) }, SeedanceErrorCodes.InvalidParameter, "resolution must name a resolution"),
            (new VideoGenerationRequest("x") { Ratio = new AspectRatio() }, SeedanceErrorCodes.InvalidParameter, "ratio must name a ratio"),
            (new VideoGenerationRequest("x") { Seed = -2 }, SeedanceErrorCodes.InvalidParameter, "seed"),
            (new VideoGenerationRequest(new string('a', 5001)), SeedanceErrorCodes.InvalidParameter, "text must be at most 5000 characters"),
            (new VideoGenerationRequest(), SeedanceErrorCodes.MissingParameter, "Missing parameter: content"),
            (new VideoGenerationRequest("x") { Content = { ContentItem.Audio("https://example.com/a.mp3") } }, SeedanceErrorCodes.InvalidParameter, "audio_url needs"),
            (new VideoGenerationRequest("x") { Content = { ContentItem.Image("/etc/passwd") } }, SeedanceErrorCodes.InvalidParameter, "file_path"),
            (new VideoGenerationRequest("x") { Content = { ContentItem.Video("https://example.com/v.mp4", ContentRole.FirstFrame) } }, SeedanceErrorCodes.InvalidParameter, "role"),
            (new VideoGenerationRequest("x") { CallbackUrl = new Uri("ftp://example.com/x") }, SeedanceErrorCodes.InvalidParameter, "callback_url"),
        };
        foreach (var (request, code, message) in cases)
        {
            var error = await Assert.ThrowsAsync<SeedanceException>(() => nowhere.CreateTaskAsync(request));
            Assert.Equal(code, error.Code);
            Assert.Contains(message, error.Message);
            Assert.Null(error.HttpStatus);
        }
        var upload = await Assert.ThrowsAsync<SeedanceException>(() => nowhere.UploadFileAsync(new MemoryStream([1, 2, 3]), "notes.txt"));
        Assert.Equal(SeedanceErrorCodes.InvalidParameter, upload.Code);

        var unreachable = await Assert.ThrowsAsync<SeedanceException>(() => nowhere.GetBalanceAsync());
        Assert.Equal(SeedanceErrorCodes.ConnectionFailed, unreachable.Code);
    }

    [Fact]
    public async Task ACreateAnswered429AfterTheServerTookItIsRetriedAfterRetryAfterAndMakesOneTask()
    {
        var api = await fixture.Server.CreateKeyAsync();
        await using var proxy = await Proxy.StartAsync(fixture.Server.BaseUrl);
        var creates = 0;
        proxy.Override = (seen, _) => seen is { Method: "POST", PathAndQuery: "/api/v1/video/task" } && Interlocked.Increment(ref creates) == 1
            ? new Proxy.Replacement(429, """{"code":"RATE_LIMIT_EXCEEDED","message":"Rate limit exceeded","result":null}""", new Dictionary<string, string> { ["Retry-After"] = "2" })
            : null;
        using var client = SdkServer.Client(api.ApiKey, proxy.BaseUrl, o => o.RetryDelay = TimeSpan.FromMilliseconds(100));

        var operation = await client.CreateTaskAsync(new VideoGenerationRequest("Sent twice, made once [sandbox:stall]") { Resolution = VideoResolution.P480, Duration = 4 });

        var posts = proxy.Requests.Where(r => r is { Method: "POST", PathAndQuery: "/api/v1/video/task" }).ToList();
        Assert.Equal(2, posts.Count);
        Assert.Equal(posts[0].Headers["Idempotency-Key"], posts[1].Headers["Idempotency-Key"]);
        Assert.True(posts[1].At - posts[0].At >= TimeSpan.FromSeconds(2), $"retried after {posts[1].At - posts[0].At}, before the Retry-After of 2 s");
        var tasks = await client.ListTasksAsync().ToListAsync();
        Assert.Equal([operation.TaskId], tasks.Select(t => t.TaskId));
    }

    [Fact]
    public async Task ListingPagesByItselfAndYieldsEveryTaskOnceWithTheStatusFilterApplied()
    {
        var (client, _) = await fixture.NewClientAsync(maxConcurrent: 1); // the first never ends: the others stay pending, so they can be cancelled
        using var _c = client;
        var created = new List<string>();
        for (var i = 0; i < 7; i++)
            created.Add((await client.CreateTaskAsync(new VideoGenerationRequest($"Task {i} [sandbox:stall]") { Resolution = VideoResolution.P480, Duration = 4 })).TaskId);
        Assert.Equal(3.6m, (await client.CancelTaskAsync(created[2])).RefundedCredits);
        await client.CancelTaskAsync(created[5]);

        var all = await client.ListTasksAsync(pageSize: 3).ToListAsync();
        var cancelled = await client.ListTasksAsync(VideoTaskStatus.Cancelled, pageSize: 1).ToListAsync();

        Assert.Equal(created.AsEnumerable().Reverse(), all.Select(t => t.TaskId)); // newest first
        Assert.Equal([created[5], created[2]], cancelled.Select(t => t.TaskId));
        // The ones still waiting for the key's one slot, in line in order of submission (listed newest first).
        var places = all.Where(t => t.Status == VideoTaskStatus.Pending).Select(t => t.QueuePosition).ToList();
        Assert.Equal(Enumerable.Range(0, places.Count).Reverse().Select(i => (int?)i), places);
        Assert.True(places.Count >= 4);
    }

    [Fact]
    public async Task ABatchReadReturnsTheKeysTasksAmongTheIdsInTheirOrderInOneRequest()
    {
        var (client, _) = await fixture.NewClientAsync();
        var (other, _) = await fixture.NewClientAsync();
        using var _c = client;
        using var _o = other;
        var mine = new List<string>();
        for (var i = 0; i < 3; i++)
            mine.Add((await client.CreateTaskAsync(new VideoGenerationRequest($"Batch {i} [sandbox:stall]") { Resolution = VideoResolution.P480, Duration = 4 })).TaskId);
        var theirs = (await other.CreateTaskAsync(new VideoGenerationRequest("Not yours [sandbox:stall]") { Resolution = VideoResolution.P480, Duration = 4 })).TaskId;

        var read = await client.GetTasksAsync([mine[2], theirs, mine[0], "0123456789abcdef0123456789abcdef", mine[2]]);

        Assert.Equal([mine[2], mine[0]], read.Select(t => t.TaskId));
        await Assert.ThrowsAsync<SeedanceException>(() => client.GetTasksAsync(Enumerable.Range(0, 101).Select(i => $"t{i}")));
        await Assert.ThrowsAsync<SeedanceException>(() => client.GetTasksAsync([]));
    }

    [Fact]
    public async Task ACancelledTokenStopsAWaitAndADownload()
    {
        var (client, _) = await fixture.NewClientAsync();
        using var _c = client;
        var stalled = await client.CreateTaskAsync(new VideoGenerationRequest("Never ends [sandbox:stall]") { Resolution = VideoResolution.P480, Duration = 4 });
        using (var soon = new CancellationTokenSource(TimeSpan.FromMilliseconds(500)))
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => stalled.WaitForCompletionAsync(cancellationToken: soon.Token));

        var done = await client.GenerateVideoAsync(new VideoGenerationRequest("A short scene") { Resolution = VideoResolution.P480, Duration = 4 });
        var path = Path.Combine(Path.GetTempPath(), $"seedance-{Guid.NewGuid():N}.mp4");
        using var stop = new CancellationTokenSource();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            done.DownloadVideoAsync(path, new SyncProgress<TransferProgress>(_ => stop.Cancel()), stop.Token));
        Assert.False(File.Exists(path));
        Assert.False(File.Exists(path + ".part"));
    }

    [Fact]
    public async Task WaitingFollowsTheEventStreamReportingEachStatusAndARehydratedOperationDownloads()
    {
        var api = await fixture.Server.CreateKeyAsync();
        await using var proxy = await Proxy.StartAsync(fixture.Server.BaseUrl);
        using var client = SdkServer.Client(api.ApiKey, proxy.BaseUrl);
        var operation = await client.CreateTaskAsync(new VideoGenerationRequest("A short scene [sandbox:delay=1]") { Resolution = VideoResolution.P480, Duration = 4 });

        var statuses = new List<VideoTaskStatus>();
        var task = await operation.WaitForCompletionAsync(new SyncProgress<VideoTask>(t => statuses.Add(t.Status)));

        Assert.Equal(VideoTaskStatus.Completed, task.Status);
        Assert.Equal([VideoTaskStatus.Processing, VideoTaskStatus.Completed], statuses.Where(s => s >= VideoTaskStatus.Processing));
        Assert.Single(proxy.Requests, r => r.PathAndQuery.EndsWith("/events", StringComparison.Ordinal));
        Assert.DoesNotContain(proxy.Requests, r => r.PathAndQuery.Contains("wait="));

        var rehydrated = await VideoTaskOperation.RehydrateAsync(client, operation.TaskId);
        Assert.True(rehydrated.HasCompleted);
        using var video = new MemoryStream();
        await rehydrated.DownloadVideoAsync(video);
        Assert.Equal("ftyp"u8.ToArray(), video.ToArray()[4..8]);
    }

    [Fact]
    public async Task WaitingFallsBackToPollingAgainstAServerWithoutLiveStatus()
    {
        var api = await fixture.Server.CreateKeyAsync();
        await using var proxy = await Proxy.StartAsync(fixture.Server.BaseUrl);
        proxy.ForwardBeforeOverride = _ => false;
        // An older server: no event stream, and ?wait ignored (the proxy drops it), so each read answers at once.
        proxy.RewritePath = path => System.Text.RegularExpressions.Regex.Replace(path, @"\?wait=\d+$", "");
        proxy.Override = (seen, _) => seen.PathAndQuery.Contains("/events")
            ? new Proxy.Replacement(404, """{"code":"NOT_FOUND","message":"Not found","result":null}""")
            : null;
        using var client = SdkServer.Client(api.ApiKey, proxy.BaseUrl, o => o.PollInterval = TimeSpan.FromMilliseconds(300));

        var operation = await client.CreateTaskAsync(new VideoGenerationRequest("A short scene [sandbox:delay=1]") { Resolution = VideoResolution.P480, Duration = 4 });
        var task = await operation.WaitForCompletionAsync();

        Assert.Equal(VideoTaskStatus.Completed, task.Status);
        Assert.Single(proxy.Requests, r => r.PathAndQuery.EndsWith("/events", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AddSeedanceClientBuildsTheClientFromConfigurationThroughTheHttpClientFactory()
    {
        var api = await fixture.Server.CreateKeyAsync(credits: 123.45m);
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Seedance:ApiKey"] = api.ApiKey, ["Seedance:BaseUrl"] = fixture.Server.BaseUrl,
        }).Build();
        var services = new ServiceCollection();
        services.AddSeedanceClient(configuration);
        await using var provider = services.BuildServiceProvider();

        var balance = await provider.GetRequiredService<SeedanceClient>().GetBalanceAsync();

        Assert.Equal(123.45m, balance.RemainCredits);
    }

    [Fact]
    public async Task TheAdminClientCreatesListsDisablesAndTopsUpKeys()
    {
        using var admin = new SeedanceAdminClient(RunningServer.AdminToken, new Uri(fixture.Server.BaseUrl));
        var created = await admin.CreateKeyAsync(new NewApiKey("admin-client", 50m, MaxConcurrent: 2));
        Assert.StartsWith("sk-sd2-", created.ApiKey);
        Assert.Contains(await admin.ListKeysAsync(), k => k.KeyId == created.Key.KeyId && k.Name == "admin-client");

        var topped = await admin.AddCreditsAsync(created.Key.KeyId, 25m, "test");
        Assert.Equal(75m, topped.RemainCredits);
        using var client = SdkServer.Client(created.ApiKey, fixture.Server.BaseUrl);
        Assert.Equal(75m, (await client.GetBalanceAsync()).RemainCredits);

        await admin.UpdateKeyAsync(created.Key.KeyId, new ApiKeyChange(Enabled: false));
        SeedanceException? refused = null;
        for (var i = 0; i < 100 && refused is null; i++) // the server notices a disabled key within a second
        {
            try { await client.GetBalanceAsync(); await Task.Delay(100); }
            catch (SeedanceException e) { refused = e; }
        }
        Assert.Equal(SeedanceErrorCodes.InvalidApiKey, refused?.Code);

        using var wrongToken = new SeedanceAdminClient("not-the-admin-token-at-all", new Uri(fixture.Server.BaseUrl));
        Assert.Equal(SeedanceErrorCodes.InvalidAdminToken, (await Assert.ThrowsAsync<SeedanceException>(() => wrongToken.ListKeysAsync())).Code);
        Assert.Equal(SeedanceErrorCodes.KeyNotFound, (await Assert.ThrowsAsync<SeedanceException>(() => admin.GetKeyAsync(999_999))).Code);
    }

    [Fact]
    public async Task TheAdminClientManagesChannelsAtRuntime()
    {
        using var admin = new SeedanceAdminClient(RunningServer.AdminToken, new Uri(fixture.Server.BaseUrl));
        var created = await admin.CreateChannelAsync(new NewChannel("sdk-sandbox", "sandbox", Priority: 5));
        Assert.Equal(("database", "active", 5), (created.Source, created.State, created.Priority));
        Assert.Contains(await admin.ListChannelsAsync(), c => c.Name == "sdk-sandbox");

        Assert.Equal("draining", (await admin.DrainChannelAsync("sdk-sandbox")).State);
        Assert.Equal("active", (await admin.UpdateChannelAsync("sdk-sandbox", new ChannelChange(Enabled: true, Weight: 3))).State);
        Assert.Equal("sdk-sandbox", (await admin.TestChannelAsync("sdk-sandbox")).Name);
        Assert.Equal("sdk-sandbox", (await admin.DeleteChannelAsync("sdk-sandbox")).Name);
        Assert.Equal(SeedanceErrorCodes.ChannelNotFound, (await Assert.ThrowsAsync<SeedanceException>(() => admin.GetChannelAsync("sdk-sandbox"))).Code);
    }

    private static async Task<SeedanceException> AssertError(string code, HttpStatusCode status, Func<Task> call)
    {
        var error = await Assert.ThrowsAsync<SeedanceException>(call);
        Assert.True(error.Code == code && error.HttpStatus == status, $"Expected {(int)status} {code}, got {error.HttpStatus} {error.Code}: {error.Message}");
        return error;
    }
}

internal static class OperationWaits
{
    /// <summary>Reads the task until it reaches <paramref name="status"/> (or ends).</summary>
    public static async Task WaitForStatusAsync(this VideoTaskOperation operation, VideoTaskStatus status)
    {
        for (var i = 0; i < 600 && operation.Status != status && !operation.HasCompleted; i++)
        {
            await operation.UpdateStatusAsync();
            if (operation.Status != status) await Task.Delay(100);
        }
        Assert.Equal(status, operation.Status);
    }
}
