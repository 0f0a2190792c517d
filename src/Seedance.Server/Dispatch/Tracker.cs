using System.Collections.Concurrent;
using Microsoft.EntityFrameworkCore;
using Seedance.Server.Channels;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Retry;
using Seedance.Server.Data;
using Seedance.Server.Infrastructure;
using Seedance.Server.Providers;
using Seedance.Server.Storage;

namespace Seedance.Server.Dispatch;

/// <summary>
/// Follows every task the upstream has accepted to a terminal status, copies finished results into the
/// file store, and expires tasks that outlive their time-to-live. After a restart it simply finds the
/// non-terminal tasks in the database again: nothing is lost, and the guarded status changes make sure
/// nothing is charged twice.
/// <para>
/// With several nodes, a task at the upstream is the work of one node at a time: the node that handed it
/// over keeps its lease, and a task whose node died (its lease ran out) is claimed by the next node that
/// looks (<see cref="Leases"/>). A node checks, copies and expires only what it holds, so a slow node that
/// still heartbeats keeps its tasks, and its in-memory cadence stays its own.
/// </para>
/// </summary>
public sealed class Tracker(IServiceScopeFactory scopes, ChannelPool channels, NodeIdentity node, IOptions<SeedanceOptions> options, FileStore store,
    ThumbnailRenderer thumbnails, TaskStore tasks, LeaseStore leases, TimeProvider clock, ILogger<Tracker> logger)
    : PeriodicWorker(clock, logger), ITaskObserver
{
    private const int BatchLimit = 20_000;
    private static readonly TimeSpan ExpirySweepEvery = TimeSpan.FromSeconds(1);

    /// <summary>
    /// The tasks this node tracks, as last read. The database is asked only what changed: a task this node handed over
    /// (read by its id), and every <see cref="ResyncEvery"/> or after a take-over from a dead node, which tasks it holds
    /// (their ids: what other nodes changed, leases lost; only tasks not known yet are read in full). The checks keep it
    /// current in between (a task that started processing, a check that failed, a task that ended).
    /// </summary>
    private readonly ConcurrentDictionary<string, VideoTask> _tracked = new();
    /// <summary>Tasks this node handed over since the last round: read by id, not by reading the whole set again.</summary>
    private readonly ConcurrentQueue<string> _arrived = new();
    private volatile bool _resync = true;
    private DateTime _lastResync = DateTime.MinValue;

    /// <summary>When each task is next due for a check. Lost on restart: then every task is due at once.</summary>
    private readonly ConcurrentDictionary<string, DateTime> _nextCheck = new();
    /// <summary>Tasks whose check is under way: a slow check never makes a second one start beside it.</summary>
    private readonly ConcurrentDictionary<string, byte> _checking = new();
    /// <summary>Per channel, the checks it may have in flight.</summary>
    /// <summary>Each channel's bound on checks in flight, by its size: a channel whose max_parallel_polls changed gets a new one.</summary>
    private readonly ConcurrentDictionary<(string Channel, int Size), SemaphoreSlim> _slots = new();
    private DateTime _lastExpirySweep = DateTime.MinValue;
    /// <summary>Tasks left by a dead node are looked for this often (the node that hands a task over holds it from the start).</summary>
    private static readonly TimeSpan ClaimEvery = TimeSpan.FromSeconds(1);
    private DateTime _lastClaim = DateTime.MinValue;

    private static readonly ResiliencePipeline Downloads = new ResiliencePipelineBuilder()
        .AddRetry(new RetryStrategyOptions
        {
            MaxRetryAttempts = 3, Delay = TimeSpan.FromSeconds(1), BackoffType = DelayBackoffType.Exponential, UseJitter = true,
            // A result over the size cap would only be fetched again; anything else (the link, the store) may pass on a next try.
            ShouldHandle = new PredicateBuilder().Handle<Exception>(e => e is not (OperationCanceledException or ResultTooLargeException)),
        })
        .Build();

    /// <summary>At most this long between two reads of the tracked tasks: 2 s, or sooner than a lease runs out.</summary>
    private TimeSpan ResyncEvery => node.HeartbeatInterval < TimeSpan.FromSeconds(2) ? node.HeartbeatInterval : TimeSpan.FromSeconds(2);

    /// <summary>How often the schedule is looked at; each task's own cadence is its channel's poll interval.</summary>
    protected override TimeSpan Interval => TimeSpan.FromSeconds(options.Value.Tasks.PollIntervalSeconds);

    public override async Task<bool> RunOnceAsync(CancellationToken ct)
    {
        if (Clock.GetUtcNow().UtcDateTime - _lastExpirySweep >= ExpirySweepEvery)
        {
            await ExpireOnceAsync(ct);
            _lastExpirySweep = Clock.GetUtcNow().UtcDateTime;
        }
        await StartDueChecksAsync(ct);
        return false;
    }

    /// <summary>
    /// Starts a check of every accepted task that is due, without waiting for them: each channel keeps its
    /// own bound on checks in flight, and each task keeps its cadence (one check per poll interval, never
    /// tighter), however long other checks take.
    /// </summary>
    private async Task StartDueChecksAsync(CancellationToken ct)
    {
        if (Clock.GetUtcNow().UtcDateTime - _lastClaim >= ClaimEvery)
        {
            var claimed = await leases.ClaimActiveAsync(BatchLimit, Clock.GetUtcNow().UtcDateTime, ct);
            if (claimed.Count > 0)
            {
                Logger.LogInformation("Took over tracking {Count} tasks no live node held", claimed.Count);
                _resync = true;
            }
            _lastClaim = Clock.GetUtcNow().UtcDateTime;
        }
        if (_resync || Clock.GetUtcNow().UtcDateTime - _lastResync >= ResyncEvery)
        {
            _resync = false; // before the read: what comes in while it runs is read the next time
            _lastResync = Clock.GetUtcNow().UtcDateTime;
            _arrived.Clear();
            await ResyncAsync(ct);
        }
        else if (!_arrived.IsEmpty)
        {
            var arrived = new HashSet<string>();
            while (_arrived.TryDequeue(out var id)) arrived.Add(id);
            foreach (var task in await ReadAsync(arrived.ToList(), ct)) _tracked.TryAdd(task.TaskId, task);
        }
        var now = Clock.GetUtcNow().UtcDateTime;

        var dueByChannel = new Dictionary<UpstreamChannel, List<VideoTask>>();
        // Enumerating the dictionary takes no lock and copies nothing (its Values would, at every round).
        foreach (var (_, task) in _tracked)
        {
            if (task.RetryAt > now || _checking.ContainsKey(task.TaskId)) continue;
            var due = _nextCheck.TryGetValue(task.TaskId, out var at) ? at : now;
            if (due > now) continue;
            if (channels.Find(task.ChannelName!) is not { } channel)
            {
                Logger.LogWarning("Task {TaskId} is at channel {Channel}, which is no longer configured", task.TaskId, task.ChannelName);
                _nextCheck[task.TaskId] = now.AddMinutes(1);
                continue;
            }
            // Keep the cadence from when the check was due, not from when it ran; a task that fell far behind starts afresh.
            var interval = TimeSpan.FromSeconds(channel.Options.PollIntervalSeconds);
            var next = due + interval;
            _nextCheck[task.TaskId] = next > now ? next : now + interval;
            _checking[task.TaskId] = 0;
            (dueByChannel.TryGetValue(channel, out var ofChannel) ? ofChannel : dueByChannel[channel] = []).Add(task);
        }
        // A channel whose upstream reads many tasks at once checks its due tasks in batches: at 10,000 tasks in flight
        // that is a hundred requests per round instead of 10,000.
        foreach (var (channel, tasksDue) in dueByChannel)
            foreach (var batch in tasksDue.Chunk(Math.Max(1, channel.Provider.BatchSize)))
                _ = CheckAsync(batch, channel, ct);
    }

    /// <summary>
    /// Reads which tasks this node holds at an upstream (their ids only) and makes the tracked set exactly those, reading
    /// in full only the ones it did not know.
    /// </summary>
    private async Task ResyncAsync(CancellationToken ct)
    {
        List<string> held;
        await using (var scope = scopes.CreateAsyncScope())
            held = await Held(scope.ServiceProvider.GetRequiredService<SeedanceDb>())
                .OrderBy(t => t.Seq).Take(BatchLimit).Select(t => t.TaskId).ToListAsync(ct);
        var ids = held.ToHashSet();
        foreach (var gone in _tracked.Keys.Where(id => !ids.Contains(id)).ToList()) Forget(gone);
        foreach (var chunk in held.Where(id => !_tracked.ContainsKey(id)).Chunk(500))
            foreach (var task in await ReadAsync(chunk, ct)) _tracked.TryAdd(task.TaskId, task);
    }

    /// <summary>The tasks this node holds at an upstream: the ones it tracks.</summary>
    private IQueryable<VideoTask> Held(SeedanceDb db) =>
        db.Tasks.Where(t => VideoTaskStatus.Active.Contains(t.Status) && t.UpstreamTaskId != null && t.LeaseOwner == node.Id);

    /// <summary>What tracking needs of the tasks among <paramref name="taskIds"/> this node holds at an upstream (not their content).</summary>
    private async Task<List<VideoTask>> ReadAsync(IReadOnlyCollection<string> taskIds, CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        return await Held(scope.ServiceProvider.GetRequiredService<SeedanceDb>()).AsNoTracking()
            .Where(t => taskIds.Contains(t.TaskId))
            .Select(t => new VideoTask
            {
                Seq = t.Seq, TaskId = t.TaskId, KeyId = t.KeyId, Model = t.Model, Status = t.Status, Resolution = t.Resolution,
                Ratio = t.Ratio, Duration = t.Duration, Seed = t.Seed, CreditCost = t.CreditCost, ChannelName = t.ChannelName,
                UpstreamTaskId = t.UpstreamTaskId, RetryAt = t.RetryAt, FailedChecks = t.FailedChecks, ContentJson = "",
            })
            .ToListAsync(ct);
    }

    /// <summary>
    /// A task no longer tracked here (ended, or held by another node now), with its cadence. Most tasks end during their own
    /// check, so the entry goes now, not when the check ends; a task read again later is simply due at once.
    /// </summary>
    private void Forget(string taskId)
    {
        _tracked.TryRemove(taskId, out _);
        _nextCheck.TryRemove(taskId, out _);
    }

    /// <summary>A hand-over (on this node) brings a task to track; an ended task leaves.</summary>
    public ValueTask OnChangedAsync(TaskChanged change, CancellationToken ct)
    {
        // Read at the next round (not at once: at hundreds of hand-overs a second, a round per hand-over would cost more than it brings).
        if (change.Status == VideoTaskStatus.Queued) _arrived.Enqueue(change.TaskId);
        else if (VideoTaskStatus.IsTerminal(change.Status)) Forget(change.TaskId);
        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// Checks <paramref name="batch"/>, each within the channel's bound on checks in flight: in one request where the
    /// channel's upstream reads many tasks at once (one task too: the same one request), otherwise one by one. A task the
    /// batch read did not return (Ark lists only the last 7 days), or every task when it failed, is checked alone.
    /// </summary>
    private async Task CheckAsync(VideoTask[] batch, UpstreamChannel channel, CancellationToken ct)
    {
        var slots = _slots.GetOrAdd((channel.Name, channel.Options.MaxParallelPolls), key => new SemaphoreSlim(key.Size));
        try
        {
            IReadOnlyDictionary<string, ProviderTaskState>? states = null;
            if (channel.Provider.BatchSize > 1)
            {
                await slots.WaitAsync(ct);
                try { states = await channel.Provider.GetManyAsync(batch.Select(t => t.UpstreamTaskId!).ToList(), ct); }
                catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
                {
                    Logger.LogWarning(e, "A batch check of {Count} tasks at channel {Channel} failed; checking them one by one", batch.Length, channel.Name);
                }
                finally { slots.Release(); }
            }
            await Parallel.ForEachAsync(batch, new ParallelOptions { MaxDegreeOfParallelism = channel.Options.MaxParallelPolls, CancellationToken = ct },
                async (task, token) =>
                {
                    try
                    {
                        if (states is not null && states.TryGetValue(task.UpstreamTaskId!, out var state))
                        {
                            await TrackAsync(task, channel, state, token);
                            return;
                        }
                        await slots.WaitAsync(token);
                        try { await TrackAsync(task, channel, null, token); }
                        finally { slots.Release(); }
                    }
                    catch (OperationCanceledException) when (token.IsCancellationRequested) { }
                    catch (Exception e) { Logger.LogError(e, "Checking task {TaskId} failed", task.TaskId); }
                });
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested) { }
        finally
        {
            // Whatever became of the batch (a task's check is due again by its cadence, not before).
            foreach (var task in batch) _checking.TryRemove(task.TaskId, out _);
        }
    }

    /// <summary>A hint that a task changed upstream (its callback, heard on this node or another): check it at once.</summary>
    public ValueTask OnCheckRequestedAsync(CheckRequested request, CancellationToken ct)
    {
        Nudge(request.TaskId);
        return ValueTask.CompletedTask;
    }

    private void Nudge(string taskId)
    {
        _nextCheck.TryRemove(taskId, out _);
        Wake();
    }

    /// <summary>Moves the task as the upstream reports it: <paramref name="known"/>, read in a batch, or read now.</summary>
    private async Task TrackAsync(VideoTask task, UpstreamChannel channel, ProviderTaskState? known, CancellationToken ct)
    {
        var provider = channel.Provider;
        using var span = SeedanceTracing.StartTask("seedance.task.check", task.TaskId);
        span?.SetTag("seedance.channel", channel.Name);
        using var _ = Logger.BeginScope(SeedanceTracing.TaskScope, task.TaskId);
        try
        {
            var state = known ?? await provider.GetAsync(task.UpstreamTaskId!, ct);
            if (task.FailedChecks > 0)
            {
                await tasks.RecordChecksAsync(task.TaskId, task.Status, 0, null, ct);
                (task.FailedChecks, task.RetryAt) = (0, null);
            }
            switch (state.State)
            {
                case ProviderState.Running when task.Status == VideoTaskStatus.Queued:
                    if (await tasks.StartProcessingAsync(task.TaskId, ct)) task.Status = VideoTaskStatus.Processing;
                    break;
                case ProviderState.Succeeded:
                    await CompleteAsync(task, state, provider, ct);
                    break;
                case ProviderState.Failed:
                    await tasks.FailAsync(task, VideoTaskStatus.Active, state.ErrorCode ?? "INTERNAL_ERROR", state.ErrorMessage ?? "Generation failed", ct);
                    Logger.LogInformation("Task {TaskId} failed upstream with {Code}", task.TaskId, state.ErrorCode);
                    break;
                case ProviderState.Cancelled:
                    await tasks.CancelAsync(task, VideoTaskStatus.Active, ct);
                    break;
                case ProviderState.Expired:
                    await tasks.ExpireAsync(task, ct);
                    break;
            }
        }
        catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            // 5xx and timeouts are the channel's; a 404 for one task (a purged record) is that task's alone.
            if (e is ProviderException { Fault: ProviderFault.Channel, Code: "TASK_SUBMIT_FAILED" }) channel.RecordFailure(e.Message, tasks.Now);
            var failures = task.FailedChecks + 1;
            var retryAt = tasks.Now.AddSeconds(Math.Min(60, Math.Pow(2, failures)));
            await tasks.RecordChecksAsync(task.TaskId, task.Status, failures, retryAt, CancellationToken.None);
            (task.FailedChecks, task.RetryAt) = (failures, retryAt);
            Logger.LogWarning(e, "Tracking task {TaskId} failed; next check at {RetryAt}", task.TaskId, retryAt);
        }
    }

    /// <summary>
    /// Copies the results into the store (with retries) and makes the poster from the copy, then completes and charges the
    /// task in one step. A poster that cannot be made leaves <c>thumbnail_url</c> null; it never fails the task. A copy that
    /// fails on the upstream's side fails the task (VIDEO_DOWNLOAD_FAILED); one that fails on the store's is tried again later.
    /// </summary>
    private async Task CompleteAsync(VideoTask task, ProviderTaskState state, IVideoProvider provider, CancellationToken ct)
    {
        var video = FileStore.ResultPath(task.TaskId, "video.mp4");
        var lastFrame = state.LastFrameUrl is null ? null : FileStore.ResultPath(task.TaskId, "last_frame.png");
        using (var copy = SeedanceTracing.Start("seedance.task.copy_result"))
        {
            copy?.SetTag(SeedanceTracing.TaskIdTag, task.TaskId);
            try
            {
                if (state.VideoUrl is null) throw new InvalidOperationException("The upstream reported success without a video");
                await CopyAsync(provider, state.VideoUrl, video, ct);
                if (lastFrame is not null) await CopyAsync(provider, state.LastFrameUrl!, lastFrame, ct);
            }
            catch (Exception e) when (StoreOutage.IsStoreFailure(e))
            {
                // The store is away or full, not the result: the task stays as it is and its next check (backing off, as after
                // any failed check) copies again, until the store is back or the upstream's link dies. It never completes without its video.
                copy.Fail(e);
                throw new StoreUnavailableException($"The result of task {task.TaskId} cannot be stored yet; it is tried again", e);
            }
            catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                copy.Fail(e);
                Logger.LogError(e, "Copying the result of task {TaskId} failed after retries", task.TaskId);
                await tasks.FailAsync(task, VideoTaskStatus.Active, "VIDEO_DOWNLOAD_FAILED", "Video processing failed: the result could not be stored", ct);
                return;
            }
        }
        var thumbnail = await thumbnails.TryMakeAsync(task.TaskId, video, ct);
        if (await tasks.CompleteAsync(task, video, lastFrame, thumbnail, state.Seed ?? task.Seed, state.Duration ?? task.Duration, ct))
        {
            Logger.LogInformation("Task {TaskId} completed; {Cost} credits captured", task.TaskId, task.CreditCost);
            return;
        }
        // Cancelled or expired while the result was being copied: the copy is nobody's. (Completed already: by a node that
        // took the task over while this one still copied, into the same place; those files are the task's result now.)
        if (await StatusAsync(task.TaskId) == VideoTaskStatus.Completed) return;
        foreach (var path in new[] { video, lastFrame, thumbnail }.OfType<string>()) await store.DeleteAsync(path, CancellationToken.None);
    }

    private async Task<string?> StatusAsync(string taskId)
    {
        await using var scope = scopes.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<SeedanceDb>().Tasks.Where(t => t.TaskId == taskId).Select(t => t.Status).FirstOrDefaultAsync();
    }

    private Task CopyAsync(IVideoProvider provider, string url, string storePath, CancellationToken ct) =>
        Downloads.ExecuteAsync(async token =>
            await store.WriteAsync(storePath, (stream, write) => provider.DownloadAsync(url, stream, write), token), ct).AsTask();

    /// <summary>Tasks past their time-to-live become expired and release their reservation.</summary>
    public async Task ExpireOnceAsync(CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<SeedanceDb>();
        var now = Clock.GetUtcNow().UtcDateTime;
        // Those no other live node holds: the guarded status change would keep a second expiry from moving credits
        // anyway, but the holder is the one to withdraw the task from the upstream.
        var overdue = await db.Tasks.AsNoTracking()
            .Where(t => VideoTaskStatus.NonTerminal.Contains(t.Status) && t.ExpiresAt <= now
                && (t.LeaseOwner == node.Id || t.LeaseExpiresAt == null || t.LeaseExpiresAt <= now))
            .OrderBy(t => t.ExpiresAt).Take(100).ToListAsync(ct);
        foreach (var task in overdue)
        {
            using var span = SeedanceTracing.StartTask("seedance.task.expire", task.TaskId);
            if (!await tasks.ExpireAsync(task, ct)) continue;
            Logger.LogInformation("Task {TaskId} expired; {Cost} credits released", task.TaskId, task.CreditCost);
            if (task.UpstreamTaskId is null) continue;
            if (channels.Find(task.ChannelName!) is { } channel) await UpstreamCancel.TryAsync(channel.Provider, task.UpstreamTaskId, Logger, ct);
        }
    }
}
