using System.Threading.Channels;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Npgsql;
using Seedance.Server.Data;
using Seedance.Server.Dispatch;
using Seedance.Server.Infrastructure;
using Seedance.Server.Tasks;

namespace Seedance.Server.Nodes;

/// <summary>
/// Tells the other nodes that a task changed, so their long-polls and event streams answer as this
/// node's do, or that the upstream reported a change of a task (its callback may reach any node; the node
/// tracking the task checks it at once). On PostgreSQL that is a <c>NOTIFY</c> on one channel with
/// <c>node kind task [status]</c> as the payload, a change's sent in its transaction (PostgreSQL delivers
/// it when that commits, never for a change rolled back). On SQLite there is one node, and what happens
/// in the process is all.
/// </summary>
public sealed class TaskSignals(NodeIdentity node)
{
    public const string Channel = "seedance_tasks";
    private const string Changed = "changed", Check = "check";

    /// <summary>The task is now <paramref name="status"/>.</summary>
    public Task SendChangedAsync(SeedanceDb db, string taskId, string status, CancellationToken ct) => SendAsync(db, $"{Changed} {taskId} {status}", ct);

    /// <summary>The upstream says the task changed: whoever tracks it should look now.</summary>
    public Task SendCheckAsync(SeedanceDb db, string taskId, CancellationToken ct) => SendAsync(db, $"{Check} {taskId}", ct);

    private async Task SendAsync(SeedanceDb db, string message, CancellationToken ct)
    {
        if (!db.Database.IsNpgsql()) return;
        var payload = $"{node.Id} {message}";
        await db.Database.ExecuteSqlAsync($"SELECT pg_notify({Channel}, {payload})", ct);
    }

    /// <summary>A signal from another node (this node's own were handled in the process); null for a malformed one.</summary>
    public (string TaskId, bool IsCheck)? Parse(string payload)
    {
        var parts = payload.Split(' ');
        if (parts.Length < 3 || parts[0] == node.Id) return null;
        return parts[1] switch
        {
            Changed => (parts[2], false),
            Check => (parts[2], true),
            _ => null,
        };
    }
}

/// <summary>
/// On PostgreSQL, listens to the other nodes' <see cref="TaskSignals"/> on a connection of its own: hands
/// each change of a task watched here to <see cref="TaskEvents"/>, as read from the database, and passes
/// upstream reports on to the <see cref="Tracker"/>. The connection is re-opened when it breaks; then every
/// watched task is read again, since changes made meanwhile were not heard.
/// </summary>
public sealed class TaskSignalListener(IServiceScopeFactory scopes, TaskSignals signals, TaskEvents events, Tracker tracker,
    IOptions<SeedanceOptions> options, ILogger<TaskSignalListener> logger) : BackgroundService
{
    private static readonly TimeSpan Probe = TimeSpan.FromSeconds(15), Reconnect = TimeSpan.FromSeconds(1);
    private readonly Channel<string> _changed = System.Threading.Channels.Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true });

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (options.Value.Database.Provider != "postgres") return;
        var publishing = PublishAsync(stoppingToken);
        while (!stoppingToken.IsCancellationRequested)
        {
            try { await ListenAsync(stoppingToken); }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { break; }
            catch (Exception e) { logger.LogWarning(e, "Listening for other nodes' task changes failed; reconnecting"); }
            await Task.Delay(Reconnect, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
        await publishing;
    }

    private async Task ListenAsync(CancellationToken ct)
    {
        var connectionString = new NpgsqlConnectionStringBuilder(options.Value.Database.ConnectionString) { Pooling = false }.ConnectionString;
        await using var connection = new NpgsqlConnection(connectionString);
        connection.Notification += (_, e) =>
        {
            switch (signals.Parse(e.Payload))
            {
                case ({ } taskId, true):
                    tracker.Nudge(taskId);
                    break;
                case ({ } taskId, false) when events.IsWatched(taskId):
                    _changed.Writer.TryWrite(taskId);
                    break;
            }
        };
        await connection.OpenAsync(ct);
        await using (var listen = new NpgsqlCommand($"LISTEN {TaskSignals.Channel}", connection)) await listen.ExecuteNonQueryAsync(ct);
        foreach (var taskId in events.Watched) _changed.Writer.TryWrite(taskId); // what changed while not listening
        while (true)
        {
            if (await connection.WaitAsync(Probe, ct)) continue;
            await using var probe = new NpgsqlCommand("SELECT 1", connection); // a quiet connection may be a dead one
            await probe.ExecuteNonQueryAsync(ct);
        }
    }

    private async Task PublishAsync(CancellationToken ct)
    {
        try
        {
            await foreach (var taskId in _changed.Reader.ReadAllAsync(ct))
            {
                try
                {
                    await using var scope = scopes.CreateAsyncScope();
                    var db = scope.ServiceProvider.GetRequiredService<SeedanceDb>();
                    if (await db.Tasks.AsNoTracking().FirstOrDefaultAsync(t => t.TaskId == taskId, ct) is { } task) events.Publish(task);
                }
                catch (Exception e) when (e is not OperationCanceledException) { logger.LogWarning(e, "Reading task {TaskId} after another node changed it failed", taskId); }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested) { }
    }
}
