using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Query;
using Seedance.Server.Billing;
using Seedance.Server.Callbacks;
using Seedance.Server.Data;
using Seedance.Server.Infrastructure;
using Seedance.Server.Nodes;
using Seedance.Server.Storage;

namespace Seedance.Server.Tasks;

/// <summary>
/// Status changes of a task. Each is a guarded update (only from the statuses it may come from), and a
/// change into a terminal status moves the reserved credits in the same transaction: captured on
/// completion, released otherwise, and a task with a <c>callback_url</c> gets its callback in the outbox.
/// A task that already left those statuses is not touched.
/// </summary>
public sealed class TaskLifecycle(SeedanceDb db, TimeProvider clock, TaskEvents events, TaskSignals signals, PublicLinks links, GroupCommit writes,
    WebhookDispatcher? webhooks = null)
{
    public DateTime Now => clock.GetUtcNow().UtcDateTime;

    /// <summary>A change that moves no money (pending to queued, queued to processing).</summary>
    public async Task<bool> MoveAsync(string taskId, string[] from, string to, Action<UpdateSettersBuilder<VideoTask>>? also = null, CancellationToken ct = default)
    {
        if (TaskStatus.IsTerminal(to)) throw new ArgumentException($"'{to}' moves credits: use its own method", nameof(to));
        // Through the group commit: on SQLite it joins the submissions' batch instead of waiting for their lock.
        var moved = await writes.RunAsync(db, (w, token) => UpdateAsync(w, taskId, from, to, also, token), ct);
        if (!moved) return false;
        await signals.SendChangedAsync(db, taskId, to, CancellationToken.None);
        await AnnounceAsync(taskId, to, ct);
        return true;
    }

    /// <summary>Tells those watching the task (long-polls, event streams) what it looks like now; costs nothing when nobody watches.</summary>
    private async Task AnnounceAsync(string taskId, string status, CancellationToken ct)
    {
        if (!events.IsWatched(taskId)) return;
        var task = await db.Tasks.AsNoTracking().FirstOrDefaultAsync(t => t.TaskId == taskId, CancellationToken.None);
        if (task is null) return;
        if (task.Status != status)
        {
            // It moved on already (its own announcement follows): show this step as it was, without what came later.
            task.Status = status;
            task.VideoFile = task.LastFrameFile = task.ErrorCode = task.ErrorMessage = null;
        }
        events.Publish(task);
    }

    private async Task<bool> UpdateAsync(SeedanceDb db, string taskId, string[] from, string to, Action<UpdateSettersBuilder<VideoTask>>? also, CancellationToken ct)
    {
        var now = Now;
        var rows = await db.Tasks.Where(t => t.TaskId == taskId && from.Contains(t.Status))
            .ExecuteUpdateAsync(s =>
            {
                s.SetProperty(t => t.Status, to).SetProperty(t => t.UpdatedAt, now);
                also?.Invoke(s);
            }, ct);
        return rows == 1;
    }

    public Task<string?> StatusAsync(string taskId, CancellationToken ct) =>
        db.Tasks.Where(t => t.TaskId == taskId).Select(t => t.Status).FirstOrDefaultAsync(ct);

    /// <summary>Bookkeeping of a task whose hand-over or check failed: when to try again. Not a status change.</summary>
    public async Task<bool> DeferAsync(string taskId, string status, DateTime? retryAt, Action<UpdateSettersBuilder<VideoTask>>? also = null, CancellationToken ct = default)
    {
        var rows = await db.Tasks.Where(t => t.TaskId == taskId && t.Status == status)
            .ExecuteUpdateAsync(s =>
            {
                s.SetProperty(t => t.RetryAt, retryAt);
                also?.Invoke(s);
            }, ct);
        return rows == 1;
    }

    public Task<bool> CompleteAsync(VideoTask task, string videoFile, string? lastFrameFile, long? seed, int duration, CancellationToken ct) =>
        FinishAsync(task, TaskStatus.Active, TaskStatus.Completed, s => s
            .SetProperty(t => t.VideoFile, videoFile)
            .SetProperty(t => t.LastFrameFile, lastFrameFile)
            .SetProperty(t => t.Seed, seed)
            .SetProperty(t => t.Duration, duration), ct);

    public Task<bool> FailAsync(VideoTask task, string[] from, string code, string message, CancellationToken ct) =>
        FinishAsync(task, from, TaskStatus.Failed, s => s
            .SetProperty(t => t.ErrorCode, code)
            .SetProperty(t => t.ErrorMessage, message), ct);

    public Task<bool> CancelAsync(VideoTask task, string[] from, CancellationToken ct) =>
        FinishAsync(task, from, TaskStatus.Cancelled, null, ct);

    public Task<bool> ExpireAsync(VideoTask task, CancellationToken ct) =>
        FinishAsync(task, TaskStatus.NonTerminal, TaskStatus.Expired, s => s
            .SetProperty(t => t.ErrorMessage, "Task did not finish within its time-to-live"), ct);

    private async Task<bool> FinishAsync(VideoTask task, string[] from, string to, Action<UpdateSettersBuilder<VideoTask>>? also, CancellationToken ct)
    {
        var strategy = db.Database.CreateExecutionStrategy();
        var finished = await strategy.ExecuteAsync(async () =>
        {
            db.ChangeTracker.Clear();
            await using var tx = await db.Database.BeginTransactionAsync(ct);
            if (!await UpdateAsync(db, task.TaskId, from, to, also, ct)) return null;
            if (to == TaskStatus.Completed)
                await CreditLedger.CaptureAsync(db, task.KeyId, task.TaskId, task.CreditCost, Now, ct);
            else
                await CreditLedger.ReleaseAsync(db, task.KeyId, task.TaskId, task.CreditCost, Now, ct);
            // The task as it ends: a terminal status never changes again, so this one read serves the callback and the watchers.
            var ended = await db.Tasks.AsNoTracking().FirstAsync(t => t.TaskId == task.TaskId, ct);
            var queued = QueueCallback(ended);
            await db.SaveChangesAsync(ct);
            await signals.SendChangedAsync(db, task.TaskId, to, ct);
            await tx.CommitAsync(ct);
            if (queued) webhooks?.Wake();
            return ended;
        });
        if (finished is null) return false;
        events.Publish(finished);
        return true;
    }

    /// <summary>Adds the callback of a task that just became terminal to the outbox (the caller's transaction commits it).</summary>
    private bool QueueCallback(VideoTask ended)
    {
        if (ended.CallbackUrl is null) return false;
        var payload = JsonSerializer.Serialize(TaskView.Of(ended, links, links.BaseUrlFor(ended.SubmittedBaseUrl)), Json.Options);
        db.WebhookDeliveries.Add(new WebhookDelivery
        {
            WebhookId = WebhookSignature.NewWebhookId(), TaskId = ended.TaskId, KeyId = ended.KeyId, Url = ended.CallbackUrl,
            Payload = payload, Status = DeliveryStatus.Pending, NextAttemptAt = Now, CreatedAt = Now,
        });
        return true;
    }
}
