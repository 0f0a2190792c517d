using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Query;
using Seedance.Server.Infrastructure;

namespace Seedance.Server.Data;

/// <summary>The body of a finished task's callback: the task object as the API shows it.</summary>
public interface ICallbackBody
{
    string For(VideoTask ended);
}

/// <summary>What became of a submission: accepted, refused for want of credit, backlog room or room under a spending limit, or answered by an earlier request.</summary>
/// <summary>What became of a hand-over: queued; not, because the task moved meanwhile (cancelled, expired); not, because its channel was removed.</summary>
public enum HandOver { Queued, TaskMoved, ChannelRemoved }

public sealed record Submission(bool Accepted, decimal RemainCredits = 0, int MaxPending = 0, Spending? Spending = null, IdempotencyRecord? Earlier = null);

/// <summary>
/// The tasks' writes. Each status change is guarded (it happens only from the statuses it may come from, so a task
/// that already left them is not touched) and is published on the <see cref="TaskFeed"/> once it committed. A change
/// into a terminal status moves the reserved credits in the same transaction (captured on completion, released
/// otherwise) and, for a task with a <c>callback_url</c>, puts its callback in the outbox there too.
/// </summary>
public sealed class TaskStore(DatabaseWriter writer, TaskFeed feed, ICallbackBody callbacks, SeedanceMetrics metrics, TimeProvider clock) : Store(writer)
{
    public DateTime Now => clock.GetUtcNow().UtcDateTime;

    /// <summary>
    /// In one transaction: reserves the task's cost and a backlog place, inserts the task, locks the uploads it
    /// references and records its <c>Idempotency-Key</c> answer. A refusal changes nothing. A refusal that is only
    /// the trace of an earlier request with the same <c>Idempotency-Key</c> that committed meanwhile (it took the
    /// credit or the backlog place) comes back as that request's record; one that committed in the same instant makes
    /// the record's insert fail with <see cref="DbUpdateException"/>, and the caller answers as the earlier one did.
    /// </summary>
    public async Task<Submission> SubmitAsync(VideoTask task, IReadOnlyCollection<string> uploads, IdempotencyRecord? answer, CancellationToken ct)
    {
        // The reservation locks the key's row, which every writer of the key waits on: where the task counts change at
        // commit it goes last, so the row is held only to the commit; otherwise (SQLite, one writer) it goes first,
        // before the insert counts the task against the backlog it checks.
        var reserveLast = Dialect.CountsTasksAtCommit;
        try
        {
            await WriteForKeyAsync(task.KeyId, async (db, token) =>
            {
                if (!reserveLast) await CreditLedger.ReserveIn(db, task.KeyId, task.TaskId, task.CreditCost, task.CreatedAt, token);
                await PreparedCommands.InsertAsync(db, task, token);
                if (uploads.Count > 0) await UploadStore.ReferenceIn(db, task.KeyId, uploads, task.CreatedAt, token);
                if (answer is not null) await IdempotencyStore.RecordIn(db, answer, token);
                if (reserveLast) await CreditLedger.ReserveIn(db, task.KeyId, task.TaskId, task.CreditCost, task.CreatedAt, token);
                return true;
            }, ct);
        }
        catch (CreditLedger.NotReservedException)
        {
            return await WriteAsync(async (db, token) =>
            {
                if (answer is not null && await IdempotencyStore.FindIn(db, answer.KeyId, answer.IdempotencyKey, task.CreatedAt, token) is { } earlier)
                    return new Submission(false, Earlier: earlier);
                var key = await db.ApiKeys.AsNoTracking().FirstAsync(k => k.Id == task.KeyId, token);
                return new Submission(false, key.RemainCredits, key.MaxPending, Spending.Of(key, task.CreatedAt));
            }, ct);
        }
        metrics.Credits(LedgerKind.Reserve, task.CreditCost);
        await feed.PublishAsync(new TaskChanged(task.TaskId, task.Status, task, IsNew: true), CancellationToken.None);
        return new Submission(true);
    }

