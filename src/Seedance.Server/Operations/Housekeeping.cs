using Microsoft.Extensions.Options;
using Seedance.Server.Data;
using Seedance.Server.Infrastructure;
using Seedance.Server.Providers.Sandbox;
using Seedance.Server.Storage;
using Seedance.Server.Tasks;

namespace Seedance.Server.Operations;

/// <summary>
/// Forgets what has outlived its use, each after its <c>Seedance:Retention:*</c> age: Idempotency-Key answers past their
/// 24 h window, upload slots whose presigned URL expired without a file ever being taken in, finished callback
/// deliveries with their attempts, and the sandbox's finished jobs. With an S3 store the bytes go straight to the
/// bucket, so an unused slot may still have an object there (uploaded, never used by a task): it is deleted with the
/// slot. And finished tasks' result files past their retention (<see cref="TaskResults"/>). The ledger and the tasks
/// themselves are never pruned.
/// </summary>
public sealed class Housekeeping(IServiceScopeFactory scopes, IdempotencyStore idempotency, UploadStore uploads, CallbackOutbox outbox, FileStore store,
    TaskResults results, SandboxProvider sandbox, IOptions<SeedanceOptions> options, TimeProvider clock, ILogger<Housekeeping> logger)
    : PeriodicWorker(clock, logger)
{
    protected override TimeSpan Interval => TimeSpan.FromMinutes(10);
    private const int Batch = 500;

    private RetentionOptions Retention => options.Value.Retention;

    public override async Task<bool> RunOnceAsync(CancellationToken ct)
    {
        var now = Clock.GetUtcNow().UtcDateTime;
        var answers = await idempotency.PruneAsync(now.AddHours(-Retention.IdempotencyHours), ct);
        var slotsExpiredBy = now.AddHours(-Retention.ExpiredUploadSlotHours);
        int slots;
        if (store.SignsOwnLinks)
        {
            List<UploadedFile> stale;
            await using (var scope = scopes.CreateAsyncScope())
                stale = await uploads.UnusedAsync(scope.ServiceProvider.GetRequiredService<SeedanceDb>(), slotsExpiredBy, Batch, ct);
            foreach (var slot in stale) await store.DeleteAsync(slot.FilePath, ct);
            slots = await uploads.ForgetUnusedAsync(stale.Select(s => s.Id).ToArray(), slotsExpiredBy, ct);
        }
        else slots = await uploads.ForgetUnusedAsync(null, slotsExpiredBy, ct);
        var deliveries = await outbox.PruneAsync(now.AddDays(-Retention.WebhookDays), Batch, ct);
        var jobs = await sandbox.PruneFinishedAsync(Clock.GetUtcNow().AddDays(-Retention.SandboxJobDays), Batch, ct);
        if (answers + slots + deliveries + jobs > 0)
            Logger.LogInformation("Forgot {Answers} idempotency answers, {Slots} unused upload slots, {Deliveries} finished callback deliveries and {Jobs} sandbox jobs",
                answers, slots, deliveries, jobs);
        var removed = await results.RemoveExpiredAsync(Batch, ct);
        return (store.SignsOwnLinks && slots == Batch) || deliveries == Batch || jobs == Batch || removed == Batch;
    }
}
