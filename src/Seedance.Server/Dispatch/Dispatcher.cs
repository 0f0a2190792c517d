using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Seedance.Server.Channels;
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
public sealed class Dispatcher(IServiceScopeFactory scopes, ChannelPool channels, IOptions<SeedanceOptions> options, TimeProvider clock, ILogger<Dispatcher> logger)
    : PeriodicWorker(clock, logger)
{
    private const int BatchLimit = 256;
    private const int MaxParallelSubmissions = 8;

    protected override TimeSpan Interval => TimeSpan.FromSeconds(options.Value.Tasks.DispatchIntervalSeconds);

    /// <summary>One round: picks what may start now and hands it over; true when it handed any over.</summary>
    public override async Task<bool> RunOnceAsync(CancellationToken ct)
    {
        var (picked, inFlight) = await PickAsync(ct);
        var handedOver = 0;
        await Parallel.ForEachAsync(picked, new ParallelOptions { MaxDegreeOfParallelism = MaxParallelSubmissions, CancellationToken = ct },
            async (task, _) =>
            {
                // The round's own token is not used: one failing hand-over must not cancel the others mid-submission.
                try
                {
                    if (await HandOverAsync(task, inFlight, ct)) Interlocked.Increment(ref handedOver);
                }
                catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
                {
                    Logger.LogError(e, "Handing task {TaskId} over failed; it stays pending", task.TaskId);
                }
            });
        return handedOver > 0;
    }

    private async Task<(List<VideoTask> Picked, Dictionary<string, int> InFlight)> PickAsync(CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<SeedanceDb>();
        var now = Clock.GetUtcNow().UtcDateTime;
        var waiting = await db.Tasks.AsNoTracking()
            .Where(t => t.Status == TaskStatus.Pending && (t.RetryAt == null || t.RetryAt <= now))
            .GroupBy(t => t.KeyId).Select(g => new { KeyId = g.Key, Oldest = g.Min(t => t.Seq) })
            .ToListAsync(ct);
        if (waiting.Count == 0) return ([], []);

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

        var inFlight = await db.Tasks.AsNoTracking()
            .Where(t => TaskStatus.Active.Contains(t.Status) && t.Provider != null)
            .GroupBy(t => t.Provider!).Select(g => new { Channel = g.Key, Count = g.Count() })
            .ToDictionaryAsync(g => g.Channel, g => g.Count, ct);
        return (picked, inFlight);
    }

    /// <summary>
    /// Offers the task to the channels in order of preference until one takes it. A refusal that is the
    /// user's fails the task; a channel's own failure or rate limit moves on to the next channel.
    /// </summary>
    private async Task<bool> HandOverAsync(VideoTask task, Dictionary<string, int> inFlight, CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var lifecycle = scope.ServiceProvider.GetRequiredService<TaskLifecycle>();
        using var _ = Logger.BeginScope(new Dictionary<string, object> { ["TaskId"] = task.TaskId });
        var request = ProviderRequests.For(task, lifecycle.Now);
        var tried = new HashSet<string>();
        Exception? lastFailure = null;
        var onlyRateLimited = true;

        while (Take(task.Model, inFlight, tried) is { } channel)
        {
            tried.Add(channel.Name);
            string providerTaskId;
            try
            {
                providerTaskId = await channel.Provider.SubmitAsync(request, ct);
                channel.RecordSuccess();
            }
            catch (ProviderException e) when (e.UserFault)
            {
                channel.RecordSuccess();
                Release(inFlight, channel);
                Logger.LogInformation("Upstream {Channel} refused task {TaskId}: {Code}", channel.Name, task.TaskId, e.Code);
                await lifecycle.FailAsync(task, [TaskStatus.Pending], e.Code, e.Message, ct);
                return false;
            }
            catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                Release(inFlight, channel);
                var rateLimited = e is ProviderException { Fault: ProviderFault.RateLimited };
                if (!rateLimited) channel.RecordFailure(e.Message, lifecycle.Now);
                onlyRateLimited &= rateLimited;
                lastFailure = e;
                Logger.LogWarning(e, "Channel {Channel} did not take task {TaskId}; trying the next", channel.Name, task.TaskId);
                continue;
            }

            // The upstream has the task now: record that even if the server is stopping, or it would be handed over twice.
            var moved = await lifecycle.MoveAsync(task.TaskId, [TaskStatus.Pending], TaskStatus.Queued, s => s
                .SetProperty(t => t.Provider, channel.Name)
                .SetProperty(t => t.ProviderTaskId, providerTaskId)
                .SetProperty(t => t.RetryAt, (DateTime?)null), CancellationToken.None);
            if (moved)
            {
                Logger.LogInformation("Task {TaskId} queued at {Channel} as {ProviderTaskId}", task.TaskId, channel.Name, providerTaskId);
                return true;
            }
            // Cancelled or expired while it was being handed over: take it back from the upstream.
            Logger.LogInformation("Task {TaskId} left pending during hand-over; cancelling it upstream", task.TaskId);
            await UpstreamCancel.TryAsync(channel.Provider, providerTaskId, Logger, ct);
            return false;
        }

        if (lastFailure is null) return false; // every channel is full or cooling down: the task waits its turn
        if (onlyRateLimited)
        {
            // Rate limits and quotas are the upstream's to lift: the task waits, and this never counts against it.
            var retryAt = lifecycle.Now.AddSeconds(5 + Random.Shared.NextDouble() * 5);
            await lifecycle.DeferAsync(task.TaskId, TaskStatus.Pending, retryAt, ct: ct);
            return false;
        }
        await RetryLaterAsync(task, lifecycle, lastFailure, ct);
        return false;
    }

    private Channel? Take(string model, Dictionary<string, int> inFlight, IReadOnlySet<string> tried)
    {
        lock (inFlight)
        {
            var channel = channels.Pick(model, inFlight, tried, Clock.GetUtcNow().UtcDateTime);
            if (channel is not null) inFlight[channel.Name] = inFlight.GetValueOrDefault(channel.Name) + 1;
            return channel;
        }
    }

    private static void Release(Dictionary<string, int> inFlight, Channel channel)
    {
        lock (inFlight) inFlight[channel.Name]--;
    }

    /// <summary>The upstream could not take the task: try again with backoff, and give up (uncharged) after the configured attempts.</summary>
    private async Task RetryLaterAsync(VideoTask task, TaskLifecycle lifecycle, Exception e, CancellationToken ct)
    {
        var attempts = task.DispatchAttempts + 1;
        if (attempts >= options.Value.Tasks.MaxSubmitAttempts)
        {
            Logger.LogError(e, "Giving up handing task {TaskId} over after {Attempts} attempts", task.TaskId, attempts);
            var (code, message) = e is ProviderException { Code: "SERVICE_BUSY" }
                ? ("SERVICE_BUSY", "Service busy: no upstream could take the task, please retry later")
                : ("TASK_SUBMIT_FAILED", "Task submission failed, please retry");
            await lifecycle.FailAsync(task, [TaskStatus.Pending], code, message, ct);
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
