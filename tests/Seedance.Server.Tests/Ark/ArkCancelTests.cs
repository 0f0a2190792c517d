using System.Text.Json.Nodes;
using Seedance.Server.Tests.Support;
using static Seedance.Server.Tests.Ark.ArkChannelServer;

namespace Seedance.Server.Tests.Ark;

/// <summary>Cancelling a task that is at an Ark upstream: as the upstream allows, and never against a result it already has.</summary>
public sealed class ArkCancelTests
{
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
}
