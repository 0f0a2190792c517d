using Microsoft.EntityFrameworkCore;
using Seedance.Server.Infrastructure;

namespace Seedance.Server.Data;

/// <summary>
/// Claims on work shared by the nodes of one database: pending tasks to hand over, tasks at an upstream to track,
/// callbacks to send. A claim names its node and runs out at <c>lease_expires_at</c>; the node's heartbeat pushes
/// that forward while the node lives, so only a node that stopped heartbeating loses its work, and then to whichever
/// node claims it next.
/// <para>
/// A claim is one statement, <c>UPDATE ... WHERE id IN (SELECT ... unleased or lease run out ... LIMIT n) RETURNING id</c>,
/// with the dialect's <see cref="SqlDialect.SkipLocked"/> on the selection: on PostgreSQL a row is never claimed by two
/// nodes and no node waits for another; SQLite runs one writing statement at a time and serves one node.
/// </para>
/// </summary>
public sealed class LeaseStore(DatabaseWriter writer, NodeIdentity node) : Store(writer)
{
    /// <summary>
    /// Claims what fits into the key's free concurrency slots of its pending tasks that are due, oldest first, at most
    /// <paramref name="budget"/>; returns their sequence numbers. A slot is taken by a task at the upstream and by a
    /// pending one that a node is handing over (a live lease), so nodes dispatching side by side never start more than
    /// the limit: the count and the claim run in one transaction under the dialect's per-key lock.
    /// </summary>
    public Task<List<long>> ClaimPendingAsync(long keyId, int budget, DateTime now, CancellationToken ct) =>
        WriteAsync(async (db, token) =>
        {
            await Dialect.LockKeySlotsAsync(db, keyId, token);
            // The key's active tasks are its own counts (kept by the database); pending ones being handed over are few.
            var key = await db.ApiKeys.Where(k => k.Id == keyId).Select(k => new { k.MaxConcurrent, Active = k.TasksQueued + k.TasksProcessing }).FirstAsync(token);
            var busy = key.Active + await db.Tasks.CountAsync(t => t.KeyId == keyId && t.Status == VideoTaskStatus.Pending && t.LeaseExpiresAt > now, token);
            return await ClaimIn(db, "video_tasks", "seq",
                "key_id = {2} AND status = 'pending' AND (retry_at IS NULL OR retry_at <= {3})", "seq",
                Math.Min(key.MaxConcurrent - busy, budget), [node.Id, now + node.Lease, keyId, now], token);
        }, ct);

    /// <summary>Claims up to <paramref name="limit"/> tasks at an upstream that no live node tracks.</summary>
    public Task<List<long>> ClaimActiveAsync(int limit, DateTime now, CancellationToken ct) =>
        WriteAsync((db, token) => ClaimIn(db, "video_tasks", "seq",
            "status IN ('queued', 'processing') AND upstream_task_id IS NOT NULL", "seq", limit, [node.Id, now + node.Lease, now, now], token), ct);

    /// <summary>Claims up to <paramref name="limit"/> callbacks that are due, earliest first; returns their ids.</summary>
    public Task<List<long>> ClaimDeliveriesAsync(int limit, DateTime now, CancellationToken ct) =>
        WriteAsync((db, token) => ClaimIn(db, "webhook_deliveries", "id",
            "status = 'pending' AND next_attempt_at <= {3}", "next_attempt_at", limit, [node.Id, now + node.Lease, now, now], token), ct);

    /// <param name="args">{0} the node, {1} the lease's end, {2} free for the condition, {3} now; the limit is {4}.</param>
    private async Task<List<long>> ClaimIn(SeedanceDb db, string table, string id, string condition, string order, int limit,
        object[] args, CancellationToken ct)
    {
        if (limit <= 0) return [];
        var sql = $$"""
            UPDATE {{table}} SET lease_owner = {0}, lease_expires_at = {1}
            WHERE {{id}} IN (SELECT {{id}} FROM {{table}}
                WHERE {{condition}} AND (lease_expires_at IS NULL OR lease_expires_at <= {3})
                ORDER BY {{order}} LIMIT {4}{{Dialect.SkipLocked}})
            RETURNING {{id}} AS "Value"
            """;
        return await db.Database.SqlQueryRaw<long>(sql, [.. args, limit]).ToListAsync(ct);
    }

    /// <summary>Marks a claimed task as being handed over, if it is still pending and this node's claim on it holds.</summary>
    public Task<bool> StartHandOverAsync(string taskId, DateTime now, CancellationToken ct) =>
        WriteAsync(async (db, token) => await db.Tasks
            .Where(t => t.TaskId == taskId && t.Status == VideoTaskStatus.Pending && t.LeaseOwner == node.Id && t.LeaseExpiresAt > now)
            .ExecuteUpdateAsync(s => s.SetProperty(t => t.HandOverStartedAt, now), token) == 1, ct);