    /// <summary>
    /// Handed over: pending to queued at <paramref name="channel"/>, which knows it as <paramref name="upstreamTaskId"/>.
    /// A channel stored in the database (<paramref name="stored"/>) may be removed meanwhile, here or on another node: the
    /// move then holds the channel's row (shared) until it commits, and does not happen when the row is gone, so that no
    /// task names a removed channel (<see cref="ChannelStore.RemoveAsync"/> locks the row before it looks for tasks).
    /// </summary>
    public async Task<HandOver> QueueAsync(string taskId, string channel, bool stored, string upstreamTaskId, CancellationToken ct)
    {
        Func<SeedanceDb, PreparedCommands.Arg[]> also = db => [
            PreparedCommands.Value<VideoTask>(db, nameof(VideoTask.ChannelName), channel),
            PreparedCommands.Value<VideoTask>(db, nameof(VideoTask.UpstreamTaskId), upstreamTaskId),
        ];
        if (!stored) return await MoveAsync(taskId, VideoTaskStatus.Pending, VideoTaskStatus.Queued, QueueSql, ct, also) ? HandOver.Queued : HandOver.TaskMoved;
        var now = Now;
        var outcome = await WriteAsync(async (db, token) =>
        {
            if (!await ChannelStore.HoldIn(db, Dialect, channel, exclusive: false, token)) return HandOver.ChannelRemoved;
            return await MoveIn(db, taskId, VideoTaskStatus.Pending, VideoTaskStatus.Queued, QueueSql, now, also, token) ? HandOver.Queued : HandOver.TaskMoved;
        }, ct);
        if (outcome == HandOver.Queued) await feed.PublishAsync(new TaskChanged(taskId, VideoTaskStatus.Queued), CancellationToken.None);
        return outcome;
    }

    /// <summary>The upstream started generating: queued to processing.</summary>
    public Task<bool> StartProcessingAsync(string taskId, CancellationToken ct) =>
        MoveAsync(taskId, VideoTaskStatus.Queued, VideoTaskStatus.Processing, StartSql, ct, null);

    // The moves every task makes (its hand-over, its start), as kept statements: run for every task in flight, they cost
    // a fraction of ExecuteUpdate's work per call (building and reading the expression, its parameters). Each records when
    // it happened in its own column too (the same value as updated_at, so no extra parameter): what the estimates measure.
    private const string StartSql = "UPDATE video_tasks SET status = @p0, updated_at = @p1, processing_at = @p1 WHERE task_id = @p2 AND status = @p3";
    private const string QueueSql =
        "UPDATE video_tasks SET status = @p0, updated_at = @p1, queued_at = @p1, channel_name = @p4, upstream_task_id = @p5, retry_at = NULL WHERE task_id = @p2 AND status = @p3";

    /// <summary>A change that moves no money (pending to queued, queued to processing): <paramref name="sql"/> with the move's values and <paramref name="also"/>'s.</summary>
    private async Task<bool> MoveAsync(string taskId, string from, string to, string sql, CancellationToken ct, Func<SeedanceDb, PreparedCommands.Arg[]>? also)
    {
        if (!VideoTaskStatus.CanMove(from, to) || VideoTaskStatus.IsTerminal(to)) throw new ArgumentException($"{from} to {to} is not a move", nameof(to));
        var now = Now;
        var moved = await WriteAsync((db, token) => MoveIn(db, taskId, from, to, sql, now, also, token), ct);
        if (moved) await feed.PublishAsync(new TaskChanged(taskId, to), CancellationToken.None);
        return moved;
    }

    private static async Task<bool> MoveIn(SeedanceDb db, string taskId, string from, string to, string sql, DateTime now,
        Func<SeedanceDb, PreparedCommands.Arg[]>? also, CancellationToken ct) =>
        await PreparedCommands.ExecuteAsync(db, sql, ct,
            [
                PreparedCommands.Value<VideoTask>(db, nameof(VideoTask.Status), to),
                PreparedCommands.Value<VideoTask>(db, nameof(VideoTask.UpdatedAt), now),
                PreparedCommands.Value<VideoTask>(db, nameof(VideoTask.TaskId), taskId),
                PreparedCommands.Value<VideoTask>(db, nameof(VideoTask.Status), from),
                .. also?.Invoke(db) ?? [],
            ]) == 1;

    /// <summary>A hand-over that failed: the pending task waits until <paramref name="retryAt"/>, having used <paramref name="attempts"/> attempts (unchanged when null).</summary>
    public Task<bool> DeferDispatchAsync(string taskId, DateTime retryAt, int? attempts, CancellationToken ct) =>
        DeferAsync(taskId, VideoTaskStatus.Pending, retryAt, s =>
        {
            if (attempts is { } n) s.SetProperty(t => t.DispatchAttempts, n);
        }, ct);

