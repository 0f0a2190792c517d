using System.Collections.Concurrent;
using Microsoft.EntityFrameworkCore;
using Seedance.Server.Data;

namespace Seedance.Server.Tasks;

/// <summary>
/// How long tasks took here lately, from hand-over to completion, per model, resolution, duration band and channel (and
/// over all channels, for pending tasks, which have none yet; and over every kind, for how long a slot stays taken): the
/// last <see cref="Kept"/> completions of each, kept in memory. Fed by the completions this node commits or hears of,
/// seeded at start from the last completions in the database; a task's outlook is then worked out without a query
/// (<see cref="TaskEstimate"/>).
/// </summary>
public sealed class TaskTimings(IServiceScopeFactory scopes, TimeProvider clock, ILogger<TaskTimings> logger) : BackgroundService, ITaskObserver
{
    public const int Kept = 50;
    /// <summary>Fewer completions than this are not a history: no estimate is made from them.</summary>
    public const int MinSamples = 3;
    private const int SeedRows = 5000, SeedScan = 50_000;

    private readonly record struct Key(string Model, string Resolution, int Band, string? Channel);
    /// <summary>Every completion, whatever its kind: how long a key's slot stays taken.</summary>
    private static readonly Key Every = new("", "", -1, null);

    private readonly ConcurrentDictionary<Key, RunTimes> _runs = new();
    /// <summary>The progress last shown of each running task: a completion that raises the median must not take it back.</summary>
    private readonly ConcurrentDictionary<string, int> _shown = new();

    /// <summary>The outlook of <paramref name="task"/> now; <paramref name="queue"/> places a pending task among its key's.</summary>
    public TaskOutlook OutlookOf(VideoTask task, KeyQueue? queue = null)
    {
        var outlook = TaskEstimate.Of(task, MedianRun(task), clock.GetUtcNow().UtcDateTime, queue,
            queue is null ? null : _runs.TryGetValue(Every, out var all) ? all.Median : null);
        if (outlook.Progress is not { } progress || task.Status is not (VideoTaskStatus.Queued or VideoTaskStatus.Processing)) return outlook;
        var shown = _shown.AddOrUpdate(task.TaskId, static (_, p) => p, static (_, before, p) => Math.Max(before, p), progress);
        return shown == progress ? outlook : outlook with { Progress = shown };
    }

    /// <summary>The outlook of <paramref name="task"/> as read by a request: a pending one's place is one indexed count.</summary>
    public ValueTask<TaskOutlook> OutlookAsync(SeedanceDb db, VideoTask task, CancellationToken ct) =>
        task.Status == VideoTaskStatus.Pending ? new(PendingOutlookAsync(db, task, ct)) : new(OutlookOf(task));

    private async Task<TaskOutlook> PendingOutlookAsync(SeedanceDb db, VideoTask task, CancellationToken ct) =>
        OutlookOf(task, await QueueOf.For(db)(db, task.KeyId, task.Seq, ct));

    /// <summary>The outlooks of a page of the key's tasks, in order: when it shows pending tasks, their places come from one read of the key's waiting tasks.</summary>
    public async Task<TaskOutlook[]> OutlooksAsync(SeedanceDb db, long keyId, IReadOnlyList<VideoTask> page, CancellationToken ct)
    {
        var outlooks = new TaskOutlook[page.Count];
        if (!page.Any(t => t.Status == VideoTaskStatus.Pending))
        {
            for (var i = 0; i < page.Count; i++) outlooks[i] = OutlookOf(page[i]);
            return outlooks;
        }
        var waiting = await db.Tasks.AsNoTracking().Where(t => t.KeyId == keyId && t.Status == VideoTaskStatus.Pending)
            .OrderBy(t => t.Seq).Select(t => t.Seq).ToListAsync(ct);
        var slots = await db.ApiKeys.AsNoTracking().Where(k => k.Id == keyId)
            .Select(k => new { Free = k.MaxConcurrent - k.TasksQueued - k.TasksProcessing, k.MaxConcurrent }).FirstAsync(ct);
        for (var i = 0; i < page.Count; i++)
        {
            var ahead = page[i].Status == VideoTaskStatus.Pending ? waiting.BinarySearch(page[i].Seq) : -1;
            outlooks[i] = OutlookOf(page[i], ahead < 0 ? null : new KeyQueue(ahead, slots.Free, slots.MaxConcurrent));
        }
        return outlooks;
    }