    /// <summary>Gives up a pending task this node claimed but did not hand over: any node may take it at its turn.</summary>
    public Task<int> ReleasePendingAsync(string taskId, CancellationToken ct) =>
        WriteAsync((db, token) => db.Tasks.Where(t => t.TaskId == taskId && t.LeaseOwner == node.Id && t.Status == VideoTaskStatus.Pending)
            .ExecuteUpdateAsync(s => s
                .SetProperty(t => t.LeaseOwner, (string?)null)
                .SetProperty(t => t.LeaseExpiresAt, (DateTime?)null)
                .SetProperty(t => t.HandOverStartedAt, (DateTime?)null), token), ct);

    /// <summary>
    /// Pushes forward every lease this node holds on work not yet done; returns how many. A row another transaction is
    /// writing at that moment (this node moving the task, mostly) is skipped, not waited for: the heartbeat must not
    /// queue behind other writes, nor hold the rows it already renewed while it waits; the next beat renews it.
    /// </summary>
    public Task<int> RenewAsync(DateTime now, CancellationToken ct) =>
        WriteAsync(async (db, token) =>
        {
            object[] args = [now + node.Lease, node.Id];
            var renewTasks = $$"""
                UPDATE video_tasks SET lease_expires_at = {0}
                WHERE seq IN (SELECT seq FROM video_tasks
                    WHERE lease_owner = {1} AND status IN ('pending', 'queued', 'processing'){{Dialect.SkipLocked}})
                """;
            var renewDeliveries = $$"""
                UPDATE webhook_deliveries SET lease_expires_at = {0}
                WHERE id IN (SELECT id FROM webhook_deliveries WHERE lease_owner = {1} AND status = 'pending'{{Dialect.SkipLocked}})
                """;
            var tasks = await db.Database.ExecuteSqlRawAsync(renewTasks, args, token);
            var deliveries = await db.Database.ExecuteSqlRawAsync(renewDeliveries, args, token);
            return tasks + deliveries;
        }, ct);

    /// <summary>Lets every lease this node holds run out now (it is stopping).</summary>
    public Task GiveUpAllAsync(DateTime now, CancellationToken ct) =>
        WriteAsync(async (db, token) =>
        {
            await db.Tasks.Where(t => t.LeaseOwner == node.Id && t.LeaseExpiresAt > now && VideoTaskStatus.NonTerminal.Contains(t.Status))
                .ExecuteUpdateAsync(s => s.SetProperty(t => t.LeaseExpiresAt, now), token);
            return await db.WebhookDeliveries.Where(d => d.LeaseOwner == node.Id && d.LeaseExpiresAt > now && d.Status == DeliveryStatus.Pending)
                .ExecuteUpdateAsync(s => s.SetProperty(d => d.LeaseExpiresAt, now), token);
        }, ct);

    /// <summary>
    /// At start: leases held under this node's id are a previous life's (a node id names one live process), and on a
    /// database that serves one node every lease is. Work waiting to be started (pending tasks, callbacks to send) is
    /// given back, its owner cleared: the heartbeat renews every claim under this node's id, and would otherwise hold a
    /// previous life's claims for ever while nothing in this life works on them. Tasks at an upstream keep their owner,
    /// so the tracker takes up its own again; their leases run out now, so that any node may claim them at once.
    /// </summary>
    public Task ExpirePreviousLifeAsync(DateTime now, CancellationToken ct) =>
        WriteAsync(async (db, token) =>
        {
            var all = Dialect.ServesOneNode;
            await db.Tasks.Where(t => t.Status == VideoTaskStatus.Pending && t.LeaseOwner != null && (all || t.LeaseOwner == node.Id))
                .ExecuteUpdateAsync(s => s.SetProperty(t => t.LeaseOwner, (string?)null).SetProperty(t => t.LeaseExpiresAt, (DateTime?)null), token);
            await db.Tasks.Where(t => (all || t.LeaseOwner == node.Id) && t.LeaseExpiresAt > now)
                .ExecuteUpdateAsync(s => s.SetProperty(t => t.LeaseExpiresAt, now), token);
            return await db.WebhookDeliveries.Where(d => d.Status == DeliveryStatus.Pending && d.LeaseOwner != null && (all || d.LeaseOwner == node.Id))
                .ExecuteUpdateAsync(s => s.SetProperty(d => d.LeaseOwner, (string?)null).SetProperty(d => d.LeaseExpiresAt, (DateTime?)null), token);
        }, ct);
}
