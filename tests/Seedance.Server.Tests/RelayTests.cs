using System.Text.Json.Nodes;
using Seedance.Server.Data;
using Seedance.Server.Tests.Support;

namespace Seedance.Server.Tests;

/// <summary>
/// A server whose channels relay to another real server speaking the same API (here: a second instance
/// with the sandbox), with the operator's key there.
/// </summary>
[TakesAbout(60)]
public sealed class RelayTests
{
    private static async Task<(RunningServer Upstream, ApiClient OperatorAccount)> UpstreamAsync(decimal credits = 1000, int rateLimit = 1000,
        Dictionary<string, string>? settings = null)
    {
        var upstream = await RunningServer.StartAsync(settings);
        return (upstream, await upstream.CreateKeyAsync(credits: credits, maxConcurrent: 50, rateLimit: rateLimit, name: "operator"));
    }

    private static Dictionary<string, string> Relay(int index, string name, string baseUrl, string apiKey, int priority = 0) => new()
    {
        [$"Seedance:Channels:{index}:Name"] = name,
        [$"Seedance:Channels:{index}:Provider"] = "relay",
        [$"Seedance:Channels:{index}:BaseUrl"] = baseUrl,
        [$"Seedance:Channels:{index}:ApiKey"] = apiKey,
        [$"Seedance:Channels:{index}:Priority"] = priority.ToString(),
        [$"Seedance:Channels:{index}:PollIntervalSeconds"] = "0.2",
        [$"Seedance:Channels:{index}:CooldownSeconds"] = "600",
        [$"Seedance:Channels:{index}:AllowPrivateNetworks"] = "true", // the other server is on loopback
    };

    private static Dictionary<string, string> Merge(params Dictionary<string, string>[] parts) =>
        parts.SelectMany(p => p).ToDictionary(kv => kv.Key, kv => kv.Value);

    [Fact]
    public async Task AnImageToVideoTaskRunsEndToEndThroughARelayAndTakesTheUpstreamsActualValues()
    {
        var (upstream, account) = await UpstreamAsync();
        await using var _ = upstream;
        await using var server = await RunningServer.StartAsync(Relay(0, "relay", upstream.BaseUrl, account.ApiKey));
        using var client = await server.CreateKeyAsync(credits: 100);

        var image = await client.UploadAsync("hero.png", "image/png", await Media.PngAsync("red", 640, 360));
        var response = await client.SubmitAsync(new
        {
            content = new object[] { new { type = "image_url", image_url = image, role = "first_frame" }, new { type = "text", text = "A hero turns" } },
            resolution = "480p", duration = 4, seed = 42,
        });
        response.AssertOk();
        var task = await client.WaitForAsync(response.Result!["task_id"]!.GetValue<string>());

        Assert.Equal("completed", task.Status());
        Assert.Equal(42, task["seed"]!.GetValue<long>());
        var (analysis, _) = await Media.DownloadAndProbeAsync(task["video_url"]!.GetValue<string>());
        Assert.Equal(854, analysis.PrimaryVideoStream!.Width);
        Assert.StartsWith(server.StoreUrlPrefix, task["video_url"]!.GetValue<string>()); // copied into our own store

        // Upstream: one task for the operator's key, charged there; here: charged to the user once.
        var upstreamTasks = (await account.ListAsync()).Result!["data"]!.AsArray();
        Assert.Single(upstreamTasks);
        Assert.Equal(3.6m, (await client.CreditsAsync()).Used);
        Assert.Equal(3.6m, (await account.CreditsAsync()).Used);
        var routing = await ApiResponse.From(await server.Admin.GetAsync($"/admin/v1/tasks/{task["task_id"]!.GetValue<string>()}"));
        Assert.Equal("relay", routing.Result!["channel"]!.GetValue<string>());
        Assert.Equal(upstreamTasks[0]!["task_id"]!.GetValue<string>(), routing.Result!["upstream_task_id"]!.GetValue<string>());
    }

