using System.Threading.Channels;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Npgsql;
using Seedance.Server.Data;
using Seedance.Server.Infrastructure;
using Seedance.Server.Tasks;

namespace Seedance.Server.Nodes;

/// <summary>
/// Tells the other nodes that a task changed, so their long-polls and event streams answer as this
/// node's do. On PostgreSQL that is a <c>NOTIFY</c> on one channel with <c>node task status</c> as the
/// payload, sent in the transaction of the change (PostgreSQL delivers it when that commits, never for a
/// change rolled back). On SQLite there is one node, and <see cref="TaskEvents"/> in the process is all.
/// </summary>
public sealed class TaskSignals(NodeIdentity node)
{
    public const string Channel = "seedance_task_changes";

    public async Task SendAsync(SeedanceDb db, string taskId, string status, CancellationToken ct)
    {
        if (!db.Database.IsNpgsql()) return;
        var payload = $"{node.Id} {taskId} {status}";
        await db.Database.ExecuteSqlAsync($"SELECT pg_notify({Channel}, {payload})", ct);
    }

    /// <summary>The task id of a payload sent by another node; null for this node's own (already told in the process) or a malformed one.</summary>
    public string? ForeignTaskId(string payload)
    {
        var parts = payload.Split(' ');
        return parts.Length == 3 && parts[0] != node.Id ? parts[1] : null;
    }
}

/// <summary>
/// On PostgreSQL, listens to the other nodes' <see cref="TaskSignals"/> on a connection of its own and
/// hands each change of a task watched here to <see cref="TaskEvents"/>, as read from the database. The
/// connection is re-opened when it breaks; then every watched task is read again, since changes made
/// meanwhile were not heard.
/// </summary>
public sealed class TaskSignalListener(IServiceScopeFactory scopes, TaskSignals signals, TaskEvents events, IOptions<SeedanceOptions> options,
    ILogger<TaskSignalListener> logger) : BackgroundService
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
            if (signals.ForeignTaskId(e.Payload) is { } taskId && events.IsWatched(taskId)) _changed.Writer.TryWrite(taskId);
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
