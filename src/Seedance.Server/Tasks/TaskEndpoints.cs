using Microsoft.EntityFrameworkCore;
using Seedance.Server.Auth;
using Seedance.Server.Channels;
using Seedance.Server.Data;
using Seedance.Server.Infrastructure;
using Seedance.Server.Storage;

namespace Seedance.Server.Tasks;

public static class TaskEndpoints
{
    public static void MapTasks(this IEndpointRouteBuilder routes)
    {
        var api = routes.MapGroup("").WithTags("Tasks");
        api.MapPost("/task", TaskSubmission.SubmitAsync).WithName("SubmitTask")
            .WithSummary("Submit a video generation task")
            .Accepts<VideoTaskRequest>("application/json")
            .Produces<Envelope<SubmitResult>>()
            .ProducesErrors("INVALID_PARAMETER", "MISSING_PARAMETER", "INSUFFICIENT_CREDIT", "CONCURRENCY_LIMIT_REACHED", "SERVICE_BUSY");
        api.MapGet("/task/{task_id}", Get).WithName("GetTask")
            .WithSummary("Get a task; with ?wait=N (seconds, at most 60) the answer comes as soon as the task is terminal or the wait ends")
            .Produces<Envelope<TaskView>>()
            .ProducesErrors("INVALID_PARAMETER", "TASK_NOT_FOUND");
        api.MapTaskWatching();
        api.MapGet("/tasks", List).WithName("ListTasks")
            .WithSummary("List tasks, newest first; with ?task_ids=a,b,c (at most 100) the caller's tasks among those ids, in that order")
            .Produces<Envelope<TaskPage>>()
            .ProducesErrors("INVALID_PARAMETER");
        api.MapPost("/task/{task_id}/cancel", Cancel).WithName("CancelTask")
            .WithSummary("Cancel a task")
            .Produces<Envelope<CancelResult>>()
            .ProducesErrors("TASK_NOT_FOUND", "TASK_CANCEL_NOT_ALLOWED", "SERVICE_BUSY");
        api.MapDelete("/task/{task_id}", DeleteResults).WithName("DeleteTaskResults")
            .WithSummary("Delete a finished task's result files (video, last frame, thumbnail); the task stays listed with its cost and no links")
            .Produces<Envelope<TaskView>>()
            .ProducesErrors("INVALID_PARAMETER", "TASK_NOT_FOUND");
    }

    /// <summary>
    /// Removes a finished task's files: its links answer 404 from now on, the task stays with its cost. Asked again, it
    /// answers the same. A task still running must be cancelled first.
    /// </summary>
    private static async Task<IResult> DeleteResults(string task_id, HttpContext context, SeedanceDb db, TaskResults results, PublicLinks links)
    {
        var ct = context.RequestAborted;
        var keyId = context.Caller().KeyId;
        var task = await Find(db, keyId, task_id, ct);
        if (!VideoTaskStatus.IsTerminal(task.Status)) throw ApiError.InvalidParameter($"task is {task.Status}: cancel it first");
        if (await results.RemoveAsync(task, ct)) task = await Find(db, keyId, task_id, ct);
        return Envelope.Ok(TaskView.Of(task, links));
    }

    private static async Task<IResult> Get(string task_id, string? wait, HttpContext context, PublicLinks links, TerminalTaskCache answers)
    {
        var keyId = context.Caller().KeyId;
        // A plain poll of a finished task, as clients keep sending for a while after it ends, is answered from
        // memory, without so much as taking a database context from the pool.
        if (wait is null && answers.TryGet(keyId, task_id, links, out var cached)) return Results.Bytes(cached, Envelope.ContentType);
        var db = context.RequestServices.GetRequiredService<SeedanceDb>();
        var events = context.RequestServices.GetRequiredService<TaskEvents>();
        var task = await TaskWatchEndpoints.WaitAsync(context, db, events, keyId, task_id, wait, context.RequestAborted);
        var outlook = await context.RequestServices.GetRequiredService<TaskTimings>().OutlookAsync(db, task, context.RequestAborted);
        return Results.Bytes(answers.Answer(keyId, task, links, outlook), Envelope.ContentType);
    }

