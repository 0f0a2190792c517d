using Microsoft.EntityFrameworkCore;
using Seedance.Server.Data;
using Seedance.Server.Tests.Support;

namespace Seedance.Server.Tests.Stores;

/// <summary>
/// The stores on a real database without a server: the credit ledger's rules, the guarded status changes and the
/// events they publish after commit. Time is a fake clock; nothing sleeps.
/// </summary>
public sealed class TaskStoreTests
{
    [Fact]
    public async Task ASubmissionReservesItsCostAndARefusalForWantOfCreditOrBacklogChangesNothing()
    {
        await using var host = await StoreHost.StartAsync();
        var keyId = await NewKeyAsync(host, credits: 10m, maxConcurrent: 1, maxPending: 1);
        var tasks = host.Get<TaskStore>();

        Assert.True((await tasks.SubmitAsync(NewTask(host, keyId, 3.6m), [], null, default)).Accepted); // takes the one free slot
        Assert.True((await tasks.SubmitAsync(NewTask(host, keyId, 3.6m), [], null, default)).Accepted); // the one backlog place
        var noRoom = await tasks.SubmitAsync(NewTask(host, keyId, 0.9m), [], null, default);
        Assert.False(noRoom.Accepted);
        Assert.Equal(1, noRoom.MaxPending);
        await AssertFiguresAsync(host, keyId, total: 10m, used: 0m, reserved: 7.2m, ledgerEntries: 3);

        await using var roomy = await StoreHost.StartAsync();
        var poorKey = await NewKeyAsync(roomy, credits: 4m, maxConcurrent: 5, maxPending: 5);
        var tooDear = await roomy.Get<TaskStore>().SubmitAsync(NewTask(roomy, poorKey, 4.5m), [], null, default);
        Assert.False(tooDear.Accepted);
        Assert.Equal(4m, tooDear.RemainCredits);
        await AssertFiguresAsync(roomy, poorKey, total: 4m, used: 0m, reserved: 0m, ledgerEntries: 1);
        Assert.Empty(await roomy.ReadAsync(db => db.Tasks.Where(t => t.KeyId == poorKey).ToListAsync()));
    }

    [Fact]
    public async Task ATaskEndsOnceItsCreditIsCapturedOrReleasedExactlyOnceAndOneEventFollowsEachCommit()
    {
        await using var host = await StoreHost.StartAsync();
        var keyId = await NewKeyAsync(host, credits: 100m);
        var tasks = host.Get<TaskStore>();
        var done = NewTask(host, keyId, 3.6m);
        var failed = NewTask(host, keyId, 1.44m);
        foreach (var task in new[] { done, failed }) Assert.True((await tasks.SubmitAsync(task, [], null, default)).Accepted);

        Assert.Equal(HandOver.Queued, await tasks.QueueAsync(done.TaskId, "sandbox", false, "up-1", default));
        Assert.Equal(HandOver.TaskMoved, await tasks.QueueAsync(done.TaskId, "sandbox", false, "up-2", default)); // no longer pending
        Assert.True(await tasks.StartProcessingAsync(done.TaskId, default));
        Assert.True(await tasks.CompleteAsync(done, "results/a/video.mp4", null, "results/a/thumbnail.jpg", 7, 4, default));
        Assert.False(await tasks.CompleteAsync(done, "results/a/video.mp4", null, null, 7, 4, default));
        Assert.False(await tasks.CancelAsync(done, VideoTaskStatus.NonTerminal, default));
        Assert.True(await tasks.FailAsync(failed, [VideoTaskStatus.Pending], "TASK_SUBMIT_FAILED", "no upstream", default));
        Assert.False(await tasks.ExpireAsync(failed, default));

        await AssertFiguresAsync(host, keyId, total: 100m, used: 3.6m, reserved: 0m, ledgerEntries: 5);
        var ledger = await host.ReadAsync(db => db.Ledger.Where(l => l.TaskId != null).OrderBy(l => l.Id).Select(l => new { l.TaskId, l.Kind, l.Amount }).ToListAsync());
        Assert.Equal([(done.TaskId, LedgerKind.Reserve, 3.6m), (failed.TaskId, LedgerKind.Reserve, 1.44m), (done.TaskId, LedgerKind.Capture, 3.6m),
            (failed.TaskId, LedgerKind.Release, 1.44m)], ledger.Select(l => (l.TaskId!, l.Kind, l.Amount)));

        Assert.Equal([(done.TaskId, "pending", true), (failed.TaskId, "pending", true), (done.TaskId, "queued", false), (done.TaskId, "processing", false),
            (done.TaskId, "completed", false), (failed.TaskId, "failed", false)], host.Published.Select(c => (c.TaskId, c.Status, c.IsNew)));
        var ended = host.Published.Single(c => c.Status == "completed").Task!;
        Assert.Equal(("results/a/video.mp4", null, "results/a/thumbnail.jpg"), (ended.VideoFile, ended.LastFrameFile, ended.ThumbnailFile));
        Assert.Equal(7, ended.Seed);
    }

