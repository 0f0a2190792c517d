using System.Text.Json.Nodes;
using Seedance.Server.Data;
using Seedance.Server.Tests.Support;
using static Seedance.Server.Tests.Ark.ArkChannelServer;

namespace Seedance.Server.Tests.Ark;

/// <summary>The results of Ark tasks: copied into this server's store or failed uncharged, and finished after a restart with everything in flight.</summary>
[TakesAbout(20)]
public sealed class ArkResultTests
{
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
    public async Task ARestartWithTwoHundredTasksInFlightUpstreamCompletesThemAllChargedOnce()
    {
        await using var ark = await ArkEmulator.StartAsync();
        ark.Timing.QueuedFor = TimeSpan.FromSeconds(3);
        ark.Timing.RunningFor = TimeSpan.FromSeconds(1);
        var dataDir = TempDir.Create();
        var settings = new Dictionary<string, string>
        {
            ["Seedance:Channels:0:PollIntervalSeconds"] = "0.5", ["Seedance:Channels:0:MaxConcurrent"] = "500",
            // Posters are ThumbnailTests' subject: here they would be 200 ffmpeg runs (about a minute of this machine's CPU).
            ["Seedance:Tasks:Thumbnails"] = "false",
        };
        List<string> ids = [];
        long keyId;
        string apiKey;

        await using (var first = await ServerAsync(settings, dataDir, ("ark", ark, 0)))
        {
            first.KeepDataDir = true;
            using var client = await first.CreateKeyAsync(credits: 1000, maxConcurrent: 200, maxPending: 200);
            (keyId, apiKey) = (client.KeyId, client.ApiKey);
            // Submitted as a busy client does, 16 at a time (what 200 at once on one key costs is the benchmarks' to measure).
            var submitted = new System.Collections.Concurrent.ConcurrentBag<string>();
            await Parallel.ForEachAsync(Enumerable.Range(0, 200), new ParallelOptions { MaxDegreeOfParallelism = 16 },
                async (i, _) => submitted.Add(await client.SubmitTextAsync($"In flight {i}")));
            ids = [.. submitted];
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
}
