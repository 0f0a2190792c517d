using Microsoft.EntityFrameworkCore;
using Seedance.Server.Data;
using Seedance.Server.Infrastructure;
using Seedance.Server.Tasks;

namespace Seedance.Server.Operations;

/// <summary>
/// Forgets what has outlived its use: Idempotency-Key answers older than their 24 h window, and upload
/// slots whose presigned URL expired without a file ever arriving.
/// </summary>
public sealed class Housekeeping(IServiceScopeFactory scopes, TimeProvider clock, ILogger<Housekeeping> logger) : PeriodicWorker(clock, logger)
{
    protected override TimeSpan Interval => TimeSpan.FromMinutes(10);

    public override async Task<bool> RunOnceAsync(CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<SeedanceDb>();
        var now = Clock.GetUtcNow().UtcDateTime;
        var idempotencyCutoff = now - TaskSubmission.IdempotencyWindow;
        var answers = await db.IdempotencyRecords.Where(r => r.CreatedAt <= idempotencyCutoff).ExecuteDeleteAsync(ct);
        var slots = await db.Uploads.Where(f => f.UploadedAt == null && f.ExpiresAt <= now).ExecuteDeleteAsync(ct);
        if (answers + slots > 0) Logger.LogInformation("Forgot {Answers} idempotency answers and {Slots} unused upload slots", answers, slots);
        return false;
    }
}
