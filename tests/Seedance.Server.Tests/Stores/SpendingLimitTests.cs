using Microsoft.EntityFrameworkCore;
using Seedance.Server.Data;
using Seedance.Server.Tests.Support;

namespace Seedance.Server.Tests.Stores;

/// <summary>
/// Spending limits in the ledger, on a real database and a fake clock: what a key's tasks submitted in a UTC day or month
/// reserved or used, against its limits. A refusal changes nothing; a released reservation stops counting in its own
/// period only; a new day or month starts from nothing.
/// </summary>
public sealed class SpendingLimitTests
{
    private static async Task<long> KeyWithLimitsAsync(StoreHost host, decimal? daily, decimal? monthly)
    {
        var keyId = await TaskStoreTests.NewKeyAsync(host, credits: 1000m);
        Assert.True(await host.Get<KeyStore>().UpdateAsync(keyId, new KeySettings(null, null, null, null, null, DailyCreditLimit: daily, MonthlyCreditLimit: monthly), host.Now, default));
        return keyId;
    }

    private static async Task<Spending> SpendingAsync(StoreHost host, long keyId) =>
        Spending.Of(await host.ReadAsync(db => db.ApiKeys.AsNoTracking().SingleAsync(k => k.Id == keyId)), host.Now);

    private static async Task<VideoTask> SubmitAsync(StoreHost host, long keyId, decimal cost, bool accepted = true)
    {
        var task = TaskStoreTests.NewTask(host, keyId, cost);
        var submission = await host.Get<TaskStore>().SubmitAsync(task, [], null, default);
        Assert.Equal(accepted, submission.Accepted);
        return task;
    }

    [Fact]
    public async Task ADailyLimitRefusesTheTaskThatWouldPassItChangingNothingAndAReleaseOrANewDayMakesRoomAgain()
    {
        await using var host = await StoreHost.StartAsync();
        var keyId = await KeyWithLimitsAsync(host, daily: 10m, monthly: null);
        var first = await SubmitAsync(host, keyId, 3.6m);
        await SubmitAsync(host, keyId, 3.6m);
        await SubmitAsync(host, keyId, 2.8m); // exactly the limit

        var refusedTask = TaskStoreTests.NewTask(host, keyId, 0.01m);
        var refused = await host.Get<TaskStore>().SubmitAsync(refusedTask, [], null, default);
        Assert.False(refused.Accepted);
        Assert.Equal((10m, 10m), (refused.Spending!.Value.DailyUsed, refused.Spending.Value.DailyLimit!.Value));
        var error = refused.Spending.Value.Refusal(0.01m)!;
        Assert.Equal((402, "INSUFFICIENT_CREDIT"), (error.Status, error.Code));
        Assert.Equal("Insufficient credit: the key's daily credit limit is 10, 10 used today, task costs 0.01; the limit resets at 2026-12-02T00:00:00Z", error.Message);
        var key = await host.ReadAsync(db => db.ApiKeys.AsNoTracking().SingleAsync(k => k.Id == keyId));
        Assert.Equal((10m, 10m, 10m), (key.ReservedCredits, key.SpendDayCredits, key.SpendMonthCredits));
        Assert.Equal(3, await host.ReadAsync(db => db.Ledger.CountAsync(l => l.KeyId == keyId && l.Kind == LedgerKind.Reserve)));
        Assert.False(await host.ReadAsync(db => db.Tasks.AnyAsync(t => t.TaskId == refusedTask.TaskId)));

        // A failed task's reservation no longer counts; a completed one's does.
        Assert.True(await host.Get<TaskStore>().FailAsync(first, VideoTaskStatus.NonTerminal, "TASK_SUBMIT_FAILED", "no upstream", default));
        Assert.Equal(6.4m, (await SpendingAsync(host, keyId)).DailyUsed);
        await SubmitAsync(host, keyId, 3.6m);
        await SubmitAsync(host, keyId, 0.01m, accepted: false);

        // The next UTC day starts from nothing; the month goes on counting.
        host.Clock.SetUtcNow(new DateTimeOffset(2026, 12, 2, 0, 0, 0, TimeSpan.Zero));
        var today = await SpendingAsync(host, keyId);
        Assert.Equal((0m, 10m), (today.DailyUsed, today.MonthlyUsed));
        await SubmitAsync(host, keyId, 10m);
        await SubmitAsync(host, keyId, 0.01m, accepted: false);
        Assert.Equal((10m, 20m), ((await SpendingAsync(host, keyId)).DailyUsed, (await SpendingAsync(host, keyId)).MonthlyUsed));
    }

    [Fact]
    public async Task AReleaseTakesItsCostOffTheDayAndMonthOfItsReservationOnly()
    {
        await using var host = await StoreHost.StartAsync();
        var keyId = await KeyWithLimitsAsync(host, daily: 5m, monthly: 12m);
        var yesterdays = await SubmitAsync(host, keyId, 4.5m);

        host.Clock.Advance(TimeSpan.FromDays(1));
        await SubmitAsync(host, keyId, 4.5m);
        Assert.True(await host.Get<TaskStore>().CancelAsync(yesterdays, VideoTaskStatus.NonTerminal, default));
        var spending = await SpendingAsync(host, keyId);
        Assert.Equal((4.5m, 4.5m), (spending.DailyUsed, spending.MonthlyUsed)); // today's day keeps its 4.5; the month drops yesterday's
        await SubmitAsync(host, keyId, 0.9m, accepted: false); // 4.5 + 0.9 passes today's 5

        // The monthly limit: 12 a month across days; the first of the next month starts from nothing.
        host.Clock.Advance(TimeSpan.FromDays(1));
        await SubmitAsync(host, keyId, 4.5m);
        host.Clock.Advance(TimeSpan.FromDays(1));
        await SubmitAsync(host, keyId, 3.5m, accepted: false); // within the day's 5, past the month's 12
        var refused = (await SpendingAsync(host, keyId)).Refusal(3.5m)!;
        Assert.Equal("Insufficient credit: the key's monthly credit limit is 12, 9 used this month, task costs 3.5; the limit resets at 2027-01-01T00:00:00Z", refused.Message);
        host.Clock.SetUtcNow(new DateTimeOffset(2027, 1, 1, 0, 0, 1, TimeSpan.Zero));
        await SubmitAsync(host, keyId, 5m);
        Assert.Equal((5m, 5m), ((await SpendingAsync(host, keyId)).DailyUsed, (await SpendingAsync(host, keyId)).MonthlyUsed));
    }

    [Fact]
    public async Task FiftySubmissionsAtOnceTakeExactlyWhatTheDailyLimitAllows()
    {
        await using var host = await StoreHost.StartAsync();
        var keyId = await KeyWithLimitsAsync(host, daily: 9m, monthly: null);
        var tasks = host.Get<TaskStore>();
        var submissions = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => Task.Run(() => tasks.SubmitAsync(TaskStoreTests.NewTask(host, keyId, 0.9m), [], null, default))));

        Assert.Equal(10, submissions.Count(s => s.Accepted));
        var key = await host.ReadAsync(db => db.ApiKeys.AsNoTracking().SingleAsync(k => k.Id == keyId));
        Assert.Equal((9m, 9m, 10), (key.ReservedCredits, key.SpendDayCredits, key.TasksPending));
        Assert.Equal(9m, await host.ReadAsync(db => db.Ledger.Where(l => l.KeyId == keyId && l.Kind == LedgerKind.Reserve).SumAsync(l => l.Amount)));
    }
}