    [Fact]
    public async Task AnUpstreamRefusalOfTheContentFailsTheTaskWithTheSameCodeUncharged()
    {
        var (upstream, account) = await UpstreamAsync();
        await using var _ = upstream;
        await using var server = await RunningServer.StartAsync(Relay(0, "relay", upstream.BaseUrl, account.ApiKey));
        using var client = await server.CreateKeyAsync(credits: 100);

        var task = await client.WaitForAsync(await client.SubmitTextAsync("A crowd [sandbox:fail=PRIVACY_VIOLATION]"));

        Assert.Equal("failed", task.Status());
        Assert.Equal("PRIVACY_VIOLATION", task["error_code"]!.GetValue<string>());
        Assert.Equal(new CreditFigures(100m, 0m, 0m, 100m), await client.CreditsAsync());
    }

    [Fact]
    public async Task AChannelThatRefusesTheOperatorsKeyFailsOverToTheNextAndCoolsDown()
    {
        var (upstream, account) = await UpstreamAsync();
        await using var _ = upstream;
        var settings = Merge(Relay(0, "broken", upstream.BaseUrl, "sk-sd2-not-a-key", priority: 10), Relay(1, "healthy", upstream.BaseUrl, account.ApiKey));
        await using var server = await RunningServer.StartAsync(settings);
        using var client = await server.CreateKeyAsync(credits: 100);

        var ids = new List<string>();
        for (var i = 0; i < 4; i++) ids.Add(await client.SubmitTextAsync($"Failover {i}"));
        foreach (var id in ids) Assert.Equal("completed", (await client.WaitForAsync(id)).Status());

        Assert.Equal(4, (await account.ListAsync()).Result!["total"]!.GetValue<int>()); // no duplicate upstream task
        Assert.Equal(4 * 3.6m, (await client.CreditsAsync()).Used);                      // no double charge
        var channels = (await ApiResponse.From(await server.Admin.GetAsync("/admin/v1/channels"))).Result!.AsArray();
        var broken = channels.Single(c => c!["name"]!.GetValue<string>() == "broken")!;
        Assert.Equal("cooling_down", broken["state"]!.GetValue<string>());
        Assert.Contains("INVALID_API_KEY", broken["recent_errors"]![0]!["error"]!.GetValue<string>());
        Assert.Equal("active", channels.Single(c => c!["name"]!.GetValue<string>() == "healthy")!["state"]!.GetValue<string>());
    }

    [Fact]
    public async Task AQueuedTaskIsCancelledUpstreamAndAProcessingOneIsNotCancellable()
    {
        var (upstream, account) = await UpstreamAsync(settings: new() { ["Seedance:Sandbox:QueueSeconds"] = "30" });
        await using var _ = upstream;
        await using var server = await RunningServer.StartAsync(Relay(0, "relay", upstream.BaseUrl, account.ApiKey));
        using var client = await server.CreateKeyAsync(credits: 100);

        var queued = await client.SubmitTextAsync("Wait in line");
        await client.WaitForAsync(queued, "queued");
        (await client.CancelAsync(queued)).AssertOk();
        Assert.Equal("cancelled", (await client.GetTaskAsync(queued)).Result!.Status());
        var upstreamTask = (await account.ListAsync()).Result!["data"]![0]!;
        Assert.Equal("cancelled", upstreamTask.Status());
        Assert.Equal(new CreditFigures(100m, 0m, 0m, 100m), await client.CreditsAsync());
    }

    [Fact]
    public async Task AnUpstreamThatRateLimitsKeepsTheTaskPendingAndItCompletesOnceTheLimitLifts()
    {
        // The operator's account upstream allows 1 request per second: hand-overs and checks collide with it.
        var (upstream, account) = await UpstreamAsync(rateLimit: 1);
        await using var _ = upstream;
        await using var server = await RunningServer.StartAsync(Relay(0, "relay", upstream.BaseUrl, account.ApiKey));
        using var client = await server.CreateKeyAsync(credits: 100);

        var ids = new List<string>();
        for (var i = 0; i < 3; i++) ids.Add(await client.SubmitTextAsync($"Slowly {i}"));
        foreach (var id in ids)
        {
            var task = await client.WaitForAsync(id);
            Assert.Equal("completed", task.Status());
        }
        Assert.Equal(3, (await upstream.TaskRowsAsync(account.KeyId)).Count); // read behind the upstream's rate limit
        var routing = await ApiResponse.From(await server.Admin.GetAsync("/admin/v1/channels"));
        Assert.Equal("active", routing.Result![0]!["state"]!.GetValue<string>()); // rate limits never cool a channel down
    }
}
