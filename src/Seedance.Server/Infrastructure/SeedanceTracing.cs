using System.Diagnostics;

namespace Seedance.Server.Infrastructure;

/// <summary>
/// The spans of a task's life: its submission, its hand-over, each upstream call, the copy of its result and each
/// callback attempt, each carrying <c>seedance.task_id</c>. Their trace id is the task id itself (both are 32 hex
/// characters), so the whole life of a task is one trace, found by its task id, though its steps run in different
/// requests, workers and nodes: each step's span is a root of that trace. A submission's span links to the request
/// that made it (and so to the client's own trace). Nothing is recorded unless tracing is on (no listener: no span).
/// </summary>
public static class SeedanceTracing
{
    public const string SourceName = "Seedance.Server";
    public const string TaskIdTag = "seedance.task_id";
    /// <summary>The log scope of work on one task: printed as <c>TaskId:...</c>, and a <c>TaskId</c> field in JSON logs.</summary>
    public const string TaskScope = "TaskId:{TaskId}";

    public static readonly ActivitySource Source = new(SourceName);

    /// <summary>A span of the task's trace (see the class), or null when nobody listens.</summary>
    public static Activity? StartTask(string name, string taskId, ActivityKind kind = ActivityKind.Internal, ActivityContext? linkTo = null)
    {
        if (!Source.HasListeners()) return null;
        var parent = IsTraceId(taskId)
            ? new ActivityContext(ActivityTraceId.CreateFromString(taskId), default, ActivityTraceFlags.Recorded, isRemote: true)
            : default;
        IEnumerable<ActivityLink>? links = linkTo is { } link && link != default ? [new ActivityLink(link)] : null;
        return Source.StartActivity(kind, parent, [new(TaskIdTag, taskId)], links, name: name);
    }

    /// <summary>A span under the current one (an upstream call within a hand-over or a check).</summary>
    public static Activity? Start(string name, ActivityKind kind = ActivityKind.Internal) =>
        Source.HasListeners() ? Source.StartActivity(name, kind) : null;

    /// <summary>Marks the span failed with the exception's type and message.</summary>
    public static void Fail(this Activity? activity, Exception e)
    {
        if (activity is null) return;
        activity.SetStatus(ActivityStatusCode.Error, e.Message);
        activity.AddException(e);
    }

    private static bool IsTraceId(string id) => id.Length == 32 && id.All(char.IsAsciiHexDigitLower) && id.Any(c => c != '0');
}