    private static async Task<IResult> List(HttpContext context, SeedanceDb db, PublicLinks links, TaskTimings timings, string? page, string? page_size,
        string? status, [Microsoft.AspNetCore.Mvc.FromQuery] string[]? task_ids)
    {
        if (task_ids is { Length: > 0 }) return await Batch(context, db, links, timings, page, page_size, status, task_ids);
        var pageNumber = PositiveInt(page, "page", 1, int.MaxValue, "must be an integer of 1 or more");
        var size = PositiveInt(page_size, "page_size", 20, 100, "must be 1-100");
        CheckStatus(status);
        return Envelope.Ok(await PageAsync(db, links, timings, context.Caller().KeyId, pageNumber, size, status, context.RequestAborted));
    }

    /// <summary>A page of a key's tasks, newest first (the list's, and the console's task list).</summary>
    internal static async Task<TaskPage> PageAsync(SeedanceDb db, PublicLinks links, TaskTimings timings, long keyId, int pageNumber, int size, string? status,
        CancellationToken ct)
    {
        var skip = Paging.Skip(pageNumber, size);
        var total = (await KeyOf.For(db)(db, keyId, ct))?.TasksIn(status) ?? 0;
        var found = status is null ? PageAll.For(db)(db, keyId, skip, size) : PageWithStatus.For(db)(db, keyId, status, skip, size);
        var tasks = new List<VideoTask>(size);
        await foreach (var t in found.WithCancellation(ct)) tasks.Add(t);
        return new TaskPage(await ViewsAsync(db, timings, links, keyId, tasks, ct), total, pageNumber, size);
    }

    /// <summary>
    /// A batch read: the caller's tasks among <paramref name="taskIds"/> (ids of other keys and unknown ids are simply
    /// absent), in the order asked, in the list's shape (<c>total</c> the number found, one page as large as the ids asked).
    /// </summary>
    private static async Task<IResult> Batch(HttpContext context, SeedanceDb db, PublicLinks links, TaskTimings timings, string? page, string? page_size,
        string? status, string[] taskIds)
    {
        if (page is not null || page_size is not null) throw ApiError.InvalidParameter("task_ids cannot be combined with page or page_size");
        CheckStatus(status);
        var ids = TaskIdList.Parse(taskIds);
        var keyId = context.Caller().KeyId;
        var found = await db.Tasks.AsNoTracking()
            .Where(t => t.KeyId == keyId && ids.Contains(t.TaskId) && (status == null || t.Status == status))
            .Select(Shown).ToDictionaryAsync(t => t.TaskId, context.RequestAborted);
        var rows = await ViewsAsync(db, timings, links, keyId, ids.Where(found.ContainsKey).Select(id => found[id]).ToList(), context.RequestAborted);
        return Envelope.Ok(new TaskPage(rows, rows.Count, 1, ids.Count));
    }

    private static async Task<List<TaskView>> ViewsAsync(SeedanceDb db, TaskTimings timings, PublicLinks links, long keyId, List<VideoTask> tasks, CancellationToken ct)
    {
        var outlooks = await timings.OutlooksAsync(db, keyId, tasks, ct);
        return tasks.Select((t, i) => TaskView.Of(t, links, outlook: outlooks[i])).ToList();
    }

    /// <summary>What <see cref="TaskView"/> shows of a task.</summary>
    private static readonly System.Linq.Expressions.Expression<Func<VideoTask, VideoTask>> Shown = t => new VideoTask
    {
        Seq = t.Seq, TaskId = t.TaskId, KeyId = t.KeyId, Model = t.Model, Status = t.Status, Resolution = t.Resolution, Ratio = t.Ratio,
        Duration = t.Duration, GenerateAudio = t.GenerateAudio, Seed = t.Seed, VideoFile = t.VideoFile, LastFrameFile = t.LastFrameFile,
        ThumbnailFile = t.ThumbnailFile, ErrorCode = t.ErrorCode, ErrorMessage = t.ErrorMessage, CreditCost = t.CreditCost, CreatedAt = t.CreatedAt,
        UpdatedAt = t.UpdatedAt, ChannelName = t.ChannelName, QueuedAt = t.QueuedAt, ProcessingAt = t.ProcessingAt, ContentJson = "",
    };

    // The listing's queries, compiled once (a list request otherwise spends more time turning LINQ into SQL
    // than SQLite spends running it); the rows without their content, which the task object does not show.
    // The total is the key's own count, kept by the database with every task change: counting 100,000 tasks
    // on each request would cost more than the page itself.
    private static readonly PerModelQuery<Func<SeedanceDb, long, CancellationToken, Task<ApiKey?>>> KeyOf = new(() =>
        EF.CompileAsyncQuery((SeedanceDb db, long keyId, CancellationToken ct) => db.ApiKeys.AsNoTracking().FirstOrDefault(k => k.Id == keyId)));

