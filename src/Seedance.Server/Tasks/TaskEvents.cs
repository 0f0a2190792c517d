using System.Collections.Concurrent;
using System.Threading.Channels;

namespace Seedance.Server.Tasks;

/// <summary>
/// Status changes of tasks as they commit in this process (and, on PostgreSQL, in the other nodes: see
/// <see cref="Nodes.TaskSignalListener"/>), for those waiting on them (long-polls and event streams).
/// Nothing is kept for a task nobody watches.
/// </summary>
public sealed class TaskEvents
{
    private readonly ConcurrentDictionary<string, ImmutableSubscribers> _watchers = new();

    public bool IsWatched(string taskId) => _watchers.ContainsKey(taskId);

    /// <summary>The tasks watched now.</summary>
    public IReadOnlyCollection<string> Watched => [.. _watchers.Keys];

    /// <summary>Starts watching a task; dispose to stop. Subscribe before reading the task, so no change falls in between.</summary>
    public Subscription Subscribe(string taskId)
    {
        var subscription = new Subscription(this, taskId);
        _watchers.AddOrUpdate(taskId, _ => new ImmutableSubscribers([subscription]), (_, s) => new ImmutableSubscribers([.. s.All, subscription]));
        return subscription;
    }

    /// <summary>Tells every watcher of the task about its state right after a change committed.</summary>
    public void Publish(VideoTask task)
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