    /// <summary>The result of the last check at the upstream: <paramref name="failedChecks"/> in a row, and when to look again (null: at the usual cadence).</summary>
    public Task<bool> RecordChecksAsync(string taskId, string status, int failedChecks, DateTime? retryAt, CancellationToken ct) =>
        DeferAsync(taskId, status, retryAt, s => s.SetProperty(t => t.FailedChecks, failedChecks), ct);

    /// <summary>Bookkeeping of a task whose hand-over or check failed: when to try again. Not a status change.</summary>
    private Task<bool> DeferAsync(string taskId, string status, DateTime? retryAt, Action<UpdateSettersBuilder<VideoTask>> also, CancellationToken ct) =>
        WriteAsync(async (db, token) => await db.Tasks.Where(t => t.TaskId == taskId && t.Status == status)
            .ExecuteUpdateAsync(s =>
            {
                s.SetProperty(t => t.RetryAt, retryAt);
                also(s);
            }, token) == 1, ct);

    /// <summary>Completed with its result files (the last frame when asked for, the poster when it could be made), and charged.</summary>
    public Task<bool> CompleteAsync(VideoTask task, string videoFile, string? lastFrameFile, string? thumbnailFile, long? seed, int duration, CancellationToken ct) =>
        FinishAsync(task, VideoTaskStatus.Active, VideoTaskStatus.Completed, s => s
            .SetProperty(t => t.VideoFile, videoFile)
            .SetProperty(t => t.LastFrameFile, lastFrameFile)
            .SetProperty(t => t.ThumbnailFile, thumbnailFile)
            .SetProperty(t => t.Seed, seed)
            .SetProperty(t => t.Duration, duration), ct);

    public Task<bool> FailAsync(VideoTask task, string[] from, string code, string message, CancellationToken ct) =>
        FinishAsync(task, from, VideoTaskStatus.Failed, s => s
            .SetProperty(t => t.ErrorCode, code)
            .SetProperty(t => t.ErrorMessage, message), ct);

    public Task<bool> CancelAsync(VideoTask task, string[] from, CancellationToken ct) =>
        FinishAsync(task, from, VideoTaskStatus.Cancelled, null, ct);

    public Task<bool> ExpireAsync(VideoTask task, CancellationToken ct) =>
        FinishAsync(task, VideoTaskStatus.NonTerminal, VideoTaskStatus.Expired, s => s
            .SetProperty(t => t.ErrorMessage, "Task did not finish within its time-to-live"), ct);

    /// <summary>
    /// Forgets the result files of a finished task, which the caller deleted from the store: the task stays, with its
    /// cost, and no links; <c>results_removed_at</c> says when. Published as a change of the task (caches of its answer
    /// drop it, on every node). False when the task is not finished or has no files left.
    /// </summary>
    public async Task<bool> RemoveResultsAsync(string taskId, CancellationToken ct)
    {
        var now = Now;
        var removed = await WriteAsync(async (db, token) =>
        {
            var rows = await db.Tasks
                .Where(t => t.TaskId == taskId && VideoTaskStatus.Terminal.Contains(t.Status)
                    && (t.VideoFile != null || t.LastFrameFile != null || t.ThumbnailFile != null))
                .ExecuteUpdateAsync(s => s
                    .SetProperty(t => t.VideoFile, (string?)null)
                    .SetProperty(t => t.LastFrameFile, (string?)null)
                    .SetProperty(t => t.ThumbnailFile, (string?)null)
                    .SetProperty(t => t.ResultsRemovedAt, now)
                    .SetProperty(t => t.UpdatedAt, now), token);
            return rows == 1 ? await db.Tasks.AsNoTracking().FirstAsync(t => t.TaskId == taskId, token) : null;
        }, ct);
        if (removed is null) return false;
        await feed.PublishAsync(new TaskChanged(removed.TaskId, removed.Status, removed), CancellationToken.None);
        return true;
    }

