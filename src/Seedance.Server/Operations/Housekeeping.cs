using Microsoft.EntityFrameworkCore;
using Seedance.Server.Data;
using Seedance.Server.Tasks;

namespace Seedance.Server.Operations;

/// <summary>
/// Forgets what has outlived its use: Idempotency-Key answers older than their 24 h window, and upload
/// slots whose presigned URL expired without a file ever arriving.
/// </summary>
public sealed class Housekeeping(IServiceScopeFactory scopes, TimeProvider clock, ILogger<Housekeeping> logger) : BackgroundService
{
    private static readonly TimeSpan Interval = TimeSpan.FromMinutes(10);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try { await SweepAsync(stoppingToken); }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { return; }
            catch (Exception e) { logger.LogError(e, "Housekeeping failed; retrying next round"); }
            await Task.Delay(Interval, clock, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    public async Task SweepAsync(CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<SeedanceDb>();
        var now = clock.GetUtcNow().UtcDateTime;
        var idempotencyCutoff = now - TaskSubmission.IdempotencyWindow;
        var answers = await db.IdempotencyRecords.Where(r => r.CreatedAt <= idempotencyCutoff).ExecuteDeleteAsync(ct);
        var slots = await db.Uploads.Where(f => f.UploadedAt == null && f.ExpiresAt <= now).ExecuteDeleteAsync(ct);
        if (answers + slots > 0) logger.LogInformation("Forgot {Answers} idempotency answers and {Slots} unused upload slots", answers, slots);
    }
}
