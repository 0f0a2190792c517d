using Seedance.Server.Data;

namespace Seedance.Server.Nodes;

/// <summary>
/// Keeps the nodes of one database in step: tells the others of each task change and upstream report made here
/// (<see cref="NodeSignals"/>), and publishes theirs on this node's <see cref="TaskFeed"/>, so long-polls and event
/// streams here answer as the changing node's do, and the node tracking a task checks it at once. When listening
/// (re)starts, changes made meanwhile were not heard: the observers are told so (they read what they watch afresh).
/// </summary>
public sealed class NodeRelay(NodeSignals signals, TaskFeed feed, ILogger<NodeRelay> logger) : BackgroundService, ITaskObserver
{
    private static readonly TimeSpan Reconnect = TimeSpan.FromSeconds(1);
    private readonly System.Threading.Channels.Channel<Func<Task>> _heard =
        System.Threading.Channels.Channel.CreateUnbounded<Func<Task>>(new() { SingleReader = true });

    public async ValueTask OnChangedAsync(TaskChanged change, CancellationToken ct)
    {
        // A new task has no watchers anywhere yet.
        if (!change.FromOtherNode && !change.IsNew) await signals.SendChangedAsync(change.TaskId, change.Status, ct);
    }

    public async ValueTask OnCheckRequestedAsync(CheckRequested request, CancellationToken ct)
    {
        if (!request.FromOtherNode) await signals.SendCheckAsync(request.TaskId, ct);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var publishing = PublishAsync(stoppingToken);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await signals.ListenAsync(
                    changed => _heard.Writer.TryWrite(() => feed.PublishAsync(changed, stoppingToken)),
                    check => _heard.Writer.TryWrite(() => feed.RequestCheckAsync(check, stoppingToken)),
                    () => _heard.Writer.TryWrite(() => feed.PublishMissedAsync(stoppingToken)),
                    stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { break; }
            catch (Exception e) { logger.LogWarning(e, "Listening for other nodes' task changes failed; reconnecting"); }
            await Task.Delay(Reconnect, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
        await publishing;
    }

    // Off the listening connection's thread, one at a time, in the order heard.
    private async Task PublishAsync(CancellationToken ct)
    {
        try
        {
            await foreach (var publish in _heard.Reader.ReadAllAsync(ct)) await publish();
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested) { }
    }
}
