using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;
using Seedance.Server.Auth;
using Seedance.Server.Data;
using Seedance.Server.Infrastructure;
using Seedance.Server.Storage;

namespace Seedance.Server.Tasks;

/// <summary>
/// Waiting for a task without polling: <c>GET /task/{id}?wait=N</c> answers as soon as the task is
/// terminal or after N seconds (at most 60); <c>GET /task/{id}/events</c> streams each status change as a
/// server-sent event and ends after the terminal one, with a <c>progress</c> event every 5 s while the task is processing
/// (once this server has a history to estimate from). Both are woken by the status change itself.
/// </summary>
public static class TaskWatchEndpoints
{
    public const int MaxWaitSeconds = 60;
    private static readonly TimeSpan Heartbeat = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan ProgressEvery = TimeSpan.FromSeconds(5);

    public static void MapTaskWatching(this IEndpointRouteBuilder api)
    {
        api.MapGet("/task/{task_id}/events", Stream).WithName("StreamTaskEvents")
            .WithSummary("Stream a task's status changes as server-sent events (the task object as data), and its progress every 5 s while processing; resumes with Last-Event-ID")
            .Produces<Stream>(200, "text/event-stream")
            .ProducesErrors("TASK_NOT_FOUND");
    }

    /// <summary>The task once it is terminal or the wait is over; a <paramref name="wait"/> of null answers at once.</summary>
    public static async Task<VideoTask> WaitAsync(HttpContext context, SeedanceDb db, TaskEvents events, long keyId, string taskId, string? wait, CancellationToken ct)
    {
        var seconds = 0;
        if (wait is not null && (!int.TryParse(wait, NumberStyles.None, CultureInfo.InvariantCulture, out seconds) || seconds > MaxWaitSeconds))
            throw ApiError.InvalidParameter($"wait must be an integer of seconds from 0 to {MaxWaitSeconds}");
        if (seconds == 0) return await TaskEndpoints.Find(db, keyId, taskId, ct);

        using var place = context.RequestServices.GetRequiredService<WatchLimit>().Enter(context, keyId);
        using var subscription = events.Subscribe(taskId);
        var task = await TaskEndpoints.Find(db, keyId, taskId, ct);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(seconds));
        try
        {
            while (!VideoTaskStatus.IsTerminal(task.Status))
                task = await subscription.Changes.Reader.ReadAsync(timeout.Token);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            // The wait is over: answer with the task as it is now (a change on another node whose signal was lost shows here).
            task = await TaskEndpoints.Find(db, keyId, taskId, ct);
        }
        return task;
    }

    private static async Task Stream(string task_id, HttpContext context, SeedanceDb db, TaskEvents events, PublicLinks links, WatchLimit watches, TaskTimings timings,
        [FromHeader(Name = "Last-Event-ID"), Description("The id of the last event received: a reconnecting client gets only what it has not seen")] string? lastEventId)
    {
        var ct = context.RequestAborted;
        var keyId = context.Caller().KeyId;
        var lastSent = int.TryParse(lastEventId, NumberStyles.None, CultureInfo.InvariantCulture, out var resumed) ? resumed : 0;

        using var place = watches.Enter(context, keyId);
        using var subscription = events.Subscribe(task_id);
        var task = await TaskEndpoints.Find(db, keyId, task_id, ct); // 404 as an envelope before the stream starts
        var response = context.Response;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        await response.Body.FlushAsync(ct);

        var lastRead = Stopwatch.GetTimestamp();
        while (true)
        {
            var order = Order(task.Status);
            if (order > lastSent)
            {
                await SendAsync(response, $"id: {order}\nevent: status", TaskView.Of(task, links, outlook: await timings.OutlookAsync(db, task, ct)), ct);
                lastSent = order;
            }
            if (VideoTaskStatus.IsTerminal(task.Status)) return;

            // While processing, a progress event every few seconds (the task as last read, its outlook worked out anew; no
            // id, so a reconnecting client resumes by status); otherwise, and without a history, a keep-alive now and then.
            var showsProgress = task.Status == VideoTaskStatus.Processing && timings.MedianRun(task) is not null;
            using var beat = CancellationTokenSource.CreateLinkedTokenSource(ct);
            beat.CancelAfter(showsProgress ? ProgressEvery : Heartbeat);
            try
            {
                task = await subscription.Changes.Reader.ReadAsync(beat.Token);
                lastRead = Stopwatch.GetTimestamp();
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                // Quiet for a while: the task is read again (a change on another node whose signal was lost shows here).
                if (Stopwatch.GetElapsedTime(lastRead) >= Heartbeat)
                {
                    task = await TaskEndpoints.Find(db, keyId, task_id, ct);
                    lastRead = Stopwatch.GetTimestamp();
                    if (Order(task.Status) > lastSent) continue;
                }
                if (showsProgress) await SendAsync(response, "event: progress", TaskView.Of(task, links, outlook: timings.OutlookOf(task)), ct);
                else
                {
                    await response.WriteAsync(": keep-alive\n\n", ct);
                    await response.Body.FlushAsync(ct);
                }
            }
        }
    }

    private static async Task SendAsync(HttpResponse response, string head, TaskView view, CancellationToken ct)
    {
        await response.WriteAsync($"{head}\ndata: {JsonSerializer.Serialize(view, Json.Options)}\n\n", ct);
        await response.Body.FlushAsync(ct);
    }

    /// <summary>The event id of a status: statuses only move forward, so the id tells a reconnecting client what it has seen.</summary>
    private static int Order(string status) => status switch
    {
        VideoTaskStatus.Pending => 1,
        VideoTaskStatus.Queued => 2,
        VideoTaskStatus.Processing => 3,
        _ => 4,
    };
}
