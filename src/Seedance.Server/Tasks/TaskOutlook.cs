using Seedance.Server.Data;

namespace Seedance.Server.Tasks;

/// <summary>
/// Where a task stands, as the task object shows it after the document's fields: its place among the key's waiting tasks,
/// when it should finish and how far it has got. Each is null where it is not known (no history yet) or no longer means
/// anything (a finished task); a completed task's progress is 100.
/// </summary>
public sealed record TaskOutlook(int? QueuePosition, DateTime? EstimatedFinishAt, int? Progress)
{
    public static readonly TaskOutlook Unknown = new(null, null, null);
    private static readonly TaskOutlook Done = new(null, null, 100);

    /// <summary>What a finished task shows; null for a task that is not finished.</summary>
    public static TaskOutlook? Finished(string status) =>
        status == VideoTaskStatus.Completed ? Done : VideoTaskStatus.IsTerminal(status) ? Unknown : null;
}

/// <summary>A pending task's place: how many of its key's tasks are handed over before it, and the key's concurrency slots.</summary>
/// <param name="Ahead">The key's pending tasks submitted before it (0: it is next).</param>
/// <param name="FreeSlots">Slots of the key's concurrency limit not taken by its queued or processing tasks.</param>
/// <param name="MaxConcurrent">The key's concurrency limit.</param>
public readonly record struct KeyQueue(int Ahead, int FreeSlots, int MaxConcurrent);

/// <summary>
/// The estimate itself, from a task's timestamps and the run time (hand-over to completion) measured recently for tasks
/// like it. Pure: the same inputs give the same answer.
/// <list type="bullet">
/// <item>Queued or processing: it should end <c>median − time since hand-over</c> from now, at the earliest now (an overdue
/// task may end any moment). Progress is the time spent over the time spent plus the time left, below 100: it never goes
/// back while the history stays the same, since the time left only shrinks.</item>
/// <item>Pending: the same run, after the wait its key's slots imply. A task with a free slot before it goes at the next
/// round; otherwise it waits for the <c>j</c>-th slot to free up, every slot freeing once per run and the running tasks
/// being on average half-way (the <c>j</c>-th of <c>C</c> ends after <c>j/(C+1)</c> of a run). Progress 0.</item>
/// </list>
/// </summary>
public static class TaskEstimate
{
    /// <param name="runSeconds">The median run time of tasks like this one, or null when there is not enough history.</param>
    /// <param name="queue">The key's queue, for a pending task (without it a pending task has no position).</param>
    /// <param name="slotSeconds">How long a slot stays taken, for a pending task's wait: the median run of every kind of task
    /// (the tasks before it need not be like it); <paramref name="runSeconds"/> when not given.</param>
    public static TaskOutlook Of(VideoTask task, double? runSeconds, DateTime now, KeyQueue? queue, double? slotSeconds = null)
    {
        if (TaskOutlook.Finished(task.Status) is { } finished) return finished;
        if (task.Status == VideoTaskStatus.Pending)
        {
            var position = queue?.Ahead;
            if (runSeconds is not { } run || queue is not { } q) return new TaskOutlook(position, null, null);
            return new TaskOutlook(position, now.AddSeconds(Wait(q, slotSeconds ?? run) + run), 0);
        }
        if (runSeconds is not { } median) return TaskOutlook.Unknown;
        var since = task.QueuedAt ?? task.ProcessingAt ?? task.UpdatedAt;
        var spent = Math.Max(0, (now - since).TotalSeconds);
        var left = Math.Max(0, median - spent);
        return new TaskOutlook(null, now.AddSeconds(left), Progress(spent, left));
    }

    /// <summary>Seconds a pending task waits for a slot of its key.</summary>
    public static double Wait(KeyQueue queue, double runSeconds)
    {
        if (queue.Ahead < queue.FreeSlots) return 0;
        var slots = Math.Max(1, queue.MaxConcurrent);
        var j = queue.Ahead - Math.Max(0, queue.FreeSlots); // the (j+1)-th slot to free up, counted from 0
        return j / slots * runSeconds + runSeconds * (j % slots + 1) / (slots + 1);
    }

    /// <summary>0-99: the share of the run done; 100 is only for a completed task.</summary>
    public static int Progress(double spentSeconds, double leftSeconds) =>
        spentSeconds + leftSeconds <= 0 ? 0 : Math.Min(99, (int)(100 * spentSeconds / (spentSeconds + leftSeconds)));

    /// <summary>The duration band a task's history is kept in: 4-5, 6-8, 9-11 and 12 s or more.</summary>
    public static int Band(int durationSeconds) => durationSeconds switch { <= 5 => 0, <= 8 => 1, <= 11 => 2, _ => 3 };
}
