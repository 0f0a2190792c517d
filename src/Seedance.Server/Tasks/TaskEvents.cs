using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.EntityFrameworkCore;
using Seedance.Server.Data;

namespace Seedance.Server.Tasks;

/// <summary>
/// Status changes of tasks as they commit in this process and, with several nodes, in the others (heard on the
/// <see cref="TaskFeed"/>), for those waiting on them (long-polls and event streams). Nothing is kept, and nothing
/// read, for a task nobody watches.
/// </summary>
public sealed class TaskEvents(IServiceScopeFactory scopes) : ITaskObserver
{
    private readonly ConcurrentDictionary<string, ImmutableSubscribers> _watchers = new();

    public bool IsWatched(string taskId) => _watchers.ContainsKey(taskId);

    /// <summary>Starts watching a task; dispose to stop. Subscribe before reading the task, so no change falls in between.</summary>
    public Subscription Subscribe(string taskId)
    {
        var subscription = new Subscription(this, taskId);
        _watchers.AddOrUpdate(taskId, _ => new ImmutableSubscribers([subscription]), (_, s) => new ImmutableSubscribers([.. s.All, subscription]));
        return subscription;
    }

    public async ValueTask OnChangedAsync(TaskChanged change, CancellationToken ct)
    {
        if (!IsWatched(change.TaskId)) return;
        var task = change.Task is { } known && known.Status == change.Status ? known : await ReadAsync(change.TaskId);
        if (task is null) return;
        if (!change.FromOtherNode && task.Status != change.Status)
        {
            // It moved on already (its own announcement follows): show this step as it was, without what came later.
            task.Status = change.Status;
            task.VideoFile = task.LastFrameFile = task.ThumbnailFile = task.ErrorCode = task.ErrorMessage = null;
        }
        Publish(task);
    }

    public async ValueTask OnChangesMissedAsync(CancellationToken ct)
    {
        foreach (var taskId in _watchers.Keys)
            if (await ReadAsync(taskId) is { } task) Publish(task);
    }

    private async Task<VideoTask?> ReadAsync(string taskId)
    {
        await using var scope = scopes.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<SeedanceDb>().Tasks.AsNoTracking().FirstOrDefaultAsync(t => t.TaskId == taskId);
    }

    /// <summary>Tells every watcher of the task about its state right after a change committed.</summary>
    private void Publish(VideoTask task)
    {
        if (!_watchers.TryGetValue(task.TaskId, out var subscribers)) return;
        foreach (var subscription in subscribers.All) subscription.Changes.Writer.TryWrite(task);
    }

    private void Remove(Subscription subscription)
    {
        while (_watchers.TryGetValue(subscription.TaskId, out var current))
        {
            var rest = current.All.Where(s => s != subscription).ToArray();
            if (rest.Length == 0 ? _watchers.TryRemove(KeyValuePair.Create(subscription.TaskId, current))
                                 : _watchers.TryUpdate(subscription.TaskId, new ImmutableSubscribers(rest), current))
                return;
        }
    }

    private sealed record ImmutableSubscribers(Subscription[] All);

    public sealed class Subscription(TaskEvents events, string taskId) : IDisposable
    {
        public string TaskId { get; } = taskId;
        /// <summary>The task as it was after each change, in commit order.</summary>
        public Channel<VideoTask> Changes { get; } = Channel.CreateUnbounded<VideoTask>(new UnboundedChannelOptions { SingleReader = true });

        public void Dispose() => events.Remove(this);
    }
}
