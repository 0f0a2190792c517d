using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Seedance.Server.Data;
using Seedance.Server.Infrastructure;
using Seedance.Server.Providers;
using Seedance.Server.Tasks;
using TaskStatus = Seedance.Server.Tasks.TaskStatus;

namespace Seedance.Server.Dispatch;

/// <summary>
/// Moves <c>pending</c> tasks to the provider within each key's concurrency limit: first in, first out
/// per key, and round-robin across keys so one busy key cannot starve the others.
/// </summary>
public sealed class Dispatcher(IServiceScopeFactory scopes, IOptions<SeedanceOptions> options, TimeProvider clock, ILogger<Dispatcher> logger)
    : BackgroundService
{
    private const int BatchLimit = 256;
    private const int MaxParallelSubmissions = 8;
    private const int MaxUnexpectedFailures = 5;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = TimeSpan.FromSeconds(options.Value.Tasks.DispatchIntervalSeconds);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (await DispatchOnceAsync(stoppingToken) > 0) continue; // more may be waiting
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { return; }
            catch (Exception e) { logger.LogError(e, "Dispatch round failed; retrying next tick"); }
            await Task.Delay(interval, clock, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    /// <summary>One round: picks what may start now and hands it over. Returns how many were handed over.</summary>
    public async Task<int> DispatchOnceAsync(CancellationToken ct)
    {
        var picked = await PickAsync(ct);
        await Parallel.ForEachAsync(picked, new ParallelOptions { MaxDegreeOfParallelism = MaxParallelSubmissions, CancellationToken = ct },
            async (task, token) => await HandOverAsync(task, token));
        return picked.Count;
    }

    private async Task<List<VideoTask>> PickAsync(CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<SeedanceDb>();
        var now = clock.GetUtcNow().UtcDateTime;
        var waiting = await db.Tasks.AsNoTracking()
            .Where(t => t.Status == TaskStatus.Pending && (t.RetryAt == null || t.RetryAt <= now))
            .GroupBy(t => t.KeyId).Select(g => new { KeyId = g.Key, Oldest = g.Min(t => t.Seq) })
            .ToListAsync(ct);
        if (waiting.Count == 0) return [];

        var keyIds = waiting.Select(w => w.KeyId).ToList();
        var limits = await db.ApiKeys.AsNoTracking().Where(k => keyIds.Contains(k.Id)).ToDictionaryAsync(k => k.Id, k => k.MaxConcurrent, ct);
        var active = await db.Tasks.AsNoTracking()
            .Where(t => keyIds.Contains(t.KeyId) && (t.Status == TaskStatus.Queued || t.Status == TaskStatus.Processing))
            .GroupBy(t => t.KeyId).Select(g => new { KeyId = g.Key, Count = g.Count() })
            .ToDictionaryAsync(g => g.KeyId, g => g.Count, ct);

        var queues = new List<Queue<VideoTask>>();
        foreach (var key in waiting.OrderBy(w => w.Oldest))
        {
            var free = limits.GetValueOrDefault(key.KeyId) - active.GetValueOrDefault(key.KeyId);
            if (free <= 0) continue;
            var tasks = await db.Tasks.AsNoTracking()
                .Where(t => t.KeyId == key.KeyId && t.Status == TaskStatus.Pending && (t.RetryAt == null || t.RetryAt <= now))
                .OrderBy(t => t.Seq).Take(Math.Min(free, BatchLimit)).ToListAsync(ct);
            queues.Add(new Queue<VideoTask>(tasks));
        }

        // Round-robin: one task of each key in turn, the key waiting longest first.
        var picked = new List<VideoTask>();
        while (picked.Count < BatchLimit && queues.Any(q => q.Count > 0))
            foreach (var queue in queues.Where(q => q.Count > 0))
                if (picked.Count < BatchLimit) picked.Add(queue.Dequeue());
        return picked;
    }

    private async Task HandOverAsync(VideoTask task, CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var lifecycle = scope.ServiceProvider.GetRequiredService<TaskLifecycle>();
        var provider = scope.ServiceProvider.GetRequiredService<ProviderRegistry>().Get(options.Value.Provider);
        using var _ = logger.BeginScope(new Dictionary<string, object> { ["TaskId"] = task.TaskId });

        string providerTaskId;
        try
        {
            providerTaskId = await provider.SubmitAsync(ProviderRequests.For(task), ct);
        }
        catch (ProviderException e) when (e.UserFault)
        {
            logger.LogInformation("Upstream refused task {TaskId}: {Code}", task.TaskId, e.Code);
            await lifecycle.FailAsync(task, [TaskStatus.Pending], e.Code, e.Message, ct);
            return;
        }
        catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            var attempts = task.DispatchAttempts + 1;
            if (e is not ProviderException && attempts >= MaxUnexpectedFailures)
            {
                logger.LogError(e, "Giving up handing task {TaskId} over after {Attempts} attempts", task.TaskId, attempts);
                await lifecycle.FailAsync(task, [TaskStatus.Pending], "TASK_SUBMIT_FAILED", "Task submission failed, please retry", ct);
                return;
            }
            var retryAt = lifecycle.Now.AddSeconds(Math.Min(60, Math.Pow(2, attempts)));
            logger.LogWarning(e, "Handing task {TaskId} over failed (attempt {Attempts}); retrying at {RetryAt}", task.TaskId, attempts, retryAt);
            await lifecycle.MoveAsync(task.TaskId, [TaskStatus.Pending], TaskStatus.Pending, s => s
                .SetProperty(t => t.DispatchAttempts, attempts)
                .SetProperty(t => t.RetryAt, retryAt), ct);
            return;
        }

        var moved = await lifecycle.MoveAsync(task.TaskId, [TaskStatus.Pending], TaskStatus.Queued, s => s
            .SetProperty(t => t.Provider, provider.Name)
            .SetProperty(t => t.ProviderTaskId, providerTaskId), ct);
        if (moved)
        {
            logger.LogInformation("Task {TaskId} queued at {Provider} as {ProviderTaskId}", task.TaskId, provider.Name, providerTaskId);
            return;
        }
        // Cancelled or expired while it was being handed over: take it back from the upstream.
        logger.LogInformation("Task {TaskId} left pending during hand-over; cancelling it upstream", task.TaskId);
        try { await provider.CancelAsync(providerTaskId, ct); }
        catch (Exception e) when (e is not OperationCanceledException) { logger.LogWarning(e, "Upstream cancel of {TaskId} failed", task.TaskId); }
    }
}
