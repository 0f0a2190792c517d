using Microsoft.EntityFrameworkCore;
using Seedance.Server.Data;
using Seedance.Server.Infrastructure;
using Seedance.Server.Storage;
using Seedance.Server.Tasks;

namespace Seedance.Server.Operations;

/// <summary>
/// Forgets what has outlived its use: Idempotency-Key answers older than their 24 h window, and upload
/// slots whose presigned URL expired without a file ever being taken in. With an S3 store the bytes go
/// straight to the bucket, so such a slot may still have an object there (uploaded, never used by a
/// task): it is deleted with the slot.
/// </summary>
public sealed class Housekeeping(IServiceScopeFactory scopes, FileStore store, TimeProvider clock, ILogger<Housekeeping> logger) : PeriodicWorker(clock, logger)
{
    protected override TimeSpan Interval => TimeSpan.FromMinutes(10);
    private const int Batch = 500;

    public override async Task<bool> RunOnceAsync(CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<SeedanceDb>();
        var now = Clock.GetUtcNow().UtcDateTime;
        var idempotencyCutoff = now - TaskSubmission.IdempotencyWindow;
        var answers = await db.IdempotencyRecords.Where(r => r.CreatedAt <= idempotencyCutoff).ExecuteDeleteAsync(ct);
        var unused = db.Uploads.Where(f => f.UploadedAt == null && f.ReferencedAt == null && f.ExpiresAt <= now);
        var slots = 0;
        if (store.SignsOwnLinks)
        {
            var stale = await unused.OrderBy(f => f.Id).Select(f => new { f.Id, f.FilePath }).Take(Batch).ToListAsync(ct);
            foreach (var slot in stale) await store.DeleteAsync(slot.FilePath, ct);
            var ids = stale.Select(s => s.Id).ToArray();
            slots = await db.Uploads.Where(f => ids.Contains(f.Id) && f.UploadedAt == null && f.ReferencedAt == null).ExecuteDeleteAsync(ct);
        }
        else slots = await unused.ExecuteDeleteAsync(ct);
        if (answers + slots > 0) Logger.LogInformation("Forgot {Answers} idempotency answers and {Slots} unused upload slots", answers, slots);
        return store.SignsOwnLinks && slots == Batch;
    }
}
