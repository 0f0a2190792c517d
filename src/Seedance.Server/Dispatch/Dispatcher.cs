using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Seedance.Server.Channels;
using Seedance.Server.Data;
using Seedance.Server.Infrastructure;
using Seedance.Server.Providers;

namespace Seedance.Server.Dispatch;

/// <summary>
/// Moves <c>pending</c> tasks to the provider within each key's concurrency limit: first in, first out
/// per key, and round-robin across keys so one busy key cannot starve the others. Several nodes dispatch
/// side by side: each hands over only the tasks it claimed (<see cref="Leases"/>), and gives back the claim
/// on a task it did not hand over.
/// </summary>
public sealed class Dispatcher(IServiceScopeFactory scopes, ChannelPool channels, TaskStore tasks, LeaseStore leases, IOptions<SeedanceOptions> options,
    SeedanceMetrics metrics, TimeProvider clock, ILogger<Dispatcher> logger)
    : PeriodicWorker(clock, logger), ITaskObserver
{
    private const int BatchLimit = 256;
    private const int MaxParallelSubmissions = 32;

    /// <summary>A new task starts the next round now.</summary>
    public ValueTask OnChangedAsync(TaskChanged change, CancellationToken ct)
    {
        if (change.IsNew) Wake();
        return ValueTask.CompletedTask;
    }

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
                var queued = false;
                try
                {
                    queued = await HandOverAsync(task, inFlight, ct);
                    if (queued) Interlocked.Increment(ref handedOver);
                }
                catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
                {
                    Logger.LogError(e, "Handing task {TaskId} over failed; it stays pending", task.TaskId);
                }
                finally
                {
                    // Handed over, the task stays this node's to track; otherwise the claim is given back.
                    if (!queued) await ReleaseAsync(task.TaskId);
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
            .Where(t => t.Status == VideoTaskStatus.Pending && (t.RetryAt == null || t.RetryAt <= now) && (t.LeaseExpiresAt == null || t.LeaseExpiresAt <= now))
            .GroupBy(t => t.KeyId).Select(g => new { KeyId = g.Key, Oldest = g.Min(t => t.Seq) })
            .ToListAsync(ct);
        if (waiting.Count == 0) return ([], []);

        // Per key with free slots, its oldest waiting tasks, claimed for this node; keys in the order of their oldest waiting task.
        // (One claim per such key: a single one over all pending tasks would let one key's backlog hide the others.)
        // Never more claimed than this round hands over: a claim left unused would be renewed by the heartbeat and block the task.
        var queues = new List<Queue<VideoTask>>();
        var budget = BatchLimit;
        foreach (var key in waiting.OrderBy(w => w.Oldest))
        {
            if (budget == 0) break;
            var claimed = await ClaimAsync(db, key.KeyId, budget, now, ct);
            budget -= claimed.Count;
            if (claimed.Count > 0) queues.Add(new Queue<VideoTask>(claimed));
        }

        // Round-robin: one task of each key in turn.
        var picked = new List<VideoTask>();
        while (picked.Count < BatchLimit && queues.Any(q => q.Count > 0))
            foreach (var queue in queues.Where(q => q.Count > 0))
                if (picked.Count < BatchLimit) picked.Add(queue.Dequeue());

        var inFlight = await db.Tasks.AsNoTracking()
            .Where(t => VideoTaskStatus.Active.Contains(t.Status) && t.ChannelName != null)
            .GroupBy(t => t.ChannelName!).Select(g => new { Channel = g.Key, Count = g.Count() })
            .ToDictionaryAsync(g => g.Channel, g => g.Count, ct);
        return (picked, inFlight);
    }

    /// <summary>Claims what fits into the key's free concurrency slots (<see cref="LeaseStore.ClaimPendingAsync"/>), and reads those tasks.</summary>
    private async Task<List<VideoTask>> ClaimAsync(SeedanceDb db, long keyId, int budget, DateTime now, CancellationToken ct)
    {
        var seqs = await leases.ClaimPendingAsync(keyId, budget, now, ct);
        return seqs.Count == 0 ? [] : await db.Tasks.AsNoTracking().Where(t => seqs.Contains(t.Seq)).OrderBy(t => t.Seq).ToListAsync(ct);
    }

    /// <summary>
    /// Offers the task to the channels in order of preference until one takes it. A refusal that is the
    /// user's fails the task; a channel's own failure or rate limit moves on to the next channel.
    /// </summary>
    private async Task<bool> HandOverAsync(VideoTask task, Dictionary<string, int> inFlight, CancellationToken ct)
    {
        using var span = SeedanceTracing.StartTask("seedance.task.dispatch", task.TaskId);
        using var _ = Logger.BeginScope(SeedanceTracing.TaskScope, task.TaskId);
        var request = ProviderRequests.For(task, tasks.Now);
        var tried = new HashSet<string>();
        Exception? lastFailure = null;
        var onlyRateLimited = true;

        if (task.HandOverStartedAt is not null)
        {
            // A node died while handing this task over: the upstream may have it, and a second hand-over could run it twice.
            Logger.LogWarning("The hand-over of task {TaskId} started at {StartedAt} was interrupted; failing it uncharged rather than risk running it twice upstream",
                task.TaskId, task.HandOverStartedAt);
            await tasks.FailAsync(task, [VideoTaskStatus.Pending], "TASK_SUBMIT_FAILED", "Task submission was interrupted, please retry", ct);
            return false;
        }

        while (Take(task.Model, inFlight, tried) is { } channel)
        {
            tried.Add(channel.Name);
            if (ct.IsCancellationRequested || !await leases.StartHandOverAsync(task.TaskId, tasks.Now, CancellationToken.None))
            {
                Release(inFlight, channel); // stopping, or the task is no longer this node's to hand over (cancelled, or its claim ran out)
                return false;
            }
            string providerTaskId;
            try
            {
                // Not cut short when the server stops: a submission abandoned half-way leaves the upstream's answer unknown.
                providerTaskId = await channel.Provider.SubmitAsync(request, CancellationToken.None);
                channel.RecordSuccess();
            }
            catch (ProviderException e) when (e.UserFault)
            {
                channel.RecordSuccess();
                Release(inFlight, channel);
                Logger.LogInformation("Upstream {Channel} refused task {TaskId}: {Code}", channel.Name, task.TaskId, e.Code);
                await tasks.FailAsync(task, [VideoTaskStatus.Pending], e.Code, e.Message, ct);
                return false;
            }
            catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                Release(inFlight, channel);
                var rateLimited = e is ProviderException { Fault: ProviderFault.RateLimited };
                if (!rateLimited) channel.RecordFailure(e.Message, tasks.Now);
                onlyRateLimited &= rateLimited;
                lastFailure = e;
                Logger.LogWarning(e, "Channel {Channel} did not take task {TaskId}; trying the next", channel.Name, task.TaskId);
                continue;
            }

            // The upstream has the task now: record that even if the server is stopping, or it would be handed over twice.
            var handedOver = await tasks.QueueAsync(task.TaskId, channel.Name, channel.Source == ChannelSource.Database, providerTaskId, CancellationToken.None);
            if (handedOver == HandOver.Queued)
            {
                metrics.TaskDispatched(tasks.Now - task.CreatedAt);
                span?.SetTag("seedance.channel", channel.Name);
                Logger.LogInformation("Task {TaskId} queued at {Channel} as {UpstreamTaskId}", task.TaskId, channel.Name, providerTaskId);
                return true;
            }
            if (handedOver == HandOver.ChannelRemoved)
            {
                // The operator removed the channel while it took the task: take it back there, and offer the task to the next.
                Logger.LogWarning("Channel {Channel} was removed while it took task {TaskId}; cancelling it there and trying the next", channel.Name, task.TaskId);
                await UpstreamCancel.TryAsync(channel.Provider, providerTaskId, Logger, ct);
                Release(inFlight, channel);
                continue;
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
            var retryAt = tasks.Now.AddSeconds(5 + Random.Shared.NextDouble() * 5);
            await tasks.DeferDispatchAsync(task.TaskId, retryAt, null, ct);
            return false;
        }
        await RetryLaterAsync(task, lastFailure, ct);
        return false;
    }

    /// <summary>Gives back the claim on a task that is still pending: it was not handed over, and any node may take it at its turn.</summary>
    private async Task ReleaseAsync(string taskId)
    {
        try { await leases.ReleasePendingAsync(taskId, CancellationToken.None); }
        catch (Exception e) { Logger.LogWarning(e, "Could not give back the claim on task {TaskId}; it runs out by itself", taskId); }
    }

    private UpstreamChannel? Take(string model, Dictionary<string, int> inFlight, IReadOnlySet<string> tried)
    {
        lock (inFlight)
        {
            var channel = channels.Pick(model, inFlight, tried, Clock.GetUtcNow().UtcDateTime);
            if (channel is not null) inFlight[channel.Name] = inFlight.GetValueOrDefault(channel.Name) + 1;
            return channel;
        }
    }

    private static void Release(Dictionary<string, int> inFlight, UpstreamChannel channel)
    {
        lock (inFlight) inFlight[channel.Name]--;
    }

    /// <summary>The upstream could not take the task: try again with backoff, and give up (uncharged) after the configured attempts.</summary>
    private async Task RetryLaterAsync(VideoTask task, Exception e, CancellationToken ct)
    {
        var attempts = task.DispatchAttempts + 1;
        if (attempts >= options.Value.Tasks.MaxSubmitAttempts)
        {
            Logger.LogError(e, "Giving up handing task {TaskId} over after {Attempts} attempts", task.TaskId, attempts);
            var (code, message) = e is ProviderException { Code: "SERVICE_BUSY" }
                ? ("SERVICE_BUSY", "Service busy: no upstream could take the task, please retry later")
                : ("TASK_SUBMIT_FAILED", "Task submission failed, please retry");
            await tasks.FailAsync(task, [VideoTaskStatus.Pending], code, message, ct);
            return;
        }
        var retryAt = tasks.Now.AddSeconds(Math.Min(60, Math.Pow(2, attempts)));
        Logger.LogWarning(e, "Handing task {TaskId} over failed (attempt {Attempts}); retrying at {RetryAt}", task.TaskId, attempts, retryAt);
        await tasks.DeferDispatchAsync(task.TaskId, retryAt, attempts, ct);
    }
}

/// <summary>Best-effort withdrawal of a task from the upstream, where our side no longer wants it.</summary>
public static class UpstreamCancel
{
    public static async Task TryAsync(IVideoProvider provider, string providerTaskId, ILogger Logger, CancellationToken ct)
    {
        try { await provider.CancelAsync(providerTaskId, ct); }
        catch (Exception e) when (e is not OperationCanceledException) { Logger.LogWarning(e, "Upstream cancel of {UpstreamTaskId} failed", providerTaskId); }
    }
}
