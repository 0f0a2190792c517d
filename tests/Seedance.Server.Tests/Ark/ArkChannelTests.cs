using System.Text.Json.Nodes;
using Seedance.Server.Data;
using Seedance.Server.Tests.Support;
using static Seedance.Server.Tests.Ark.ArkChannelServer;

namespace Seedance.Server.Tests.Ark;

/// <summary>The server's Ark channels against the Ark emulator: the whole path, through the real server: the request as the upstream gets it, its statuses and refusals as the API shows them, and its callbacks.</summary>
[TakesAbout(35)]
public sealed class ArkChannelTests
{
    [Fact]
    public async Task ATextTaskRunsEndToEndAndTheUpstreamGetsTheMappedRequest()
    {
        await using var ark = await ArkEmulator.StartAsync();
        await using var server = await ServerAsync(new Dictionary<string, string> { ["Seedance:Tasks:Thumbnails"] = "true" }, ("ark", ark, 0));
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
        // Sent as the official SDKs send it: with its length, not chunked.
        var create = ark.Requests.Single(r => r.Call == ArkCall.Create);
        Assert.Equal((System.Text.Encoding.UTF8.GetByteCount(ark.CreateBodies.Single()), ""), (create.ContentLength, create.TransferEncoding));

        // The results were copied into this server's store: they outlive the upstream's links.
        ark.ExpireResultLinks();
        var (analysis, _) = await Media.DownloadAndProbeAsync(task["video_url"]!.GetValue<string>());
        Assert.Equal("h264", analysis.PrimaryVideoStream!.CodecName);
        Assert.NotNull(task["last_frame_url"]?.GetValue<string>());
        Assert.Equal(7, task["seed"]!.GetValue<long>());
        // The poster is made from the copy: the emulator's video is 320x180 whatever the ratio asked.
        var (poster, posterPath) = await Media.DownloadAndProbeAsync(task["thumbnail_url"]!.GetValue<string>(), ".jpg");
        File.Delete(posterPath);
        Assert.Equal(("mjpeg", 320, 180), (poster.PrimaryVideoStream!.CodecName, poster.PrimaryVideoStream.Width, poster.PrimaryVideoStream.Height));
    }

    [Fact]
    public async Task TasksAtAChannelAreCheckedInBatchesThroughTheListAndOneByOneWhenTheListFails()
    {
        await using var ark = await ArkEmulator.StartAsync();
        ark.Timing.QueuedFor = TimeSpan.FromSeconds(1);
        ark.Timing.RunningFor = TimeSpan.FromSeconds(1);
        await using var server = await ServerAsync(("ark", ark, 0));
        using var client = await server.CreateKeyAsync(credits: 1000, maxConcurrent: 40, maxPending: 40);
        ark.Faults.ServerErrorNext(2, ArkCall.List);

        async Task<List<string>> RunAsync(int count)
        {
            var ids = await Task.WhenAll(Enumerable.Range(0, count).Select(i => client.SubmitTextAsync($"Batch {i}")));
            foreach (var id in ids) Assert.Equal("completed", (await client.WaitForAsync(id)).Status());
            return [.. ids];
        }

        // The first two list calls fail: their tasks are read one by one, and everything completes.
        await RunAsync(30);
        Assert.True(ark.GetCalls > 0, "no task was read alone after the list failed");
        var idsPerList = ark.Requests.Where(r => r.Call == ArkCall.List && r.Status == 200)
            .Select(r => r.Path.Split("filter.task_ids=").Length - 1).ToList();
        Assert.All(idsPerList, n => Assert.InRange(n, 1, 100));
        Assert.True(idsPerList.Max() > 1, "no list read more than one task");

        // With the list answering, no task is read alone.
        var reads = ark.GetCalls;
        await RunAsync(10);
        Assert.Equal(reads, ark.GetCalls);
        Assert.Equal(40, ark.CreateCalls);
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
}