    /// <summary>
    /// How long each task completed since <paramref name="since"/> took from submission, in seconds, the latest <paramref name="max"/>
    /// of them: read from the index of (status, finished_at), which holds both times, and worked out by the database (reading
    /// the times of ten thousand tasks into .NET would cost more than the rest of the console's overview).
    /// </summary>
    public static async Task<List<double>> SecondsToCompleteAsync(SeedanceDb db, SqlDialect dialect, DateTime since, int max, CancellationToken ct)
    {
        var sql = $"SELECT {dialect.SecondsBetween("created_at", "finished_at")} AS \"Value\" FROM video_tasks " +
                  $"WHERE status = '{VideoTaskStatus.Completed}' AND finished_at >= {{0}} ORDER BY finished_at DESC LIMIT {max}";
        return await db.Database.SqlQueryRaw<double>(sql, since).ToListAsync(ct);
    }

    /// <summary>
    /// Finished tasks whose result files are older than their key's retention (<see cref="ApiKey.ResultRetentionDays"/>,
    /// else <paramref name="defaultDays"/>), oldest first, at most <paramref name="batch"/>.
    /// </summary>
    public static async Task<List<VideoTask>> ResultsDueAsync(SeedanceDb db, DateTime now, int defaultDays, int batch, CancellationToken ct)
    {
        // Keys with a retention of their own are few: each gets its own cutoff; the rest share the default's.
        var own = await db.ApiKeys.AsNoTracking().Where(k => k.ResultRetentionDays != null)
            .Select(k => new { k.Id, Days = k.ResultRetentionDays!.Value }).ToListAsync(ct);
        var ownIds = own.Select(k => k.Id).ToArray();
        var cutoff = now.AddDays(-defaultDays);
        var due = await db.Tasks.AsNoTracking()
            .Where(t => t.VideoFile != null && t.UpdatedAt < cutoff && !ownIds.Contains(t.KeyId))
            .OrderBy(t => t.UpdatedAt).Take(batch).ToListAsync(ct);
        foreach (var key in own)
        {
            if (due.Count >= batch) break;
            var keyCutoff = now.AddDays(-key.Days);
            due.AddRange(await db.Tasks.AsNoTracking()
                .Where(t => t.KeyId == key.Id && t.VideoFile != null && t.UpdatedAt < keyCutoff)
                .OrderBy(t => t.UpdatedAt).Take(batch - due.Count).ToListAsync(ct));
        }
        return due;
    }

    private async Task<bool> FinishAsync(VideoTask task, string[] from, string to, Action<UpdateSettersBuilder<VideoTask>>? also, CancellationToken ct)
    {
        if (!VideoTaskStatus.IsTerminal(to) || from.Any(f => !VideoTaskStatus.CanMove(f, to))) throw new ArgumentException($"{string.Join("/", from)} to {to} does not finish a task", nameof(to));
        var ended = await WriteAsync(async (db, token) =>
        {
            var now = Now;
            if (!await UpdateIn(db, task.TaskId, from, to, also, token)) return null;
            // The task as it ends: a terminal status never changes again, so this one read serves the callback and the watchers.
            var row = await db.Tasks.AsNoTracking().FirstAsync(t => t.TaskId == task.TaskId, token);
            if (row.CallbackUrl is not null) CallbackOutbox.EnqueueIn(db, row, callbacks.For(row), now);
            // Last, as it locks the key's row (saving the callback with its ledger entry).
            if (to == VideoTaskStatus.Completed) await CreditLedger.CaptureIn(db, task.KeyId, task.TaskId, task.CreditCost, now, token);
            else await CreditLedger.ReleaseIn(db, task.KeyId, task.TaskId, task.CreditCost, row.CreatedAt, now, token);
            return row;
        }, ct);
        if (ended is null) return false;
        metrics.Credits(to == VideoTaskStatus.Completed ? LedgerKind.Capture : LedgerKind.Release, task.CreditCost);
        await feed.PublishAsync(new TaskChanged(ended.TaskId, ended.Status, ended), CancellationToken.None);
        return true;
    }

    private async Task<bool> UpdateIn(SeedanceDb db, string taskId, string[] from, string to, Action<UpdateSettersBuilder<VideoTask>>? also, CancellationToken ct)
    {
        var now = Now;
        var rows = await db.Tasks.Where(t => t.TaskId == taskId && from.Contains(t.Status))
            .ExecuteUpdateAsync(s =>
            {
                s.SetProperty(t => t.Status, to).SetProperty(t => t.UpdatedAt, now).SetProperty(t => t.FinishedAt, now);
                also?.Invoke(s);
            }, ct);
        return rows == 1;
    }
}
