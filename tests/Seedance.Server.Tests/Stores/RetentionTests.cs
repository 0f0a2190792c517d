using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Seedance.Server.Channels;
using Seedance.Server.Data;
using Seedance.Server.Infrastructure;
using Seedance.Server.Operations;
using Seedance.Server.Providers;
using Seedance.Server.Providers.Sandbox;
using Seedance.Server.Tests.Support;

namespace Seedance.Server.Tests.Stores;

/// <summary>
/// Housekeeping prunes by age on a fake clock, each kind of bookkeeping after its <c>Seedance:Retention:*</c> setting (the
/// defaults here): Idempotency-Key answers after 24 h, unused upload slots once their URL expired, the sandbox's finished
/// jobs after 7 days, finished callback deliveries with their attempts after 30 days. What is still in use stays, and the
/// tasks and the ledger are never pruned.
/// </summary>
public sealed class RetentionTests
{
    [Fact]
    public async Task EachKindOfBookkeepingIsPrunedAfterItsRetentionWhileWorkInProgressTasksAndTheLedgerStay()
    {
        await using var host = await StoreHost.StartAsync(settings: new() { ["Seedance:Sandbox:QueueSeconds"] = "0" });
        var services = host.Get<IServiceProvider>();
        using var sandbox = ActivatorUtilities.CreateInstance<SandboxProvider>(services);
        var housekeeping = NewHousekeeping(services, sandbox);
        var (tasks, outbox, uploads) = (host.Get<TaskStore>(), host.Get<CallbackOutbox>(), host.Get<UploadStore>());
        var keyId = await TaskStoreTests.NewKeyAsync(host, credits: 100m);

        // Two finished tasks with a callback each: one delivered (with its attempt), one still being tried.
        var delivered = await FailedTaskAsync("retry-1");
        var retrying = await FailedTaskAsync(null);
        var deliveredRow = await host.ReadAsync(db => db.WebhookDeliveries.AsNoTracking().SingleAsync(d => d.TaskId == delivered));
        (deliveredRow.Attempts, deliveredRow.Status, deliveredRow.DeliveredAt, deliveredRow.LastStatus) = (1, DeliveryStatus.Delivered, host.Now, 200);
        await outbox.RecordAttemptAsync(deliveredRow,
            new WebhookAttempt { DeliveryId = deliveredRow.Id, Number = 1, AttemptedAt = host.Now, HttpStatus = 200, DurationMs = 3 }, default);
        await uploads.CreateSlotAsync(new UploadedFile
        {
            KeyId = keyId, FilePath = $"api/uploads/{keyId}/never-used.png", ContentType = "image/png", CreatedAt = host.Now, ExpiresAt = host.Now.AddHours(1),
        }, default);
        // The sandbox's jobs: one that finished (failed, as asked), one that never will.
        var finishedJob = await sandbox.SubmitAsync(Request("A quiet harbour [sandbox:fail=CONTENT_MODERATION_FAILED]"), default);
        var stalledJob = await sandbox.SubmitAsync(Request("A quiet harbour [sandbox:stall]"), default);
        await ServerProbes.WaitUntilAsync(async () => (await sandbox.GetAsync(finishedJob, default)).State == ProviderState.Failed, "the sandbox job to finish");
        var ledgerEntries = await host.ReadAsync(db => db.Ledger.CountAsync());

        async Task<string> FailedTaskAsync(string? idempotencyKey)
        {
            var task = TaskStoreTests.NewTask(host, keyId, 3.6m);
            task.CallbackUrl = "https://hooks.example.com/seedance";
            var answer = idempotencyKey is null ? null : new IdempotencyRecord
            {
                KeyId = keyId, IdempotencyKey = idempotencyKey, RequestHash = [1], ResponseBody = "{}", ResponseStatus = 200, CreatedAt = host.Now,
            };
            Assert.True((await tasks.SubmitAsync(task, [], answer, default)).Accepted);
            Assert.Equal(HandOver.Queued, await tasks.QueueAsync(task.TaskId, "sandbox", false, "up-" + task.TaskId, default));
            Assert.True(await tasks.FailAsync(task, VideoTaskStatus.Active, "CONTENT_MODERATION_FAILED", "Refused", default));
            return task.TaskId;
        }
        async Task<(int Answers, int Slots, int Deliveries, int Attempts, bool FinishedJob, bool StalledJob)> LeftAsync() => (
            await host.ReadAsync(db => db.IdempotencyRecords.CountAsync()),
            await host.ReadAsync(db => db.Uploads.CountAsync()),
            await host.ReadAsync(db => db.WebhookDeliveries.CountAsync()),
            await host.ReadAsync(db => db.WebhookAttempts.CountAsync()),
            Directory.Exists(JobDir(finishedJob)), Directory.Exists(JobDir(stalledJob)));
        string JobDir(string job) => Path.Combine(host.Get<IOptions<SeedanceOptions>>().Value.DataPath, "sandbox", job);

        await housekeeping.RunOnceAsync(default);
        Assert.Equal((1, 1, 2, 1, true, true), await LeftAsync());

        host.Clock.Advance(TimeSpan.FromHours(2)); // the slot's URL expired an hour ago
        await housekeeping.RunOnceAsync(default);
        Assert.Equal((1, 0, 2, 1, true, true), await LeftAsync());

        host.Clock.Advance(TimeSpan.FromHours(23)); // 25 h: past the Idempotency-Key's 24 h
        await housekeeping.RunOnceAsync(default);
        Assert.Equal((0, 0, 2, 1, true, true), await LeftAsync());

        host.Clock.Advance(TimeSpan.FromDays(7)); // 8 days: past the sandbox jobs' 7
        await housekeeping.RunOnceAsync(default);
        Assert.Equal((0, 0, 2, 1, false, true), await LeftAsync());

        host.Clock.Advance(TimeSpan.FromDays(23)); // 31 days: past the deliveries' 30; the one still being tried stays
        await housekeeping.RunOnceAsync(default);
        Assert.Equal((0, 0, 1, 0, false, true), await LeftAsync());
        Assert.Equal(retrying, await host.ReadAsync(db => db.WebhookDeliveries.Select(d => d.TaskId).SingleAsync()));

        Assert.Equal(2, await host.ReadAsync(db => db.Tasks.CountAsync(t => t.KeyId == keyId)));
        Assert.Equal(ledgerEntries, await host.ReadAsync(db => db.Ledger.CountAsync()));
    }

