namespace Seedance.Server.Data;

/// <summary>A task's status changed (or it was created), as committed. <paramref name="Task"/> is the row after the change when the store read it.</summary>
public sealed record TaskChanged(string TaskId, string Status, VideoTask? Task = null, bool IsNew = false, bool FromOtherNode = false);

/// <summary>The upstream reported a change of the task: whoever tracks it should look now.</summary>
public sealed record CheckRequested(string TaskId, bool FromOtherNode = false);

/// <summary>
/// What happens after a task's change committed: long-polls and event streams wake, the other nodes hear of it,
/// the dispatcher and the callback sender look for work. Registered as services; a host without them (the command
/// line) simply has none.
/// </summary>
public interface ITaskObserver
{
    ValueTask OnChangedAsync(TaskChanged change, CancellationToken ct) => ValueTask.CompletedTask;

    ValueTask OnCheckRequestedAsync(CheckRequested request, CancellationToken ct) => ValueTask.CompletedTask;

    /// <summary>Changes made on other nodes may have gone unheard (the connection that hears them was re-opened).</summary>
    ValueTask OnChangesMissedAsync(CancellationToken ct) => ValueTask.CompletedTask;
}

/// <summary>
/// Publishes task events in process, after commit, to every <see cref="ITaskObserver"/>, in registration order. An
/// observer that fails is logged and does not keep the others from hearing, nor undo what committed.
/// </summary>
public sealed class TaskFeed(IServiceProvider services, ILogger<TaskFeed> logger)
{
    // Resolved at the first event: observers (the dispatcher, the tracker) use the stores that publish here.
    private ITaskObserver[]? _observers;

    private ITaskObserver[] Observers => _observers ??= services.GetServices<ITaskObserver>().ToArray();

    public Task PublishAsync(TaskChanged change, CancellationToken ct = default) =>
        TellAsync(o => o.OnChangedAsync(change, ct), change, ct);

    public Task RequestCheckAsync(CheckRequested request, CancellationToken ct = default) =>
        TellAsync(o => o.OnCheckRequestedAsync(request, ct), request, ct);

    public Task PublishMissedAsync(CancellationToken ct = default) =>
        TellAsync(o => o.OnChangesMissedAsync(ct), "catching up with missed changes", ct);

    /// <param name="what">The event, logged only when an observer fails (a submission publishes one: nothing is formatted for it otherwise).</param>
    private async Task TellAsync(Func<ITaskObserver, ValueTask> tell, object what, CancellationToken ct)
    {
        foreach (var observer in Observers)
        {
            try { await tell(observer); }
            catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                logger.LogWarning(e, "{Observer} failed on {What}", observer.GetType().Name, what);
            }
        }
    }
}
