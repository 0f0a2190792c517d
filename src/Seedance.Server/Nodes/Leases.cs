using Microsoft.EntityFrameworkCore;
using Seedance.Server.Callbacks;
using Seedance.Server.Data;
using Seedance.Server.Infrastructure;
using Seedance.Server.Tasks;
using TaskStatus = Seedance.Server.Tasks.TaskStatus;

namespace Seedance.Server.Nodes;

/// <summary>
/// Claims on work shared by the nodes of one database. A claim names its node and runs out at
/// <c>lease_expires_at</c>; the node's heartbeat (<see cref="LeaseKeeper"/>) pushes that forward while the
/// node lives, so only a node that stopped heartbeating loses its work, and then to whichever node claims
/// it next.
/// <para>
/// A claim is one statement, <c>UPDATE ... WHERE id IN (SELECT ... unleased or lease run out ... FOR UPDATE
/// SKIP LOCKED) RETURNING id</c>. On PostgreSQL the subquery locks the rows it picks and skips rows another
/// node is claiming at the same moment, and re-reads a row that changed under it (read committed), so a row
/// is never claimed by two nodes and no node waits for another. SQLite has no row locks and no SKIP LOCKED;
/// there the statement runs without that clause and is just as exclusive, because SQLite runs one writing
/// statement at a time (and serves one node). Same statement, same code path, one clause apart.
/// </para>
/// </summary>
public static class Leases
{
    /// <summary>Claims up to <paramref name="limit"/> of a key's pending tasks that are due, oldest first; returns their sequence numbers.</summary>
    public static Task<List<long>> ClaimPendingAsync(SeedanceDb db, NodeIdentity node, long keyId, int limit, DateTime now, CancellationToken ct) =>
        ClaimAsync(db, "video_tasks", "seq",
            "key_id = {2} AND status = 'pending' AND (retry_at IS NULL OR retry_at <= {3})", "seq", limit, [node.Id, now + node.Lease, keyId, now], ct);

    /// <summary>Claims up to <paramref name="limit"/> tasks at an upstream that no live node tracks.</summary>
    public static Task<List<long>> ClaimActiveAsync(SeedanceDb db, NodeIdentity node, int limit, DateTime now, CancellationToken ct) =>
        ClaimAsync(db, "video_tasks", "seq",
            "status IN ('queued', 'processing') AND provider_task_id IS NOT NULL", "seq", limit, [node.Id, now + node.Lease, now, now], ct);

    /// <summary>Claims up to <paramref name="limit"/> callbacks that are due, earliest first; returns their ids.</summary>
    public static Task<List<long>> ClaimDeliveriesAsync(SeedanceDb db, NodeIdentity node, int limit, DateTime now, CancellationToken ct) =>
        ClaimAsync(db, "webhook_deliveries", "id",
            "status = 'pending' AND next_attempt_at <= {3}", "next_attempt_at", limit, [node.Id, now + node.Lease, now, now], ct);

    /// <param name="args">{0} the node, {1} the lease's end, {2} free for the condition, {3} now; the limit is {4}.</param>
    private static async Task<List<long>> ClaimAsync(SeedanceDb db, string table, string id, string condition, string order, int limit,
        object[] args, CancellationToken ct)
    {
        if (limit <= 0) return [];
        var skipLocked = db.Database.IsNpgsql() ? " FOR UPDATE SKIP LOCKED" : "";
        var sql = $$"""
            UPDATE {{table}} SET lease_owner = {0}, lease_expires_at = {1}
            WHERE {{id}} IN (SELECT {{id}} FROM {{table}}
                WHERE {{condition}} AND (lease_expires_at IS NULL OR lease_expires_at <= {3})
                ORDER BY {{order}} LIMIT {4}{{skipLocked}})
            RETURNING {{id}} AS "Value"
            """;
        return await db.Database.SqlQueryRaw<long>(sql, [.. args, limit]).ToListAsync(ct);
    }

