using Seedance.Server.Data;
using Seedance.Server.Providers.Sandbox;
using Seedance.Server.Providers;
using Seedance.Server.Tests.Support;

namespace Seedance.Server.Tests;

/// <summary>A task not terminal after its time-to-live becomes expired, is released and is never charged.</summary>
public sealed class ExpiryTests
{
    private const decimal Cost = 3.6m;

    /// <summary>Past the default time-to-live of 48 h.</summary>
    private static readonly TimeSpan PastTimeToLive = TimeSpan.FromHours(48) + TimeSpan.FromMinutes(1);

    [Fact]
    public async Task AStalledTaskThatOutlivesItsTimeToLiveExpiresAndIsNotCharged()
    {
        var clock = new JumpingClock();
        await using var server = await RunningServer.StartAsync(services: clock.Use);
        using var client = await server.CreateKeyAsync(credits: 100);
        var taskId = await client.SubmitTextAsync("[sandbox:stall] Never finishes");
        await client.WaitForAsync(taskId, "processing");
        clock.Jump(PastTimeToLive);

        var task = await client.WaitForAsync(taskId);

        Assert.Equal("expired", task.Status());
        Assert.Null(task["error_code"]); // expiry is not a failure: no error code, a message says why
        Assert.False(string.IsNullOrEmpty(task["error_message"]?.GetValue<string>()));
        Assert.Null(task["video_url"]);
        Assert.Equal(new CreditFigures(100m, 0m, 0m, 100m), await client.CreditsAsync());
        Assert.Equal([(LedgerKind.Reserve, Cost), (LedgerKind.Release, Cost)],
            (await server.LedgerRowsAsync(client.KeyId)).Where(l => l.TaskId == taskId).Select(l => (l.Kind, l.Amount)));
        (await client.CancelAsync(taskId)).AssertError(400, "TASK_CANCEL_NOT_ALLOWED");
    }

    [Fact]
    public async Task APendingTaskThatOutlivesItsTimeToLiveExpiresToo()
    {
        var clock = new JumpingClock();
        await using var server = await RunningServer.StartAsync(services: clock.Use);
        using var client = await server.CreateKeyAsync(credits: 100, maxConcurrent: 1);
        var running = await client.SubmitTextAsync("[sandbox:stall] Holds the only slot");
        await client.WaitForAsync(running, "queued", "processing");
        var waiting = await client.SubmitTextAsync("[sandbox:stall] Waits behind it");
        Assert.Equal("pending", (await client.GetTaskAsync(waiting)).Result!.Status());
        clock.Jump(PastTimeToLive);

        Assert.Equal("expired", (await client.WaitForAsync(running)).Status());
        Assert.Equal("expired", (await client.WaitForAsync(waiting)).Status());

        Assert.Equal(new CreditFigures(100m, 0m, 0m, 100m), await client.CreditsAsync());
        var ledger = await server.LedgerRowsAsync(client.KeyId);
        Assert.Equal(2, ledger.Count(l => l.Kind == LedgerKind.Release));
        Assert.DoesNotContain(ledger, l => l.Kind == LedgerKind.Capture);
    }

    [Fact]
    public async Task AQueuedTaskThatOutlivesItsTimeToLiveIsWithdrawnFromTheUpstream()
    {
        // The sandbox keeps the task queued for three days, so it is still queued (and cancellable) once past its time-to-live.
        var clock = new JumpingClock();
        await using var server = await RunningServer.StartAsync(new() { ["Seedance:Sandbox:QueueSeconds"] = $"{3 * 24 * 3600}" }, services: clock.Use);
        using var client = await server.CreateKeyAsync(credits: 100);
        var taskId = await client.SubmitTextAsync("Waits in the upstream's queue too long");
        await client.WaitForAsync(taskId, "queued");
        clock.Jump(PastTimeToLive);

        Assert.Equal("expired", (await client.WaitForAsync(taskId)).Status());

        Assert.Equal(new CreditFigures(100m, 0m, 0m, 100m), await client.CreditsAsync());
        var row = Assert.Single(await server.TaskRowsAsync(client.KeyId));
        var sandbox = server.Services.GetRequiredService<SandboxProvider>();
        await ServerProbes.WaitUntilAsync(
            async () => (await sandbox.GetAsync(row.UpstreamTaskId!, CancellationToken.None)).State == ProviderState.Cancelled,
            "the upstream job of the expired task to be cancelled");
    }
}
