using System.Text.Json.Nodes;
using Seedance.Server.Billing;
using Seedance.Server.Tests.Support;

namespace Seedance.Server.Tests.Ark;

/// <summary>The server's Ark channels against the Ark emulator: the whole path, through the real server.</summary>
public sealed class ArkChannelTests
{
    private const decimal Cost = 3.6m; // seedance-2.0, 480p, 4 s

    /// <summary>A server on a known port (so it can hand the upstream links to itself) with Ark channels.</summary>
    private static async Task<RunningServer> ServerAsync(params (string Name, ArkEmulator Emulator, int Priority)[] channels) =>
        await ServerAsync(new Dictionary<string, string>(), null, channels);

    private static async Task<RunningServer> ServerAsync(Dictionary<string, string> extra, params (string Name, ArkEmulator Emulator, int Priority)[] channels) =>
        await ServerAsync(extra, null, channels);

    private static async Task<RunningServer> ServerAsync(Dictionary<string, string> extra, string? dataDir, params (string Name, ArkEmulator Emulator, int Priority)[] channels) =>
        await ServerAsync(extra, dataDir, null, channels);

    /// <param name="services">Replaces services of the server (a clock).</param>
    private static async Task<RunningServer> ServerAsync(Dictionary<string, string> extra, string? dataDir, Action<IServiceCollection>? services,
        params (string Name, ArkEmulator Emulator, int Priority)[] channels)
    {
        var port = ServerProcess.FreePort();
        var settings = new Dictionary<string, string>
        {
            ["urls"] = $"http://127.0.0.1:{port}",
            ["Seedance:PublicBaseUrl"] = $"http://127.0.0.1:{port}",
        };
        for (var i = 0; i < channels.Length; i++)
        {
            var (name, emulator, priority) = channels[i];
            settings[$"Seedance:Channels:{i}:Name"] = name;
            settings[$"Seedance:Channels:{i}:Provider"] = "ark";
            settings[$"Seedance:Channels:{i}:BaseUrl"] = emulator.BaseUrl;
            settings[$"Seedance:Channels:{i}:ApiKey"] = emulator.ApiKey;
            settings[$"Seedance:Channels:{i}:Models:seedance-2.0"] = "doubao-seedance-2-0-260128";
            settings[$"Seedance:Channels:{i}:Models:seedance-2.0-fast"] = "doubao-seedance-2-0-fast-260128";
            settings[$"Seedance:Channels:{i}:Priority"] = priority.ToString();
            settings[$"Seedance:Channels:{i}:PollIntervalSeconds"] = "0.2";
            settings[$"Seedance:Channels:{i}:TimeoutSeconds"] = "2";
            settings[$"Seedance:Channels:{i}:CooldownSeconds"] = "600";
            settings[$"Seedance:Channels:{i}:AllowPrivateNetworks"] = "true"; // the emulator's result links are on loopback
        }
        foreach (var (k, v) in extra) settings[k] = v;
        return await RunningServer.StartAsync(settings, dataDir, services);
    }

    [Fact]
    public async Task ATextTaskRunsEndToEndAndTheUpstreamGetsTheMappedRequest()
    {
        await using var ark = await ArkEmulator.StartAsync();
        await using var server = await ServerAsync(("ark", ark, 0));
        using var client = await server.CreateKeyAsync(credits: 100);

        var response = await client.SubmitAsync(new
        {
            model = "seedance-2.0-fast", content = new[] { new { type = "text", text = "A kite over the sea" } },
            resolution = "720p", ratio = "21:9", duration = 6, seed = 7, watermark = true, generate_audio = true, return_last_frame = true,
        });
        response.AssertOk();
        var task = await client.WaitForAsync(response.Result!["task_id"]!.GetValue<string>());

        Assert.Equal("completed", task.Status());
        var sent = ark.LastCreateBody!;
        Assert.Equal("doubao-seedance-2-0-fast-260128", sent["model"]!.GetValue<string>());
        Assert.Equal("A kite over the sea", sent["content"]![0]!["text"]!.GetValue<string>());
        Assert.Equal(("720p", "21:9", 6, 7L), (sent["resolution"]!.GetValue<string>(), sent["ratio"]!.GetValue<string>(),
            sent["duration"]!.GetValue<int>(), sent["seed"]!.GetValue<long>()));
        Assert.True(sent["watermark"]!.GetValue<bool>() && sent["generate_audio"]!.GetValue<bool>() && sent["return_last_frame"]!.GetValue<bool>());
        // What is left of the 48 h time-to-live when the task is handed over.
        Assert.InRange(sent["execution_expires_after"]!.GetValue<int>(), 172800 - 60, 172800);
        Assert.StartsWith($"{server.BaseUrl}/upstream/callbacks/{task["task_id"]!.GetValue<string>()}?", sent["callback_url"]!.GetValue<string>());

        // The results were copied into this server's store: they outlive the upstream's links.
        ark.ExpireResultLinks();
        var (analysis, _) = await Media.DownloadAndProbeAsync(task["video_url"]!.GetValue<string>());
        Assert.Equal("h264", analysis.PrimaryVideoStream!.CodecName);
        Assert.NotNull(task["last_frame_url"]?.GetValue<string>());
        Assert.Equal(7, task["seed"]!.GetValue<long>());
    }

