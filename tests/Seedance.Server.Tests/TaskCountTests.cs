using System.Data;
using Microsoft.EntityFrameworkCore;
using Seedance.Server.Tests.Support;

namespace Seedance.Server.Tests;

/// <summary>
/// Each key's task counts per status, which the database keeps with every task change: they decide the
/// backlog check and the list's total, so they must match the tasks themselves at every step.
/// </summary>
public sealed class TaskCountTests
{
    [Fact]
    public async Task TheKeysCountsMatchItsTasksThroughEveryStatusAndTheListTotalsFollowThem()
    {
        await using var server = await RunningServer.StartAsync();
        using var client = await server.CreateKeyAsync(credits: 1000, maxConcurrent: 2, maxPending: 2);
        await AssertCountsMatchAsync(server, client);

        var stalled = await client.SubmitTextAsync("[sandbox:stall] Holds a slot");
        var failing = await client.SubmitTextAsync("[sandbox:fail=CONTENT_MODERATION_FAILED] Fails upstream");
        await client.WaitForAsync(stalled, "processing");
        await client.WaitForAsync(failing, "failed");
        await AssertCountsMatchAsync(server, client);

        var completing = await client.SubmitTextAsync("Takes the second slot and completes");
        await client.WaitForAsync(completing, "completed");
        var second = await client.SubmitTextAsync("[sandbox:stall] Holds the second slot");
        await client.WaitForAsync(second, "processing");
        var waiting = new[] { await client.SubmitTextAsync("Waits"), await client.SubmitTextAsync("Waits too") };
        await AssertCountsMatchAsync(server, client);

        (await client.SubmitAsync(new { content = new[] { new { type = "text", text = "One too many" } } }))
            .AssertError(429, "CONCURRENCY_LIMIT_REACHED");
        (await client.CancelAsync(waiting[0])).AssertOk();
        await AssertCountsMatchAsync(server, client);
        var admitted = await client.SubmitTextAsync("Takes the place the cancelled task left");
        Assert.Equal("pending", (await client.GetTaskAsync(admitted)).Result!.Status());
        await AssertCountsMatchAsync(server, client);
    }

    [Fact]
    public async Task TasksOfOtherKeysNeverCountForAKey()
    {
        await using var server = await RunningServer.StartAsync();
        using var busy = await server.CreateKeyAsync(credits: 1000, maxConcurrent: 1, maxPending: 1, name: "busy");
        using var quiet = await server.CreateKeyAsync(credits: 1000, maxConcurrent: 1, maxPending: 1, name: "quiet");
        var holding = await busy.SubmitTextAsync("[sandbox:stall] Holds the slot");
        await busy.WaitForAsync(holding, "processing");
        await busy.SubmitTextAsync("Waits");

        var own = await quiet.SubmitTextAsync("[sandbox:stall] Its own slot");
        await quiet.WaitForAsync(own, "processing");
        await quiet.SubmitTextAsync("Its own backlog place");

        await AssertCountsMatchAsync(server, busy);
        await AssertCountsMatchAsync(server, quiet);
        Assert.Equal(2, (await quiet.ListAsync()).Result!["total"]!.GetValue<int>());
    }

    /// <summary>
    /// The key's counts equal a count of its tasks by status, and each list total (all, and per status) equals
    /// them. Called when the key's tasks stay where they are (stalled, waiting or terminal).
    /// </summary>
    private static async Task AssertCountsMatchAsync(RunningServer server, ApiClient client)
    {
        var (kept, counted) = await server.QueryAsync(async db =>
        {
            // Both reads in one snapshot, whatever the server changes meanwhile.
            await using var snapshot = await db.Database.BeginTransactionAsync(IsolationLevel.Serializable);
            var key = await db.ApiKeys.AsNoTracking().FirstAsync(k => k.Id == client.KeyId);
            var kept = new Dictionary<string, int>
            {
                ["pending"] = key.TasksPending, ["queued"] = key.TasksQueued, ["processing"] = key.TasksProcessing,
                ["completed"] = key.TasksCompleted, ["failed"] = key.TasksFailed, ["cancelled"] = key.TasksCancelled,
                ["expired"] = key.TasksExpired,
            };
            var counted = await db.Tasks.Where(t => t.KeyId == client.KeyId).GroupBy(t => t.Status)
                .Select(g => new { Status = g.Key, Count = g.Count() }).ToDictionaryAsync(g => g.Status, g => g.Count);
            return (kept, counted);
        });
        foreach (var (status, count) in kept)
        {
            Assert.True(counted.GetValueOrDefault(status) == count, $"{status}: the key counts {count}, its tasks number {counted.GetValueOrDefault(status)}");
            var page = await client.ListAsync($"?status={status}");
            page.AssertOk();
            Assert.Equal(count, page.Result!["total"]!.GetValue<int>());
        }
        Assert.Equal(counted.Values.Sum(), (await client.ListAsync()).Result!["total"]!.GetValue<int>());
    }
}