    private static readonly PerModelQuery<Func<SeedanceDb, long, int, int, IAsyncEnumerable<VideoTask>>> PageAll = new(() =>
        EF.CompileAsyncQuery((SeedanceDb db, long keyId, int skip, int take) =>
            db.Tasks.AsNoTracking().Where(t => t.KeyId == keyId).OrderByDescending(t => t.Seq).Skip(skip).Take(take).Select(Shown)));

    private static readonly PerModelQuery<Func<SeedanceDb, long, string, int, int, IAsyncEnumerable<VideoTask>>> PageWithStatus = new(() =>
        EF.CompileAsyncQuery((SeedanceDb db, long keyId, string status, int skip, int take) =>
            db.Tasks.AsNoTracking().Where(t => t.KeyId == keyId && t.Status == status).OrderByDescending(t => t.Seq).Skip(skip).Take(take).Select(Shown)));

    /// <summary>A <c>status</c> filter, when given, names a status.</summary>
    internal static void CheckStatus(string? status)
    {
        if (status is not null && !VideoTaskStatus.All.Contains(status))
            throw ApiError.InvalidParameter($"status must be one of {string.Join(", ", VideoTaskStatus.All)}");
    }

    private static int PositiveInt(string? value, string name, int fallback, int max, string rule)
    {
        if (value is null) return fallback;
        if (!int.TryParse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) || n < 1 || n > max)
            throw ApiError.InvalidParameter($"{name} {rule}");
        return n;
    }

    /// <summary>
    /// A pending task is cancelled here and now. A queued or processing one is cancelled at the upstream
    /// first; if the upstream refuses, the task goes on and the caller hears TASK_CANCEL_NOT_ALLOWED. The answer says what
    /// the cancel gave back: the task's whole reservation, which its release in the ledger moved. A finished task (a
    /// cancelled one too) cannot be cancelled, as the API document says; the refusal says what became of it.
    /// </summary>
    private static async Task<IResult> Cancel(string task_id, HttpContext context, SeedanceDb db, TaskStore tasks, ChannelPool channels) =>
        Envelope.Ok(await CancelAsync(db, tasks, channels, context.Caller().KeyId, task_id, context.RequestAborted));

    /// <summary>Cancels a key's task (the API's cancel, and the console's); refusals are thrown as the API answers them.</summary>
    internal static async Task<CancelResult> CancelAsync(SeedanceDb db, TaskStore tasks, ChannelPool channels, long keyId, string task_id, CancellationToken ct)
    {
        var task = await Find(db, keyId, task_id, ct);
        if (task.Status == VideoTaskStatus.Pending)
        {
            if (await tasks.CancelAsync(task, [VideoTaskStatus.Pending], ct)) return Cancelled(task);
            task = await Find(db, keyId, task_id, ct); // it left pending meanwhile
        }
        if (VideoTaskStatus.IsTerminal(task.Status)) throw AlreadyFinished(task);

        // An active task always has its upstream id: both are written by the same update.
        if (!await channels.Get(task.ChannelName!).Provider.CancelAsync(task.UpstreamTaskId!, ct))
            throw ApiError.CancelNotAllowed($"the upstream does not cancel a task that is {task.Status}");
        if (await tasks.CancelAsync(task, VideoTaskStatus.Active, ct)) return Cancelled(task);
        // The tracker may have seen the upstream's cancellation first and recorded it: that is our cancel too.
        task = await Find(db, keyId, task_id, ct);
        if (task.Status == VideoTaskStatus.Cancelled) return Cancelled(task);
        throw AlreadyFinished(task);
    }

    // The reservation is the task's cost, released whole (TaskStore.FinishAsync): what the ledger's release entry says.
    private static CancelResult Cancelled(VideoTask task) => new(task.TaskId, VideoTaskStatus.Cancelled, task.CreditCost);

    private static ApiError AlreadyFinished(VideoTask task) => ApiError.CancelNotAllowed(task.Status switch
    {
        VideoTaskStatus.Completed => $"task is already completed ({Credits.Format(task.CreditCost)} credits charged)",
        _ => $"task is already {task.Status} ({Credits.Format(task.CreditCost)} credits refunded)",
    });

    internal static async Task<VideoTask> Find(SeedanceDb db, long keyId, string taskId, CancellationToken ct) =>
        await db.Tasks.AsNoTracking().FirstOrDefaultAsync(t => t.TaskId == taskId && t.KeyId == keyId, ct) ?? throw ApiError.TaskNotFound();
}