    [Fact]
    public async Task AnUploadedImageReachesTheUpstreamAsASignedLinkOrInline()
    {
        await using var ark = await ArkEmulator.StartAsync();
        var png = await Media.PngAsync("blue", 640, 360);

        await using (var server = await ServerAsync(("ark", ark, 0)))
        {
            using var client = await server.CreateKeyAsync(credits: 100);
            var image = await client.UploadAsync("hero.png", "image/png", png);
            var id = await client.SubmitTextAsync("She turns", extra: new() { ["content"] = new object[]
            {
                new { type = "image_url", image_url = image, role = "first_frame" }, new { type = "text", text = "She turns" },
            } });
            Assert.Equal("completed", (await client.WaitForAsync(id)).Status());
            var item = ark.LastCreateBody!["content"]!.AsArray().Single(c => c!["type"]!.GetValue<string>() == "image_url")!;
            Assert.Equal("first_frame", item["role"]!.GetValue<string>());
            using var http = new HttpClient();
            Assert.Equal(png, await http.GetByteArrayAsync(item["image_url"]!["url"]!.GetValue<string>()));
        }

        await using (var server = await ServerAsync(new Dictionary<string, string> { ["Seedance:Channels:0:InlineImages"] = "true" }, ("ark", ark, 0)))
        {
            using var client = await server.CreateKeyAsync(credits: 100);
            var image = await client.UploadAsync("hero.png", "image/png", png);
            var id = await client.SubmitTextAsync("She turns", extra: new() { ["content"] = new object[]
            {
                new { type = "image_url", image_url = image }, new { type = "text", text = "She turns" },
            } });
            Assert.Equal("completed", (await client.WaitForAsync(id)).Status());
            var url = ark.LastCreateBody!["content"]!.AsArray().Single(c => c!["type"]!.GetValue<string>() == "image_url")!["image_url"]!["url"]!.GetValue<string>();
            Assert.Equal("data:image/png;base64," + Convert.ToBase64String(png), url);
        }
    }

    [Theory]
    [InlineData("queued", "queued")]
    [InlineData("running", "processing")]
    public async Task AnUpstreamStatusShowsAsTheDocumentsStatus(string upstream, string expected)
    {
        await using var ark = await ArkEmulator.StartAsync();
        await using var server = await ServerAsync(("ark", ark, 0));
        using var client = await server.CreateKeyAsync(credits: 100);

        var id = await client.SubmitTextAsync("Hold [ark:stuck]");
        await client.WaitForAsync(id, "queued", "processing");
        await ark.SetStatusAsync(ark.Tasks.Single().Id, upstream);

        Assert.Equal(expected, (await client.WaitForAsync(id, expected)).Status());
    }

