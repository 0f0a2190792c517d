using Seedance.Server.Data;
using Seedance.Server.Infrastructure;
using Seedance.Server.Storage;
using Seedance.Server.Tasks;

namespace Seedance.Server.Operations;

/// <summary>
/// Forgets what has outlived its use: Idempotency-Key answers older than their 24 h window, and upload
/// slots whose presigned URL expired without a file ever being taken in. With an S3 store the bytes go
/// straight to the bucket, so such a slot may still have an object there (uploaded, never used by a
/// task): it is deleted with the slot. And finished tasks' result files past their retention (<see cref="TaskResults"/>).
/// </summary>
public sealed class Housekeeping(IServiceScopeFactory scopes, IdempotencyStore idempotency, UploadStore uploads, FileStore store, TaskResults results,
    TimeProvider clock, ILogger<Housekeeping> logger) : PeriodicWorker(clock, logger)
{
    protected override TimeSpan Interval => TimeSpan.FromMinutes(10);
    private const int Batch = 500;

    public override async Task<bool> RunOnceAsync(CancellationToken ct)
    {
        var now = Clock.GetUtcNow().UtcDateTime;
        var answers = await idempotency.PruneAsync(now, ct);
        var slots = 0;
        if (store.SignsOwnLinks)
        {
            List<UploadedFile> stale;
            await using (var scope = scopes.CreateAsyncScope())
                stale = await uploads.UnusedAsync(scope.ServiceProvider.GetRequiredService<SeedanceDb>(), now, Batch, ct);
            foreach (var slot in stale) await store.DeleteAsync(slot.FilePath, ct);
            slots = await uploads.ForgetUnusedAsync(stale.Select(s => s.Id).ToArray(), now, ct);
        }
        else slots = await uploads.ForgetUnusedAsync(null, now, ct);
        if (answers + slots > 0) Logger.LogInformation("Forgot {Answers} idempotency answers and {Slots} unused upload slots", answers, slots);
        var removed = await results.RemoveExpiredAsync(Batch, ct);
        return (store.SignsOwnLinks && slots == Batch) || removed == Batch;
    }
}