    [Fact]
    public async Task AFinishedTaskWithACallbackUrlHasItsCallbackInTheOutboxFromTheSameTransaction()
    {
        await using var host = await StoreHost.StartAsync();
        var keyId = await NewKeyAsync(host, credits: 100m);
        var tasks = host.Get<TaskStore>();
        var withCallback = NewTask(host, keyId, 0.9m);
        withCallback.CallbackUrl = "https://example.com/hook";
        var without = NewTask(host, keyId, 0.9m);
        foreach (var task in new[] { withCallback, without })
        {
            Assert.True((await tasks.SubmitAsync(task, [], null, default)).Accepted);
            Assert.True(await tasks.CancelAsync(task, [VideoTaskStatus.Pending], default));
        }

        var deliveries = await host.ReadAsync(db => db.WebhookDeliveries.ToListAsync());
        var delivery = Assert.Single(deliveries);
        Assert.Equal(withCallback.TaskId, delivery.TaskId);
        Assert.Equal(DeliveryStatus.Pending, delivery.Status);
        Assert.StartsWith("msg_", delivery.WebhookId);
        Assert.Contains("\"status\":\"cancelled\"", delivery.Payload);
        Assert.Equal(host.Now, delivery.NextAttemptAt);
    }

    [PostgresPassFact]
    public async Task OnPostgresqlAMovingTaskLocksItsKeysRowOnlyAsItCommitsSoTheKeysSubmissionsDoNotQueueBehindIt()
    {
        await using var host = await StoreHost.StartAsync();
        var keyId = await NewKeyAsync(host, credits: 100m);
        var tasks = host.Get<TaskStore>();
        var moving = NewTask(host, keyId, 0.9m);
        Assert.True((await tasks.SubmitAsync(moving, [], null, default)).Accepted);

        // A status change in a transaction that has not committed yet (as a node moving the task holds it).
        var writer = host.Get<DatabaseWriter>();
        await using var mover = writer.CreateWritableContextForTests();
        await using var move = await mover.Database.BeginTransactionAsync();
        Assert.Equal(1, await mover.Database.ExecuteSqlAsync($"UPDATE video_tasks SET status = 'queued' WHERE task_id = {moving.TaskId}"));

        // The key's row is free meanwhile (NOWAIT fails at once on a row another transaction holds) ...
        await using (var probe = writer.CreateWritableContextForTests())
        await using (await probe.Database.BeginTransactionAsync())
            Assert.Equal(1, await probe.Database.SqlQuery<long>($"SELECT id AS \"Value\" FROM api_keys WHERE id = {keyId} FOR UPDATE NOWAIT").CountAsync());
        // ... so a submission on the key commits without waiting for the move.
        Assert.True((await tasks.SubmitAsync(NewTask(host, keyId, 0.9m), [], null, default)).Accepted);

        // The move counts when it commits.
        await move.CommitAsync();
        var key = await host.ReadAsync(db => db.ApiKeys.SingleAsync(k => k.Id == keyId));
        Assert.Equal((1, 1, 0), (key.TasksPending, key.TasksQueued, key.TasksProcessing));
        await AssertFiguresAsync(host, keyId, total: 100m, used: 0m, reserved: 1.8m, ledgerEntries: 3);
    }