    [Theory]
    [InlineData("failed", "OutputVideoSensitiveContentDetected", "failed", "CONTENT_MODERATION_FAILED")]
    [InlineData("failed", "InternalServiceError", "failed", "INTERNAL_ERROR")]
    [InlineData("expired", null, "expired", null)]
    [InlineData("cancelled", null, "cancelled", null)]
    public async Task ATerminalUpstreamStatusEndsTheTaskUncharged(string upstream, string? code, string expected, string? expectedCode)
    {
        await using var ark = await ArkEmulator.StartAsync();
        await using var server = await ServerAsync(("ark", ark, 0));
        using var client = await server.CreateKeyAsync(credits: 100);

        var id = await client.SubmitTextAsync("Hold [ark:stuck]");
        await client.WaitForAsync(id, "queued", "processing");
        await ark.SetStatusAsync(ark.Tasks.Single().Id, upstream, code);
        var task = await client.WaitForAsync(id);

        Assert.Equal(expected, task.Status());
        Assert.Equal(expectedCode, task["error_code"]?.GetValue<string>());
        Assert.Equal(new CreditFigures(100m, 0m, 0m, 100m), await client.CreditsAsync());
    }

    [Theory]
    [InlineData(400, "InvalidParameter.Ratio", "INVALID_PARAMETER")]
    [InlineData(400, "MissingParameter.Content", "MISSING_PARAMETER")]
    [InlineData(400, "InputTextSensitiveContentDetected", "CONTENT_MODERATION_FAILED")]
    [InlineData(400, "InputImageSensitiveContentDetected.PrivacyInformation", "PRIVACY_VIOLATION")]
    [InlineData(400, "InputVideoSensitiveContentDetected.PrivacyInformation", "PRIVACY_VIOLATION")]
    [InlineData(400, "SensitiveContentDetected", "CONTENT_MODERATION_FAILED")]
    [InlineData(400, "ContentRiskDetection", "CONTENT_MODERATION_FAILED")]
    public async Task AnInputRefusalFailsTheTaskWithTheMappedCodeUncharged(int status, string upstreamCode, string expected)
    {
        await using var ark = await ArkEmulator.StartAsync();
        await using var server = await ServerAsync(("ark", ark, 0));
        using var client = await server.CreateKeyAsync(credits: 100);
        ark.Faults.ErrorNext(1, status, upstreamCode);

        var task = await client.WaitForAsync(await client.SubmitTextAsync("Refused"));

        Assert.Equal("failed", task.Status());
        Assert.Equal(expected, task["error_code"]!.GetValue<string>());
        Assert.DoesNotContain("Request id", task["error_message"]!.GetValue<string>());
        Assert.Equal(1, ark.CreateCalls); // the user's fault is not retried
        Assert.Equal(new CreditFigures(100m, 0m, 0m, 100m), await client.CreditsAsync());
    }

    [Theory]
    [InlineData(401, "AuthenticationError")]
    [InlineData(403, "AccessDenied")]
    [InlineData(403, "AccountOverdueError")]
    [InlineData(404, "InvalidEndpointOrModel.NotFound")]
    [InlineData(500, "InternalServiceError")]
    public async Task AChannelFaultFailsOverToTheNextChannelWithoutADuplicateOrADoubleCharge(int status, string code)
    {
        await using var broken = await ArkEmulator.StartAsync();
        await using var healthy = await ArkEmulator.StartAsync();
        await using var server = await ServerAsync(("primary", broken, 10), ("secondary", healthy, 0));
        using var client = await server.CreateKeyAsync(credits: 100);
        broken.Faults.ErrorNext(1000, status, code);

        var ids = new List<string>();
        for (var i = 0; i < 4; i++) ids.Add(await client.SubmitTextAsync($"Failover {i}"));
        foreach (var id in ids) Assert.Equal("completed", (await client.WaitForAsync(id)).Status());

        Assert.Empty(broken.Tasks);
        Assert.Equal(4, healthy.Tasks.Count);
        Assert.Equal(4 * Cost, (await client.CreditsAsync()).Used);
        var channels = (await ApiResponse.From(await server.Admin.GetAsync("/admin/v1/channels"))).Result!.AsArray();
        var primary = channels.Single(c => c!["name"]!.GetValue<string>() == "primary")!;
        Assert.Equal("cooling_down", primary["state"]!.GetValue<string>());
        Assert.Contains(code, primary["recent_errors"]![0]!["error"]!.GetValue<string>());
    }