    /// <summary>Gives up a pending task this node claimed but did not hand over: any node may take it at its turn.</summary>
    public static Task<int> ReleasePendingAsync(SeedanceDb db, NodeIdentity node, string taskId, CancellationToken ct) =>
        db.Tasks.Where(t => t.TaskId == taskId && t.LeaseOwner == node.Id && t.Status == TaskStatus.Pending)
            .ExecuteUpdateAsync(s => s
                .SetProperty(t => t.LeaseOwner, (string?)null)
                .SetProperty(t => t.LeaseExpiresAt, (DateTime?)null)
                .SetProperty(t => t.HandOverStartedAt, (DateTime?)null), ct);

    /// <summary>Pushes forward every lease this node holds on work not yet done; returns how many.</summary>
    public static async Task<int> RenewAsync(SeedanceDb db, NodeIdentity node, DateTime now, CancellationToken ct)
    {
        var until = now + node.Lease;
        var tasks = await db.Tasks.Where(t => t.LeaseOwner == node.Id && TaskStatus.NonTerminal.Contains(t.Status))
            .ExecuteUpdateAsync(s => s.SetProperty(t => t.LeaseExpiresAt, until), ct);
        var deliveries = await db.WebhookDeliveries.Where(d => d.LeaseOwner == node.Id && d.Status == DeliveryStatus.Pending)
            .ExecuteUpdateAsync(s => s.SetProperty(d => d.LeaseExpiresAt, until), ct);
        return tasks + deliveries;
    }

    /// <summary>Lets every lease this node holds run out now (it is stopping).</summary>
    public static async Task GiveUpAllAsync(SeedanceDb db, NodeIdentity node, DateTime now, CancellationToken ct)
    {
        await db.Tasks.Where(t => t.LeaseOwner == node.Id && t.LeaseExpiresAt > now && TaskStatus.NonTerminal.Contains(t.Status))
            .ExecuteUpdateAsync(s => s.SetProperty(t => t.LeaseExpiresAt, now), ct);
        await db.WebhookDeliveries.Where(d => d.LeaseOwner == node.Id && d.LeaseExpiresAt > now && d.Status == DeliveryStatus.Pending)
            .ExecuteUpdateAsync(s => s.SetProperty(d => d.LeaseExpiresAt, now), ct);
    }

    /// <summary>
    /// At start: leases held under this node's id are a previous life's (a node id names one live process),
    /// and on SQLite, which serves one node, every lease is; they run out now and the work is claimed again
    /// like a dead node's, without waiting out the lease time.
    /// </summary>
    public static async Task ExpirePreviousLifeAsync(SeedanceDb db, NodeIdentity node, DateTime now, CancellationToken ct)
    {
        var all = db.Database.IsSqlite();
        await db.Tasks.Where(t => (all || t.LeaseOwner == node.Id) && t.LeaseExpiresAt > now)
            .ExecuteUpdateAsync(s => s.SetProperty(t => t.LeaseExpiresAt, now), ct);
        await db.WebhookDeliveries.Where(d => (all || d.LeaseOwner == node.Id) && d.LeaseExpiresAt > now)
            .ExecuteUpdateAsync(s => s.SetProperty(d => d.LeaseExpiresAt, now), ct);
    }
}

/// <summary>
/// The heartbeat: renews this node's leases three times per lease time. When the node stops in good
/// order (after the workers, which are registered after it), its leases run out at once, so the other
/// nodes take its work over without waiting out the lease time.
/// </summary>
public sealed class LeaseKeeper(IServiceScopeFactory scopes, NodeIdentity node, TimeProvider clock, GroupCommit writes, ILogger<LeaseKeeper> logger)
    : PeriodicWorker(clock, logger)
{
    protected override TimeSpan Interval => node.HeartbeatInterval;

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        try
        {
            await using var scope = scopes.CreateAsyncScope();
            await Leases.GiveUpAllAsync(scope.ServiceProvider.GetRequiredService<SeedanceDb>(), node, Clock.GetUtcNow().UtcDateTime, cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException) { Logger.LogWarning(e, "Could not give up this node's leases; they run out by themselves"); }
    }

    public override async Task<bool> RunOnceAsync(CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        await writes.RunAsync(scope.ServiceProvider.GetRequiredService<SeedanceDb>(),
            (w, token) => Leases.RenewAsync(w, node, Clock.GetUtcNow().UtcDateTime, token), ct);
        return false;
    }
}
