using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Seedance.Server.Data;
using Seedance.Server.Tests.Support;

namespace Seedance.Server.Tests;

/// <summary>
/// Credits are reserved at submission, captured on completion and released otherwise; the balance never
/// goes below zero and every movement is one ledger entry. A 480p 4 s task of seedance-2.0 costs 3.6.
/// </summary>
public sealed class BillingTests
{
    private const decimal Cost = 3.6m;

    private static Dictionary<string, object> TextTask(string prompt) => new()
    {
        ["content"] = new[] { new { type = "text", text = prompt } }, ["duration"] = 4, ["resolution"] = "480p",
    };

    [Fact]
    public async Task FiftyConcurrentSubmissionsAgainstABalanceForFiveAcceptExactlyFive()
    {
        await using var server = await RunningServer.StartAsync();
        using var client = await server.CreateKeyAsync(credits: 18, maxConcurrent: 1, maxPending: 100);

        using var stop = new CancellationTokenSource();
        var samples = new List<CreditFigures>();
        var sampler = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested) samples.Add(await client.CreditsAsync()); // asserts total = used + reserved + remain >= 0
        });
        var responses = await Task.WhenAll(Enumerable.Range(0, 50).Select(i => client.SubmitAsync(TextTask($"[sandbox:stall] storm {i}"))));
        await stop.CancelAsync();
        await sampler;

        var accepted = responses.Where(r => r.Status == 200).ToList();
        Assert.Equal(5, accepted.Count);
        foreach (var response in accepted) response.AssertOk();
        foreach (var response in responses.Where(r => r.Status != 200)) response.AssertError(402, "INSUFFICIENT_CREDIT");
        Assert.NotEmpty(samples);
        Assert.All(samples, s => Assert.True(s.Reserved <= 18m, $"reserved {s.Reserved} beyond the balance"));

        Assert.Equal(new CreditFigures(18m, 0m, 18m, 0m), await client.CreditsAsync());
        var tasks = await server.TaskRowsAsync(client.KeyId);
        Assert.Equal(accepted.Select(r => r.Result!["task_id"]!.GetValue<string>()).Order(), tasks.Select(t => t.TaskId).Order());
        var reserves = (await server.LedgerRowsAsync(client.KeyId)).Where(l => l.Kind == LedgerKind.Reserve).ToList();
        Assert.Equal(5, reserves.Count);
        Assert.Equal(18m, reserves.Sum(l => l.Amount));
    }

    [Fact]
    public async Task TheLedgerBalancesAfterCompletedFailedCancelledAndExpiredTasks()
    {
        // The default time-to-live (48 h), reached by moving the server's clock on rather than by waiting.
        var clock = new JumpingClock();
        await using var server = await RunningServer.StartAsync(services: clock.Use);
        using var client = await server.CreateKeyAsync(credits: 100, maxConcurrent: 1);

        var completed = await client.SubmitTextAsync("A lighthouse at dusk, waves rolling in");
        Assert.Equal("completed", (await client.WaitForAsync(completed)).Status());
        var failed = await client.SubmitTextAsync("[sandbox:fail=CONTENT_MODERATION_FAILED] A forbidden scene");
        var failedTask = await client.WaitForAsync(failed);
        Assert.Equal("failed", failedTask.Status());
        Assert.Equal("CONTENT_MODERATION_FAILED", failedTask["error_code"]!.GetValue<string>());

        var expired = await client.SubmitTextAsync("[sandbox:stall] A clock that never stops");
        await client.WaitForAsync(expired, "queued", "processing");
        var cancelled = await client.SubmitTextAsync("A task waiting behind the stalled one");
        Assert.Equal("pending", (await client.GetTaskAsync(cancelled)).Result!.Status());
        (await client.CancelAsync(cancelled)).AssertOk();
        Assert.Equal("processing", (await client.WaitForAsync(expired, "processing")).Status());
        clock.Jump(TimeSpan.FromHours(48) + TimeSpan.FromMinutes(1));
        Assert.Equal("expired", (await client.WaitForAsync(expired)).Status());

        var statuses = new Dictionary<string, string>
        {
            [completed] = "completed", [failed] = "failed", [cancelled] = "cancelled", [expired] = "expired",
        };
        var listed = (await client.ListAsync("?page_size=100")).Result!["data"]!.AsArray();
        Assert.Equal(statuses, listed.ToDictionary(t => t!["task_id"]!.GetValue<string>(), t => t!.Status()));

        var balance = await client.CreditsAsync();
        Assert.Equal(100m, balance.Total);
        Assert.Equal(0m, balance.Reserved);
        Assert.Equal(listed.Where(t => t!.Status() == "completed").Sum(t => t!.CreditCost()), balance.Used);
        Assert.Equal(Cost, balance.Used);
        Assert.Equal(100m - Cost, balance.Remain);

        var rows = await server.LedgerRowsAsync(client.KeyId);
        AssertOneReserveAndOneSettlementPerTask(statuses, rows.Select(r => (r.TaskId, r.Kind, r.Amount)).ToList());
        Assert.Equal(balance.Total, rows.Where(r => r.Kind is LedgerKind.TopUp or LedgerKind.Adjust).Sum(r => r.Amount));
        Assert.Equal(balance.Used, rows.Where(r => r.Kind == LedgerKind.Capture).Sum(r => r.Amount));
        Assert.Equal(balance.Reserved, rows.Where(r => r.Kind == LedgerKind.Reserve).Sum(r => r.Amount)
            - rows.Where(r => r.Kind is LedgerKind.Capture or LedgerKind.Release).Sum(r => r.Amount));

        var admin = await server.AdminLedgerAsync(client.KeyId);
        var adminRows = admin.Select(e => (e!["task_id"]?.GetValue<string>(), e["kind"]!.GetValue<string>(), e["amount"]!.GetValue<decimal>())).ToList();
        AssertOneReserveAndOneSettlementPerTask(statuses, adminRows);
        Assert.Equal(rows.Select(r => (r.TaskId, r.Kind, r.Amount)).Order(), adminRows.Order());
    }

    private static void AssertOneReserveAndOneSettlementPerTask(Dictionary<string, string> statuses, List<(string? TaskId, string Kind, decimal Amount)> rows)
    {
        Assert.Equal(statuses.Keys.Order(), rows.Where(r => r.TaskId is not null).Select(r => r.TaskId!).Distinct().Order());
        foreach (var (taskId, status) in statuses)
        {
            var entries = rows.Where(r => r.TaskId == taskId).ToList();
            Assert.Equal([(taskId, LedgerKind.Reserve, Cost)], entries.Where(r => r.Kind == LedgerKind.Reserve));
            var settlement = status == "completed" ? LedgerKind.Capture : LedgerKind.Release;
            Assert.Equal([(taskId, settlement, Cost)], entries.Where(r => r.Kind is LedgerKind.Capture or LedgerKind.Release));
            Assert.Equal(2, entries.Count);
        }
    }

    [Fact]
    public async Task ASubmissionRefusedForLackOfCreditChangesNothing()
    {
        await using var server = await RunningServer.StartAsync();
        using var client = await server.CreateKeyAsync(credits: 3);

        var response = await client.SubmitAsync(TextTask("A task the balance cannot cover"));
        response.AssertError(402, "INSUFFICIENT_CREDIT");

        Assert.Equal(new CreditFigures(3m, 0m, 0m, 3m), await client.CreditsAsync());
        Assert.Equal(0, (await client.ListAsync()).Result!["total"]!.GetValue<int>());
        Assert.Empty(await server.TaskRowsAsync(client.KeyId));
        var ledger = await server.LedgerRowsAsync(client.KeyId);
        Assert.Equal([(LedgerKind.TopUp, 3m)], ledger.Select(l => (l.Kind, l.Amount)));
    }

    [Fact]
    public async Task AnOperatorTopsUpAndAdjustsDownButNeverBelowWhatIsUsedAndReserved()
    {
        await using var server = await RunningServer.StartAsync();
        using var client = await server.CreateKeyAsync(credits: 20);
        Assert.Equal("completed", (await client.WaitForAsync(await client.SubmitTextAsync("Uses its credits"))).Status());
        await client.SubmitTextAsync("[sandbox:stall] Holds a reservation");

        var topUp = await AdjustAsync(server, client.KeyId, 10m, "monthly top-up");
        topUp.AssertOk();
        Assert.Equal(30m, topUp.Result!["total_credits"]!.GetValue<decimal>());
        Assert.Equal(new CreditFigures(30m, Cost, Cost, 30m - 2 * Cost), await client.CreditsAsync());

        // Down to exactly used + reserved is allowed; one hundredth further is not.
        (await AdjustAsync(server, client.KeyId, -(30m - 2 * Cost), "refund")).AssertOk();
        Assert.Equal(new CreditFigures(2 * Cost, Cost, Cost, 0m), await client.CreditsAsync());
        (await AdjustAsync(server, client.KeyId, -0.01m, "too far")).AssertError(400, "INVALID_PARAMETER");
        Assert.Equal(new CreditFigures(2 * Cost, Cost, Cost, 0m), await client.CreditsAsync());

        var ledger = (await server.AdminLedgerAsync(client.KeyId)).Where(e => e!["task_id"] is null)
            .Select(e => (e!["kind"]!.GetValue<string>(), e["amount"]!.GetValue<decimal>(), e["note"]?.GetValue<string>()))
            .Reverse().ToList();
        Assert.Equal([(LedgerKind.TopUp, 20m, "initial credits"), (LedgerKind.TopUp, 10m, "monthly top-up"), (LedgerKind.Adjust, -(30m - 2 * Cost), "refund")], ledger);
    }

    [Fact]
    public async Task CreditAmountsWithMoreThanTwoDecimalsAreRefused()
    {
        await using var server = await RunningServer.StartAsync();
        using var client = await server.CreateKeyAsync(credits: 10);

        (await AdjustAsync(server, client.KeyId, 1.234m, null)).AssertError(400, "INVALID_PARAMETER", "two decimals");
        (await AdjustAsync(server, client.KeyId, -0.001m, null)).AssertError(400, "INVALID_PARAMETER", "two decimals");
        var created = await ApiResponse.From(await server.Admin.PostAsJsonAsync("/admin/v1/keys", new { name = "fractional", credits = 10.005m }));
        created.AssertError(400, "INVALID_PARAMETER", "two decimals");

        Assert.Equal(new CreditFigures(10m, 0m, 0m, 10m), await client.CreditsAsync());
        Assert.Single(await server.LedgerRowsAsync(client.KeyId));
        Assert.Equal(1, await server.QueryAsync(db => db.ApiKeys.CountAsync()));
    }

    [Fact]
    public async Task ACancelledTaskIsNeverChargedEvenIfTheUpstreamFinishesLater()
    {
        await using var server = await RunningServer.StartAsync(new() { ["Seedance:Sandbox:QueueSeconds"] = "30" });
        using var client = await server.CreateKeyAsync(credits: 100);
        var taskId = await client.SubmitTextAsync("A task cancelled while it waits upstream");
        await client.WaitForAsync(taskId, "queued");
        var seenByTracker = (await server.TaskRowsAsync(client.KeyId)).Single();

        (await client.CancelAsync(taskId)).AssertOk();

        // The upstream's success arrives late, against the task as it stood before the cancel.
        var tasks = server.Services.GetRequiredService<TaskStore>();
        Assert.False(await tasks.CompleteAsync(seenByTracker, $"results/{taskId}/video.mp4", null, null, 7, 4, CancellationToken.None));

        var task = (await client.GetTaskAsync(taskId)).Result!;
        Assert.Equal("cancelled", task.Status());
        Assert.Null(task["video_url"]);
        Assert.Equal(new CreditFigures(100m, 0m, 0m, 100m), await client.CreditsAsync());
        var ledger = await server.LedgerRowsAsync(client.KeyId);
        Assert.Equal([LedgerKind.Reserve, LedgerKind.Release], ledger.Where(l => l.TaskId == taskId).Select(l => l.Kind));
    }

    private static async Task<ApiResponse> AdjustAsync(RunningServer server, long keyId, decimal amount, string? note) =>
        await ApiResponse.From(await server.Admin.PostAsJsonAsync($"/admin/v1/keys/{keyId}/credits", new JsonObject
        {
            ["amount"] = amount, ["note"] = note,
        }));
}
