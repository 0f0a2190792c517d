using Seedance.Server.Infrastructure;

namespace Seedance.Server.Data;

/// <summary>
/// Messages between the nodes of one database, as <c>node kind task [status]</c>. On PostgreSQL a NOTIFY on one
/// channel, delivered once its transaction commits; on SQLite there is one node and nothing to send.
/// </summary>
public sealed class NodeSignals(DatabaseWriter writer, NodeIdentity node) : Store(writer)
{
    private const string Changed = "changed", Check = "check";

    /// <summary>The task is now <paramref name="status"/>.</summary>
    public Task SendChangedAsync(string taskId, string status, CancellationToken ct) => SendAsync($"{Changed} {taskId} {status}", ct);

    /// <summary>The upstream says the task changed: whoever tracks it should look now.</summary>
    public Task SendCheckAsync(string taskId, CancellationToken ct) => SendAsync($"{Check} {taskId}", ct);

    private Task SendAsync(string message, CancellationToken ct) =>
        Dialect.SingleWriter ? Task.CompletedTask : WriteAsync(async (db, token) =>
        {
            await Dialect.NotifyAsync(db, $"{node.Id} {message}", token);
            return true;
        }, ct);

    /// <summary>Hears the other nodes until cancelled (never, with one node); <paramref name="connected"/> runs whenever listening (re)starts.</summary>
    public Task ListenAsync(Action<TaskChanged> changed, Action<CheckRequested> check, Action connected, CancellationToken ct) =>
        Dialect.ListenAsync(payload =>
        {
            switch (Parse(payload))
            {
                case ({ } taskId, null):
                    check(new CheckRequested(taskId, FromOtherNode: true));
                    break;
                case ({ } taskId, { } status):
                    changed(new TaskChanged(taskId, status, FromOtherNode: true));
                    break;
            }
        }, connected, ct);

    /// <summary>A signal from another node (this node's own were handled in the process); null for a malformed one.</summary>
    internal (string TaskId, string? Status)? Parse(string payload)
    {
        var parts = payload.Split(' ');
        if (parts.Length < 3 || parts[0] == node.Id) return null;
        return parts[1] switch
        {
            Changed when parts.Length >= 4 => (parts[2], parts[3]),
            Check => (parts[2], null),
            _ => null,
        };
    }
}