    [Theory]
    [InlineData(401, "AuthenticationError", "SERVICE_BUSY")]
    [InlineData(403, "AccountOverdueError", "SERVICE_BUSY")]
    [InlineData(404, "ModelNotOpen", "SERVICE_BUSY")]
    [InlineData(500, "InternalServiceError", "TASK_SUBMIT_FAILED")]
    public async Task WhenNoChannelCanTakeATaskItFailsWithTheTablesCodeUncharged(int status, string code, string expected)
    {
        await using var ark = await ArkEmulator.StartAsync();
        // The second attempt comes 2 s after the first: the clock is moved on to it rather than waited out.
        var clock = new JumpingClock();
        await using var server = await ServerAsync(new Dictionary<string, string>
        {
            ["Seedance:Tasks:MaxSubmitAttempts"] = "2", ["Seedance:Channels:0:CooldownSeconds"] = "0", ["Seedance:Node:LeaseSeconds"] = "3600",
        }, null, clock.Use, ("only", ark, 0));
        using var client = await server.CreateKeyAsync(credits: 100);
        ark.Faults.ErrorNext(1000, status, code);

        var taskId = await client.SubmitTextAsync("Nobody home");
        await server.SkipRetryWaitsUntilAsync(clock, client.KeyId, async () => IsTerminal(await client.GetTaskAsync(taskId)), "the task to fail");
        var task = await client.WaitForAsync(taskId);

        Assert.Equal("failed", task.Status());
        Assert.Equal(expected, task["error_code"]!.GetValue<string>());
        Assert.Equal(2, ark.CreateCalls);
        Assert.Equal(new CreditFigures(100m, 0m, 0m, 100m), await client.CreditsAsync());
    }

    [Fact]
    public async Task ATimeoutAtSubmissionIsTheChannelsFaultAndTheTaskFindsAnotherChannel()
    {
        await using var slow = await ArkEmulator.StartAsync();
        await using var healthy = await ArkEmulator.StartAsync();
        await using var server = await ServerAsync(("slow", slow, 10), ("healthy", healthy, 0));
        using var client = await server.CreateKeyAsync(credits: 100);
        slow.Faults.TimeoutNext(1, ArkCall.Create);

        Assert.Equal("completed", (await client.WaitForAsync(await client.SubmitTextAsync("Patience"))).Status());
        Assert.Single(healthy.Tasks);
    }

    [Fact]
    public async Task ARateLimitStormLeavesTasksPendingAndThenCompletesThemChargedOnce()
    {
        await using var ark = await ArkEmulator.StartAsync();
        // Each refusal defers its task by 5-10 s: the clock is moved on to the retry time rather than waited out.
        // Leases outlast the jumps, so a claim never runs out between two heartbeats of this single node.
        var clock = new JumpingClock();
        await using var server = await ServerAsync(new Dictionary<string, string> { ["Seedance:Node:LeaseSeconds"] = "3600" }, null, clock.Use,
            ("ark", ark, 0));
        using var client = await server.CreateKeyAsync(credits: 100);
        ark.Faults.RateLimitNext(6);
        ark.Faults.QuotaExceededNext(2);

        var ids = new List<string>();
        for (var i = 0; i < 3; i++) ids.Add(await client.SubmitTextAsync($"Storm {i}"));
        await Task.Delay(300);
        Assert.All(ids, id => Assert.Equal("pending", client.GetTaskAsync(id).Result.Result!.Status()));
        await server.SkipRetryWaitsUntilAsync(clock, client.KeyId, async () => (await server.TaskRowsAsync(client.KeyId)).All(t => t.Status != "pending"),
            "every task to be handed over");
        foreach (var id in ids) Assert.Equal("completed", (await client.WaitForAsync(id)).Status());

        Assert.Equal(3, ark.Tasks.Count);
        Assert.Equal(3 * Cost, (await client.CreditsAsync()).Used);
        var rows = await server.TaskRowsAsync(client.KeyId);
        Assert.All(rows, r => Assert.Equal(0, r.DispatchAttempts)); // a rate limit never counts against the task
    }