    [PostgresPassFact]
    public async Task OnPostgresqlABurstOnOneKeyWaitsForItsRowOnOneConnectionSoAnotherKeysSubmissionStillGetsOneFromThePoolAndTheBacklogHolds()
    {
        // Three connections: the holder below, the burst's key, and the other key; without the key's lane the burst
        // would take every free connection, each waiting on the key's row, and the other key would wait for the pool.
        await using var host = await StoreHost.StartAsync(postgres: c => c.MaxPoolSize = 3);
        var busy = await NewKeyAsync(host, credits: 1000m, maxConcurrent: 1, maxPending: 10);
        var other = await NewKeyAsync(host, credits: 10m);
        var tasks = host.Get<TaskStore>();

        // Another node's transaction holds the busy key's row (as its own submission on the key does until it commits).
        var writer = host.Get<DatabaseWriter>();
        await using var holder = writer.CreateWritableContextForTests();
        await using var hold = await holder.Database.BeginTransactionAsync();
        Assert.Equal(1, await holder.Database.SqlQuery<long>($"SELECT id AS \"Value\" FROM api_keys WHERE id = {busy} FOR UPDATE").CountAsync());

        var burst = Enumerable.Range(0, 20).Select(_ => tasks.SubmitAsync(NewTask(host, busy, 0.9m), [], null, default)).ToList();
        // Npgsql gives up on a full pool after 15 s; well before that, the other key's submission has committed.
        Assert.True((await tasks.SubmitAsync(NewTask(host, other, 0.9m), [], null, default).WaitAsync(TimeSpan.FromSeconds(60))).Accepted);
        Assert.DoesNotContain(burst, b => b.IsCompleted);

        // Then they commit together, and each counts against the backlog for the next: room for 10 pending tasks, and
        // one more while the key runs fewer than max_concurrent.
        await hold.RollbackAsync();
        Assert.Equal(11, (await Task.WhenAll(burst)).Count(s => s.Accepted));
        await AssertFiguresAsync(host, busy, total: 1000m, used: 0m, reserved: 9.9m, ledgerEntries: 12);
        Assert.Equal(11, (await host.ReadAsync(db => db.ApiKeys.SingleAsync(k => k.Id == busy))).TasksPending);
        await AssertFiguresAsync(host, other, total: 10m, used: 0m, reserved: 0.9m, ledgerEntries: 2);
    }

    [PostgresPassFact]
    public async Task OnPostgresqlWithNpgsqlPreparingRepeatedStatementsEverySubmissionStillWritesItsOwnValues()
    {
        // An operator may turn on Npgsql's automatic preparation in the connection string: a statement run twice on a
        // connection is then prepared there, and a kept command must send each run's values, not those it was prepared with.
        await using var host = await StoreHost.StartAsync(postgres: c => (c.MaxPoolSize, c.MaxAutoPrepare, c.AutoPrepareMinUsages) = (1, 20, 2));
        var keyId = await NewKeyAsync(host, credits: 100m);
        var tasks = host.Get<TaskStore>();

        var submitted = new List<VideoTask>();
        for (var i = 1; i <= 8; i++)
        {
            var task = NewTask(host, keyId, 0.01m * i);
            Assert.True((await tasks.SubmitAsync(task, [], null, default)).Accepted);
            submitted.Add(task);
        }

        var stored = await host.ReadAsync(db => db.Tasks.Where(t => t.KeyId == keyId).ToDictionaryAsync(t => t.TaskId, t => t.CreditCost));
        Assert.Equal(submitted.ToDictionary(t => t.TaskId, t => t.CreditCost), stored);
        var reserved = await host.ReadAsync(db => db.Ledger.Where(l => l.KeyId == keyId && l.Kind == LedgerKind.Reserve).ToDictionaryAsync(l => l.TaskId!, l => l.Amount));
        Assert.Equal(stored, reserved);
        await AssertFiguresAsync(host, keyId, total: 100m, used: 0m, reserved: 0.36m, ledgerEntries: 9);
    }

    [Fact]
    public async Task AnOperatorAdjustmentNeverTakesTheTotalBelowWhatIsUsedAndReserved()
    {
        await using var host = await StoreHost.StartAsync();
        var keyId = await NewKeyAsync(host, credits: 10m);
        Assert.True((await host.Get<TaskStore>().SubmitAsync(NewTask(host, keyId, 3.6m), [], null, default)).Accepted);
        var ledger = host.Get<CreditLedger>();

        Assert.False(await ledger.TryAdjustAsync(keyId, -6.41m, "too much", host.Now, default));
        Assert.True(await ledger.TryAdjustAsync(keyId, -6.4m, "all that is free", host.Now, default));
        Assert.True(await ledger.TryAdjustAsync(keyId, 0.01m, "a cent", host.Now, default));

        await AssertFiguresAsync(host, keyId, total: 3.61m, used: 0m, reserved: 3.6m, ledgerEntries: 4);
    }

