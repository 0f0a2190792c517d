using Microsoft.Extensions.Options;
using Seedance.Server.Channels;
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
/// Once a day it reconciles each Ark channel's task list with ours (<see cref="Reconciliation"/>), over the day since the
/// last run; the first run comes an hour after the start, so that a node restarted often still runs it and a test
/// server never does unasked.
/// </summary>
public sealed class Housekeeping(IServiceScopeFactory scopes, IdempotencyStore idempotency, UploadStore uploads, CallbackOutbox outbox, FileStore store,
    TaskResults results, SandboxProvider sandbox, ChannelPool channels, Reconciliation reconciliation, IOptions<SeedanceOptions> options,
    TimeProvider clock, ILogger<Housekeeping> logger)
    : PeriodicWorker(clock, logger)
{
    protected override TimeSpan Interval => TimeSpan.FromMinutes(10);
    private const int Batch = 500;
    private static readonly TimeSpan ReconcileEvery = TimeSpan.FromDays(1), FirstReconcileAfter = TimeSpan.FromHours(1);
    /// <summary>The newest tasks are left to the next run: a hand-over in flight would look like an orphan for a moment.</summary>
    private static readonly TimeSpan ReconcileLag = TimeSpan.FromMinutes(10);
    private DateTime? _reconciledUpTo;
    private readonly DateTime _started = clock.GetUtcNow().UtcDateTime;

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
        await ReconcileIfDueAsync(now, ct);
        return (store.SignsOwnLinks && slots == Batch) || deliveries == Batch || jobs == Batch || removed == Batch;
    }

    /// <summary>Reconciles every Ark channel over the day since the last run, once that day is over; a channel that fails is logged and skipped.</summary>
    private async Task ReconcileIfDueAsync(DateTime now, CancellationToken ct)
    {
        var to = now - ReconcileLag;
        if (now - _started < FirstReconcileAfter || (_reconciledUpTo is { } last && to - last < ReconcileEvery)) return;
        var from = _reconciledUpTo ?? to - ReconcileEvery;
        if (from < now - Reconciliation.UpstreamKeeps) from = now - Reconciliation.UpstreamKeeps;
        foreach (var channel in channels.All.Where(c => c.Options.Provider == "ark"))
        {
            try
            {
                var report = await reconciliation.RunAsync(channel.Name, new ReportPeriod(from, to), options.Value.Reconciliation.CancelOrphans, ct);
                Logger.LogInformation("Reconciled channel {Channel} from {From:u} to {To:u}: {Matched} matched, {Missing} unknown upstream, {Orphans} orphans, " +
                    "{Mismatches} status mismatches", channel.Name, from, to, report.Matched, report.MissingUpstream.Count, report.Orphans.Count, report.StatusMismatches.Count);
            }
            catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                Logger.LogWarning(e, "Reconciling channel {Channel} failed; the next run covers its period again", channel.Name);
                return;
            }
        }
        _reconciledUpTo = to;
    }
}