    // A pending task's place: its key's pending tasks before it (the index on key, status and seq), and the key's free slots.
    private static readonly PerModelQuery<Func<SeedanceDb, long, long, CancellationToken, Task<KeyQueue>>> QueueOf = new(() =>
        EF.CompileAsyncQuery((SeedanceDb db, long keyId, long seq, CancellationToken ct) => db.ApiKeys.AsNoTracking().Where(k => k.Id == keyId)
            .Select(k => new KeyQueue(
                db.Tasks.Count(t => t.KeyId == keyId && t.Status == VideoTaskStatus.Pending && t.Seq < seq),
                k.MaxConcurrent - k.TasksQueued - k.TasksProcessing, k.MaxConcurrent))
            .FirstOrDefault()));

    /// <summary>The median run of tasks like <paramref name="task"/> on its channel (else on any), or null without enough history.</summary>
    public double? MedianRun(VideoTask task)
    {
        var band = TaskEstimate.Band(task.Duration);
        if (task.ChannelName is { } channel && _runs.TryGetValue(new Key(task.Model, task.Resolution, band, channel), out var own) && own.Median is { } m)
            return m;
        return _runs.TryGetValue(new Key(task.Model, task.Resolution, band, null), out var any) ? any.Median : null;
    }

    /// <summary>Records a completed task's run (hand-over to completion); other tasks, and tasks without those times, are ignored.</summary>
    public void Record(VideoTask task)
    {
        if (task.Status != VideoTaskStatus.Completed || task.QueuedAt is not { } queued || task.FinishedAt is not { } finished || finished < queued) return;
        var seconds = (finished - queued).TotalSeconds;
        var band = TaskEstimate.Band(task.Duration);
        _runs.GetOrAdd(Every, _ => new RunTimes()).Add(seconds);
        _runs.GetOrAdd(new Key(task.Model, task.Resolution, band, null), _ => new RunTimes()).Add(seconds);
        if (task.ChannelName is { } channel) _runs.GetOrAdd(new Key(task.Model, task.Resolution, band, channel), _ => new RunTimes()).Add(seconds);
    }

    public async ValueTask OnChangedAsync(TaskChanged change, CancellationToken ct)
    {
        if (VideoTaskStatus.IsTerminal(change.Status)) _shown.TryRemove(change.TaskId, out _);
        if (change.Status != VideoTaskStatus.Completed) return;
        if (change.Task is { } task) Record(task);
        else if (change.FromOtherNode)
        {
            // Completed on another node, which sends no row: one read per completion, not per request.
            await using var scope = scopes.CreateAsyncScope();
            var rows = await Completions(scope.ServiceProvider.GetRequiredService<SeedanceDb>().Tasks.Where(t => t.TaskId == change.TaskId))
                .ToListAsync(ct);
            foreach (var row in rows) Record(row);
        }
    }

    /// <summary>Seeds the history from the last completions in the database, oldest first (so the newest are the ones kept).</summary>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try { await SeedAsync(stoppingToken); }
        catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
        {
            logger.LogWarning(e, "Reading the last completions for the estimates failed; they start from the completions to come");
        }
    }

    public async Task SeedAsync(CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<SeedanceDb>();
        // Among the newest tasks only (a range of the primary key), so a large table of old tasks is not read through.
        var newest = await db.Tasks.MaxAsync(t => (long?)t.Seq, ct) ?? 0;
        var rows = await Completions(db.Tasks
                .Where(t => t.Seq > newest - SeedScan && t.Status == VideoTaskStatus.Completed && t.QueuedAt != null && t.FinishedAt != null)
                .OrderByDescending(t => t.Seq).Take(SeedRows))
            .ToListAsync(ct);
        for (var i = rows.Count - 1; i >= 0; i--) Record(rows[i]);
    }

    private static IQueryable<VideoTask> Completions(IQueryable<VideoTask> tasks) => tasks.AsNoTracking().Select(t => new VideoTask
    {
        TaskId = t.TaskId, Model = t.Model, Status = t.Status, Resolution = t.Resolution, Ratio = "", Duration = t.Duration, ContentJson = "",
        ChannelName = t.ChannelName, QueuedAt = t.QueuedAt, FinishedAt = t.FinishedAt,
    });

    /// <summary>The last <see cref="Kept"/> run times of one kind of task, and their median, worked out once per completion.</summary>
    private sealed class RunTimes
    {
        private readonly double[] _ring = new double[Kept];
        private int _count, _next;
        private double _median = double.NaN; // a double is read whole; a double? might be read half-written

        public double? Median => Volatile.Read(ref _median) is var m && double.IsNaN(m) ? null : m;

        public void Add(double seconds)
        {
            lock (_ring)
            {
                _ring[_next] = seconds;
                _next = (_next + 1) % Kept;
                _count = Math.Min(_count + 1, Kept);
                if (_count < MinSamples) return;
                var sorted = _ring[.._count];
                Array.Sort(sorted);
                Volatile.Write(ref _median, _count % 2 == 1 ? sorted[_count / 2] : (sorted[_count / 2 - 1] + sorted[_count / 2]) / 2);
            }
        }
    }
}