    [Fact]
    public async Task ARunningTaskCannotBeCancelledAndGoesOnWhileAQueuedOneIsCancelled()
    {
        await using var ark = await ArkEmulator.StartAsync();
        await using var server = await ServerAsync(("ark", ark, 0));
        using var client = await server.CreateKeyAsync(credits: 100);

        var running = await client.SubmitTextAsync("Busy [ark:stuck]");
        await client.WaitForAsync(running, "queued", "processing");
        var upstreamRunning = ark.Tasks.Single().Id;
        await ark.SetStatusAsync(upstreamRunning, "running");
        await client.WaitForAsync(running, "processing");
        (await client.CancelAsync(running)).AssertError(400, "TASK_CANCEL_NOT_ALLOWED");
        Assert.Equal("running", ark.Find(upstreamRunning)!.Status);

        var queued = await client.SubmitTextAsync("Waiting [ark:stuck]");
        await client.WaitForAsync(queued, "queued");
        var upstreamQueued = ark.Tasks.Single(t => t.Id != upstreamRunning).Id;
        await ark.SetStatusAsync(upstreamQueued, "queued");
        (await client.CancelAsync(queued)).AssertOk();
        Assert.Equal("cancelled", ark.Find(upstreamQueued)!.Status);

        await ark.SetStatusAsync(upstreamRunning, "succeeded");
        Assert.Equal("completed", (await client.WaitForAsync(running)).Status());
        Assert.Equal(Cost, (await client.CreditsAsync()).Used);
    }

    [Fact]
    public async Task ATaskThatAlreadySucceededUpstreamCannotBeCancelledAndItsUpstreamRecordIsKept()
    {
        await using var ark = await ArkEmulator.StartAsync();
        ark.Faults.DropCallbacks = true;
        // Checked once at hand-over, then not for ten minutes: the server has not yet seen the success.
        await using var server = await ServerAsync(new Dictionary<string, string> { ["Seedance:Channels:0:PollIntervalSeconds"] = "600" }, ("ark", ark, 0));
        using var client = await server.CreateKeyAsync(credits: 100);

        var id = await client.SubmitTextAsync("Done already [ark:stuck]");
        await client.WaitForAsync(id, "queued");
        var upstream = ark.Tasks.Single().Id;
        await ark.SetStatusAsync(upstream, "succeeded");

        (await client.CancelAsync(id)).AssertError(400, "TASK_CANCEL_NOT_ALLOWED");
        Assert.Equal(0, ark.DeleteCalls); // Ark's DELETE of a finished task would delete its record and result
        Assert.Equal("succeeded", ark.Find(upstream)!.Status);
        // Nothing given back: still reserved, or already captured if the hand-over's own check saw the success first.
        var credits = await client.CreditsAsync();
        Assert.Equal(Cost, credits.Reserved + credits.Used);
        Assert.Equal(100m - Cost, credits.Remain);
    }

    [Fact]
    public async Task AResultLinkToAPrivateAddressIsNotFetchedUnlessTheChannelAllowsIt()
    {
        await using var ark = await ArkEmulator.StartAsync(); // its result links are on 127.0.0.1
        await using var server = await ServerAsync(new Dictionary<string, string> { ["Seedance:Channels:0:AllowPrivateNetworks"] = "false" }, ("ark", ark, 0));
        using var client = await server.CreateKeyAsync(credits: 100);

        var task = await client.WaitForAsync(await client.SubmitTextAsync("Fetch me from loopback"));

        Assert.Equal("failed", task.Status());
        Assert.Equal("VIDEO_DOWNLOAD_FAILED", task["error_code"]!.GetValue<string>());
        Assert.DoesNotContain(ark.Requests, r => r.Path.StartsWith("/results/", StringComparison.Ordinal));
        Assert.Equal(new CreditFigures(100m, 0m, 0m, 100m), await client.CreditsAsync());
    }

    [Fact]
    public async Task AResultWhoseLinkDiedFailsWithVideoDownloadFailedUncharged()
    {
        await using var ark = await ArkEmulator.StartAsync();
        await using var server = await ServerAsync(("ark", ark, 0));
        using var client = await server.CreateKeyAsync(credits: 100);
        ark.Faults.ResultLinksExpireAfter(TimeSpan.Zero);

        var task = await client.WaitForAsync(await client.SubmitTextAsync("Gone too soon"));

        Assert.Equal("failed", task.Status());
        Assert.Equal("VIDEO_DOWNLOAD_FAILED", task["error_code"]!.GetValue<string>());
        Assert.Equal(new CreditFigures(100m, 0m, 0m, 100m), await client.CreditsAsync());
    }