    [Fact]
    public async Task AStatusChangeThatIsNotALegalMoveIsRefusedBeforeItReachesTheDatabase()
    {
        await using var host = await StoreHost.StartAsync();
        var keyId = await NewKeyAsync(host, credits: 10m);
        var task = NewTask(host, keyId, 0.9m);
        var tasks = host.Get<TaskStore>();
        Assert.True((await tasks.SubmitAsync(task, [], null, default)).Accepted);

        await Assert.ThrowsAsync<ArgumentException>(() => tasks.FailAsync(task, [VideoTaskStatus.Completed], "INTERNAL_ERROR", "from a terminal status", default));
        Assert.Equal("pending", await host.ReadAsync(db => db.Tasks.Where(t => t.TaskId == task.TaskId).Select(t => t.Status).SingleAsync()));
    }

    [Fact]
    public async Task AKeysSettingsChangeWritesOnlyTheSettingsGivenSoConcurrentChangesOfOthersStay()
    {
        await using var host = await StoreHost.StartAsync();
        var keyId = await NewKeyAsync(host, credits: 10m, maxConcurrent: 5, maxPending: 100);
        var keys = host.Get<KeyStore>();

        // Two operators at once: one disables the key, the other renames it, each from what it read before.
        Assert.True(await keys.UpdateAsync(keyId, new KeySettings(null, false, null, null, null), host.Now, default));
        Assert.True(await keys.UpdateAsync(keyId, new KeySettings("renamed", null, null, null, 7), host.Now, default));

        var key = await host.ReadAsync(db => db.ApiKeys.SingleAsync(k => k.Id == keyId));
        Assert.Equal(("renamed", false, 5, 100, 7), (key.Name, key.Enabled, key.MaxConcurrent, key.MaxPending, key.RateLimitPerSecond));
        Assert.False(await keys.UpdateAsync(keyId + 1000, new KeySettings("nobody", null, null, null, null), host.Now, default));
    }

    internal static async Task<long> NewKeyAsync(StoreHost host, decimal credits, int maxConcurrent = 5, int maxPending = 100)
    {
        var now = host.Now;
        var key = new ApiKey
        {
            Name = "store-test", KeyHash = Guid.NewGuid().ToByteArray(), KeyPrefix = "sk-sd2-test", CreatedAt = now, UpdatedAt = now, AuthChangedAt = now,
            MaxConcurrent = maxConcurrent, MaxPending = maxPending, RateLimitPerSecond = 100,
        };
        return await host.Get<KeyStore>().CreateAsync(key, credits, "initial credits", default);
    }

    internal static VideoTask NewTask(StoreHost host, long keyId, decimal cost) => new()
    {
        TaskId = Guid.CreateVersion7().ToString("N"), KeyId = keyId, Model = "seedance-2.0", Status = VideoTaskStatus.Pending, Resolution = "720p",
        Ratio = "16:9", Duration = 4, ContentJson = "[]", CreditCost = cost, CreatedAt = host.Now, UpdatedAt = host.Now, ExpiresAt = host.Now.AddHours(48),
    };

    private static async Task AssertFiguresAsync(StoreHost host, long keyId, decimal total, decimal used, decimal reserved, int ledgerEntries)
    {
        var key = await host.ReadAsync(db => db.ApiKeys.SingleAsync(k => k.Id == keyId));
        Assert.Equal((total, used, reserved), (key.TotalCredits, key.UsedCredits, key.ReservedCredits));
        Assert.True(key.RemainCredits >= 0);
        var entries = await host.ReadAsync(db => db.Ledger.Where(l => l.KeyId == keyId).ToListAsync());
        Assert.Equal(ledgerEntries, entries.Count);
        // The ledger accounts for every figure: top-ups and adjustments make the total, captures the used, reservations less settlements the reserved.
        Assert.Equal(total, entries.Where(e => e.Kind is LedgerKind.TopUp or LedgerKind.Adjust).Sum(e => e.Amount));
        Assert.Equal(used, entries.Where(e => e.Kind == LedgerKind.Capture).Sum(e => e.Amount));
        Assert.Equal(reserved, entries.Where(e => e.Kind == LedgerKind.Reserve).Sum(e => e.Amount)
            - entries.Where(e => e.Kind is LedgerKind.Capture or LedgerKind.Release).Sum(e => e.Amount));
    }
}