    [Fact]
    public async Task ShorterRetentionsSetByTheOperatorPruneSooner()
    {
        await using var host = await StoreHost.StartAsync(settings: new()
        {
            ["Seedance:Retention:WebhookDays"] = "2", ["Seedance:Retention:ExpiredUploadSlotHours"] = "12",
        });
        var services = host.Get<IServiceProvider>();
        using var sandbox = ActivatorUtilities.CreateInstance<SandboxProvider>(services);
        var housekeeping = NewHousekeeping(services, sandbox);
        var keyId = await TaskStoreTests.NewKeyAsync(host, credits: 100m);
        var task = TaskStoreTests.NewTask(host, keyId, 3.6m);
        task.CallbackUrl = "https://hooks.example.com/seedance";
        Assert.True((await host.Get<TaskStore>().SubmitAsync(task, [], null, default)).Accepted);
        Assert.True(await host.Get<TaskStore>().CancelAsync(task, [VideoTaskStatus.Pending], default));
        var delivery = await host.ReadAsync(db => db.WebhookDeliveries.AsNoTracking().SingleAsync());
        (delivery.Attempts, delivery.Status) = (1, DeliveryStatus.Failed);
        await host.Get<CallbackOutbox>().RecordAttemptAsync(delivery,
            new WebhookAttempt { DeliveryId = delivery.Id, Number = 1, AttemptedAt = host.Now, HttpStatus = 410, Error = "HTTP 410", DurationMs = 3 }, default);
        await host.Get<UploadStore>().CreateSlotAsync(new UploadedFile
        {
            KeyId = keyId, FilePath = $"api/uploads/{keyId}/never-used.png", ContentType = "image/png", CreatedAt = host.Now, ExpiresAt = host.Now.AddHours(1),
        }, default);

        host.Clock.Advance(TimeSpan.FromHours(12)); // the slot expired 11 h ago: within its 12
        await housekeeping.RunOnceAsync(default);
        Assert.Equal((1, 1), (await host.ReadAsync(db => db.Uploads.CountAsync()), await host.ReadAsync(db => db.WebhookDeliveries.CountAsync())));

        host.Clock.Advance(TimeSpan.FromHours(37)); // 49 h
        await housekeeping.RunOnceAsync(default);
        Assert.Equal((0, 0, 0), (await host.ReadAsync(db => db.Uploads.CountAsync()), await host.ReadAsync(db => db.WebhookDeliveries.CountAsync()),
            await host.ReadAsync(db => db.WebhookAttempts.CountAsync())));
    }

    /// <summary>The server's housekeeping over the stores' host: with the sandbox, and the one sandbox channel (nothing to reconcile).</summary>
    private static Housekeeping NewHousekeeping(IServiceProvider services, SandboxProvider sandbox)
    {
        var channels = ActivatorUtilities.CreateInstance<ChannelPool>(services, new WithSandbox(services, sandbox));
        return ActivatorUtilities.CreateInstance<Housekeeping>(services, sandbox, channels, ActivatorUtilities.CreateInstance<Reconciliation>(services, channels));
    }

    /// <summary>The host's services and the test's sandbox, which the stores' host does not register.</summary>
    private sealed class WithSandbox(IServiceProvider services, SandboxProvider sandbox) : IServiceProvider
    {
        public object? GetService(Type type) => type == typeof(SandboxProvider) ? sandbox : services.GetService(type);
    }

    private static ProviderRequest Request(string prompt) => new(
        Guid.CreateVersion7().ToString("N"), "seedance-2.0", [new ProviderContent("text", prompt, null, null, null, null)], "480p", "16:9", 4,
        GenerateAudio: false, Seed: null, Watermark: false, ReturnLastFrame: false, ExpiresAfter: TimeSpan.FromHours(48));
}
