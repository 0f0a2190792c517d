using Seedance.Server.Data;
using Seedance.Server.Providers.Sandbox;
using Seedance.Server.Providers;
using Seedance.Server.Tests.Support;

namespace Seedance.Server.Tests;

/// <summary>
/// Cancel: pending at once, queued at the upstream, processing refused (as Ark refuses a running task),
/// terminal refused (a cancelled task too, as the API document says). A cancelled task releases its reservation, and the
/// answer says how much. One server for the class (each test makes its
/// own keys and looks only at their tasks, ledger and balance), but for the test that needs a longer upstream queue.
/// </summary>
public sealed class CancelTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private const decimal Cost = 3.6m;

    [Fact]
    public async Task CancellingAPendingTaskCancelsItAtOnceAndReleasesItsCredits()
    {
        var server = fixture.Server;
        using var client = await server.CreateKeyAsync(credits: 100, maxConcurrent: 1);
        var running = await client.SubmitTextAsync("[sandbox:stall] Holds the only slot");
        await client.WaitForAsync(running, "queued", "processing");
        var waiting = await client.SubmitTextAsync("Waits behind it");
        Assert.Equal("pending", (await client.GetTaskAsync(waiting)).Result!.Status());

        var response = await client.CancelAsync(waiting);

        response.AssertOk();
        var result = response.Result!.AsObject();
        Assert.Equal(["task_id", "status", "refunded_credits"], result.Select(p => p.Key)); // the document's fields, then the addition
        Assert.Equal(waiting, result["task_id"]!.GetValue<string>());
        Assert.Equal("cancelled", result["status"]!.GetValue<string>());
        Assert.Equal("cancelled", (await client.GetTaskAsync(waiting)).Result!.Status());
        Assert.Equal(new CreditFigures(100m, 0m, Cost, 100m - Cost), await client.CreditsAsync());
        var row = Assert.Single(await server.TaskRowsAsync(client.KeyId), t => t.TaskId == waiting);
        Assert.Null(row.UpstreamTaskId);
        var ledger = (await server.LedgerRowsAsync(client.KeyId)).Where(l => l.TaskId == waiting).ToList();
        Assert.Equal([LedgerKind.Reserve, LedgerKind.Release], ledger.Select(l => l.Kind));
        Assert.Equal(ledger[1].Amount, result["refunded_credits"]!.GetValue<decimal>());
        Assert.Equal(Cost, ledger[1].Amount);
    }

    [Fact]
    public async Task CancellingAQueuedTaskCancelsItAtTheUpstreamAndReleasesItsCredits()
    {
        await using var server = await RunningServer.StartAsync(new() { ["Seedance:Sandbox:QueueSeconds"] = "30" });
        using var client = await server.CreateKeyAsync(credits: 100);
        var taskId = await client.SubmitTextAsync("Waits in the upstream's queue");
        await client.WaitForAsync(taskId, "queued");

        var response = await client.CancelAsync(taskId);

        response.AssertOk();
        Assert.Equal("cancelled", response.Result!.Status());
        Assert.Equal("cancelled", (await client.GetTaskAsync(taskId)).Result!.Status());
        Assert.Equal(new CreditFigures(100m, 0m, 0m, 100m), await client.CreditsAsync());
        var release = Assert.Single(await server.LedgerRowsAsync(client.KeyId), l => l.TaskId == taskId && l.Kind == LedgerKind.Release);
        Assert.Equal(release.Amount, response.Result!["refunded_credits"]!.GetValue<decimal>());
        var row = Assert.Single(await server.TaskRowsAsync(client.KeyId));
        var upstream = await server.Services.GetRequiredService<SandboxProvider>().GetAsync(row.UpstreamTaskId!, CancellationToken.None);
        Assert.Equal(ProviderState.Cancelled, upstream.State);
        Assert.Equal([LedgerKind.Reserve, LedgerKind.Release],
            (await server.LedgerRowsAsync(client.KeyId)).Where(l => l.TaskId == taskId).Select(l => l.Kind));
    }

    [Fact]
    public async Task CancellingAProcessingTaskIsRefusedAndTheTaskGoesOn()
    {
        var server = fixture.Server;
        using var client = await server.CreateKeyAsync(credits: 100);
        var taskId = await client.SubmitTextAsync("[sandbox:stall] Generating and cannot stop");
        await client.WaitForAsync(taskId, "processing");

        (await client.CancelAsync(taskId)).AssertError(400, "TASK_CANCEL_NOT_ALLOWED");

        Assert.Equal("processing", (await client.GetTaskAsync(taskId)).Result!.Status());
        Assert.Equal(new CreditFigures(100m, 0m, Cost, 100m - Cost), await client.CreditsAsync());
        Assert.DoesNotContain(await server.LedgerRowsAsync(client.KeyId), l => l.Kind == LedgerKind.Release);
    }

    [Fact]
    public async Task AProcessingTaskWhoseCancelWasRefusedCompletesAndIsCharged()
    {
        var server = fixture.Server;
        using var client = await server.CreateKeyAsync(credits: 100);
        var taskId = await client.SubmitTextAsync("[sandbox:delay=5] Generating for a while");
        await client.WaitForAsync(taskId, "processing");

        (await client.CancelAsync(taskId)).AssertError(400, "TASK_CANCEL_NOT_ALLOWED");

        Assert.Equal("completed", (await client.WaitForAsync(taskId)).Status());
        Assert.Equal(new CreditFigures(100m, Cost, 0m, 100m - Cost), await client.CreditsAsync());
    }

    [Fact]
    public async Task CancellingACompletedFailedOrCancelledTaskIsRefused()
    {
        var server = fixture.Server;
        using var client = await server.CreateKeyAsync(credits: 100, maxConcurrent: 1);
        var completed = await client.SubmitTextAsync("Finishes normally");
        var failed = await client.SubmitTextAsync("[sandbox:fail=COPYRIGHT_VIOLATION] Finishes in failure");
        await client.WaitForAsync(completed);
        await client.WaitForAsync(failed);
        var running = await client.SubmitTextAsync("[sandbox:stall] Holds the only slot");
        await client.WaitForAsync(running, "queued", "processing");
        var cancelled = await client.SubmitTextAsync("Cancelled while pending");
        (await client.CancelAsync(cancelled)).AssertOk();
        var before = await client.CreditsAsync();
        var ledgerBefore = (await server.LedgerRowsAsync(client.KeyId)).Count;

        // As the API document says of every terminal status, a cancelled one included; the refusal says what became of the credits.
        foreach (var (taskId, status, credits) in new[] { (completed, "completed", "3.6 credits charged"), (failed, "failed", "3.6 credits refunded"),
                     (cancelled, "cancelled", "3.6 credits refunded") })
        {
            Assert.Equal(status, (await client.GetTaskAsync(taskId)).Result!.Status());
            (await client.CancelAsync(taskId)).AssertError(400, "TASK_CANCEL_NOT_ALLOWED", $"task is already {status} ({credits})");
            Assert.Equal(status, (await client.GetTaskAsync(taskId)).Result!.Status());
        }

        Assert.Equal(before, await client.CreditsAsync());
        Assert.Equal(ledgerBefore, (await server.LedgerRowsAsync(client.KeyId)).Count);
    }

    [Fact]
    public async Task CancellingAnotherKeysTaskIsTaskNotFound()
    {
        var server = fixture.Server;
        using var owner = await server.CreateKeyAsync(credits: 100, name: "owner");
        using var stranger = await server.CreateKeyAsync(credits: 100, name: "stranger");
        var taskId = await owner.SubmitTextAsync("[sandbox:stall] Not yours");

        (await stranger.CancelAsync(taskId)).AssertError(404, "TASK_NOT_FOUND");

        Assert.NotEqual("cancelled", (await owner.GetTaskAsync(taskId)).Result!.Status());
        Assert.Equal(Cost, (await owner.CreditsAsync()).Reserved);
    }
}
