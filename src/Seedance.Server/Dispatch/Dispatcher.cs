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
    : PeriodicWorker(clock, logger)
{
    private const int BatchLimit = 256;
    private const int MaxParallelSubmissions = 8;

    protected override TimeSpan Interval => TimeSpan.FromSeconds(options.Value.Tasks.DispatchIntervalSeconds);

    /// <summary>One round: picks what may start now and hands it over; true when it handed any over.</summary>
    public override async Task<bool> RunOnceAsync(CancellationToken ct)
    {
        var picked = await PickAsync(ct);
        await Parallel.ForEachAsync(picked, new ParallelOptions { MaxDegreeOfParallelism = MaxParallelSubmissions, CancellationToken = ct },
            async (task, token) => await HandOverAsync(task, token));
        return picked.Count > 0;
    }

    private async Task<List<VideoTask>> PickAsync(CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<SeedanceDb>();
        var now = Clock.GetUtcNow().UtcDateTime;
        var waiting = await db.Tasks.AsNoTracking()
            .Where(t => t.Status == TaskStatus.Pending && (t.RetryAt == null || t.RetryAt <= now))
            .GroupBy(t => t.KeyId).Select(g => new { KeyId = g.Key, Oldest = g.Min(t => t.Seq) })
            .ToListAsync(ct);
        if (waiting.Count == 0) return [];

        var keyIds = waiting.Select(w => w.KeyId).ToList();
        var limits = await db.ApiKeys.AsNoTracking().Where(k => keyIds.Contains(k.Id)).ToDictionaryAsync(k => k.Id, k => k.MaxConcurrent, ct);
        var active = await db.Tasks.AsNoTracking()
            .Where(t => keyIds.Contains(t.KeyId) && TaskStatus.Active.Contains(t.Status))
            .GroupBy(t => t.KeyId).Select(g => new { KeyId = g.Key, Count = g.Count() })
            .ToDictionaryAsync(g => g.KeyId, g => g.Count, ct);

        // Per key with free slots, its oldest waiting tasks; keys in the order of their oldest waiting task.
        // (One query per such key: a single query over all pending tasks would let one key's backlog hide the others.)
        var queues = new List<Queue<VideoTask>>();
        foreach (var key in waiting.OrderBy(w => w.Oldest))
        {
            var free = limits.GetValueOrDefault(key.KeyId) - active.GetValueOrDefault(key.KeyId);
            if (free <= 0) continue;
            queues.Add(new Queue<VideoTask>(await db.Tasks.AsNoTracking()
                .Where(t => t.KeyId == key.KeyId && t.Status == TaskStatus.Pending && (t.RetryAt == null || t.RetryAt <= now))
                .OrderBy(t => t.Seq).Take(Math.Min(free, BatchLimit)).ToListAsync(ct)));
        }

        // Round-robin: one task of each key in turn.
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
        using var _ = Logger.BeginScope(new Dictionary<string, object> { ["TaskId"] = task.TaskId });

        string providerTaskId;
        try
        {
            providerTaskId = await provider.SubmitAsync(ProviderRequests.For(task), ct);
        }
        catch (ProviderException e) when (e.UserFault)
        {
            Logger.LogInformation("Upstream refused task {TaskId}: {Code}", task.TaskId, e.Code);
            await lifecycle.FailAsync(task, [TaskStatus.Pending], e.Code, e.Message, ct);
            return;
        }
        catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            await RetryLaterAsync(task, lifecycle, e, ct);
            return;
        }

        // The upstream has the task now: record that even if the server is stopping, or it would be handed over twice.
        var moved = await lifecycle.MoveAsync(task.TaskId, [TaskStatus.Pending], TaskStatus.Queued, s => s
            .SetProperty(t => t.Provider, provider.Name)
            .SetProperty(t => t.ProviderTaskId, providerTaskId)
            .SetProperty(t => t.RetryAt, (DateTime?)null), CancellationToken.None);
        if (moved)
        {
            Logger.LogInformation("Task {TaskId} queued at {Provider} as {ProviderTaskId}", task.TaskId, provider.Name, providerTaskId);
            return;
        }
        // Cancelled or expired while it was being handed over: take it back from the upstream.
        Logger.LogInformation("Task {TaskId} left pending during hand-over; cancelling it upstream", task.TaskId);
        await UpstreamCancel.TryAsync(provider, providerTaskId, Logger, ct);
    }

    /// <summary>The upstream could not take the task: try again with backoff, and give up (uncharged) after the configured attempts.</summary>
    private async Task RetryLaterAsync(VideoTask task, TaskLifecycle lifecycle, Exception e, CancellationToken ct)
    {
        var attempts = task.DispatchAttempts + 1;
        if (attempts >= options.Value.Tasks.MaxSubmitAttempts)
        {
            Logger.LogError(e, "Giving up handing task {TaskId} over after {Attempts} attempts", task.TaskId, attempts);
            await lifecycle.FailAsync(task, [TaskStatus.Pending], "TASK_SUBMIT_FAILED", "Task submission failed, please retry", ct);
            return;
        }
        var retryAt = lifecycle.Now.AddSeconds(Math.Min(60, Math.Pow(2, attempts)));
        Logger.LogWarning(e, "Handing task {TaskId} over failed (attempt {Attempts}); retrying at {RetryAt}", task.TaskId, attempts, retryAt);
        await lifecycle.DeferAsync(task.TaskId, TaskStatus.Pending, retryAt, s => s.SetProperty(t => t.DispatchAttempts, attempts), ct);
    }
}

/// <summary>Best-effort withdrawal of a task from the upstream, where our side no longer wants it.</summary>
public static class UpstreamCancel
{
    public static async Task TryAsync(IVideoProvider provider, string providerTaskId, ILogger Logger, CancellationToken ct)
    {
        try { await provider.CancelAsync(providerTaskId, ct); }
        catch (Exception e) when (e is not OperationCanceledException) { Logger.LogWarning(e, "Upstream cancel of {ProviderTaskId} failed", providerTaskId); }
    }
}
