using System.Diagnostics.Metrics;
using Microsoft.EntityFrameworkCore;
using Seedance.Server.Data;
using Seedance.Server.Infrastructure;

namespace Seedance.Server.Operations;

/// <summary>
/// The task instruments: submissions and ends counted as they commit on this node (heard on the <see cref="TaskFeed"/>,
/// so nothing is added to the request path), and <c>seedance_tasks{status}</c>, the current counts. Those are read at
/// each scrape from the per-key counts the database keeps (<see cref="ApiKey.TasksIn"/>): one sum over the keys' rows,
/// never a count over the tasks.
/// </summary>
public sealed class TaskMetrics : ITaskObserver
{
    private readonly SeedanceMetrics _metrics;
    private readonly IServiceScopeFactory _scopes;

    public TaskMetrics(SeedanceMetrics metrics, IServiceScopeFactory scopes)
    {
        (_metrics, _scopes) = (metrics, scopes);
        metrics.Meter.CreateObservableGauge("seedance.tasks", Current, description: "Tasks in each status now, across all nodes");
    }

    public ValueTask OnChangedAsync(TaskChanged change, CancellationToken ct)
    {
        // Another node's change is counted there; an event without the row is a move on the way (queued, processing).
        if (change.FromOtherNode || change.Task is not { } task) return ValueTask.CompletedTask;
        if (change.IsNew) _metrics.TaskSubmitted(task.Model, task.Resolution);
        // A finished task is published again when its result files are removed: that is not a second end.
        else if (VideoTaskStatus.IsTerminal(change.Status) && task.ResultsRemovedAt is null)
            _metrics.TaskFinished(task.Model, task.Status, task.ErrorCode, (task.FinishedAt ?? task.UpdatedAt) - task.CreatedAt);
        return ValueTask.CompletedTask;
    }

    private IEnumerable<Measurement<long>> Current()
    {
        using var scope = _scopes.CreateScope();
        var sums = scope.ServiceProvider.GetRequiredService<SeedanceDb>().ApiKeys.AsNoTracking()
            .GroupBy(_ => 1)
            .Select(g => new
            {
                Pending = g.Sum(k => (long)k.TasksPending), Queued = g.Sum(k => (long)k.TasksQueued), Processing = g.Sum(k => (long)k.TasksProcessing),
                Completed = g.Sum(k => (long)k.TasksCompleted), Failed = g.Sum(k => (long)k.TasksFailed), Cancelled = g.Sum(k => (long)k.TasksCancelled),
                Expired = g.Sum(k => (long)k.TasksExpired),
            })
            .FirstOrDefault();
        // In the order of VideoTaskStatus.All.
        long[] counts = sums is null ? new long[VideoTaskStatus.All.Length]
            : [sums.Pending, sums.Queued, sums.Processing, sums.Completed, sums.Failed, sums.Cancelled, sums.Expired];
        for (var i = 0; i < VideoTaskStatus.All.Length; i++)
            yield return new Measurement<long>(counts[i], new KeyValuePair<string, object?>("status", VideoTaskStatus.All[i]));
    }
}