    [Fact]
    public async Task AnUpstreamCallbackMakesTheServerLookAtOnceButIsNeverTrustedAlone()
    {
        await using var ark = await ArkEmulator.StartAsync();
        // Checks only every 10 minutes: without the callback hint the task would sit there.
        await using var server = await ServerAsync(new Dictionary<string, string> { ["Seedance:Channels:0:PollIntervalSeconds"] = "600" }, ("ark", ark, 0));
        using var client = await server.CreateKeyAsync(credits: 100);

        var id = await client.SubmitTextAsync("Call me [ark:stuck]");
        await client.WaitForAsync(id, "queued");
        var upstream = ark.Tasks.Single();
        await ark.SetStatusAsync(upstream.Id, "queued"); // pinned: the upstream keeps it queued

        // A forged callback claiming success, at the right address: the server asks the upstream and stays put.
        using var http = new HttpClient();
        var forged = await http.PostAsync(upstream.CallbackUrl, new StringContent("""{"status":"succeeded"}"""));
        Assert.True(forged.IsSuccessStatusCode);
        await Task.Delay(500);
        Assert.Equal("queued", (await client.GetTaskAsync(id)).Result!.Status());
        // A callback to a wrong address is refused.
        Assert.Equal(403, (int)(await http.PostAsync(upstream.CallbackUrl!.Replace("signature=", "signature=x"), null)).StatusCode);

        await ark.SetStatusAsync(upstream.Id, "succeeded"); // the emulator calls back on the change
        Assert.Equal("completed", (await client.WaitForAsync(id)).Status());
    }

    [Fact]
    public async Task ARestartWithTwoHundredTasksInFlightUpstreamCompletesThemAllChargedOnce()
    {
        await using var ark = await ArkEmulator.StartAsync();
        ark.Timing.QueuedFor = TimeSpan.FromSeconds(3);
        ark.Timing.RunningFor = TimeSpan.FromSeconds(1);
        var dataDir = TempDir.Create();
        var settings = new Dictionary<string, string>
        {
            ["Seedance:Channels:0:PollIntervalSeconds"] = "0.5", ["Seedance:Channels:0:MaxConcurrent"] = "500",
        };
        List<string> ids = [];
        long keyId;
        string apiKey;

        await using (var first = await ServerAsync(settings, dataDir, ("ark", ark, 0)))
        {
            first.KeepDataDir = true;
            using var client = await first.CreateKeyAsync(credits: 1000, maxConcurrent: 200, maxPending: 200);
            (keyId, apiKey) = (client.KeyId, client.ApiKey);
            var submissions = Enumerable.Range(0, 200).Select(i => client.SubmitTextAsync($"In flight {i}"));
            ids = (await Task.WhenAll(submissions)).ToList();
            await ServerProbes.WaitUntilAsync(async () => ark.Tasks.Count == 200
                && (await first.TaskRowsAsync(keyId)).All(t => t.Status != "pending"), "all 200 handed over");
        }

        await using var second = await ServerAsync(settings, dataDir, ("ark", ark, 0));
        using var again = new ApiClient(second.BaseUrl, apiKey, keyId);
        await ServerProbes.WaitUntilAsync(async () => (await second.TaskRowsAsync(keyId)).All(t => t.Status == "completed"), "all completed", 120);

        Assert.Equal(200, ark.Tasks.Count); // nothing handed over twice
        var ledger = await second.LedgerRowsAsync(keyId);
        foreach (var id in ids)
        {
            Assert.Single(ledger, l => l.TaskId == id && l.Kind == LedgerKind.Reserve);
            Assert.Single(ledger, l => l.TaskId == id && l.Kind == LedgerKind.Capture);
        }
        Assert.Equal(new CreditFigures(1000m, 200 * Cost, 0m, 1000m - 200 * Cost), await again.CreditsAsync());
    }

    private static bool IsTerminal(ApiResponse task) => ServerProbes.Terminal.Contains(task.Result!.Status());
}
