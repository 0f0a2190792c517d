using Microsoft.EntityFrameworkCore;

namespace Seedance.Server.Data;

/// <summary>
/// Every credit movement: a guarded update of the key's figures plus one ledger entry, always inside the
/// transaction of the change that causes it (a submission's reservation, a task's capture or release, an
/// operator's top-up). Invariant per key: total = used + reserved + remain, remain never below zero.
/// </summary>
public sealed class CreditLedger(DatabaseWriter writer) : Store(writer)
{
    /// <summary>Adds credits, or takes them away but never below what is used and reserved; false, changing nothing, otherwise.</summary>
    public Task<bool> TryAdjustAsync(long keyId, decimal amount, string? note, DateTime now, CancellationToken ct) =>
        WriteAsync((db, token) => TryAdjustIn(db, keyId, amount, note, now, token), ct);

    /// <summary>
    /// Reserves <paramref name="cost"/> for a new task of the key and records it, if the remaining credit covers
    /// it and the key's backlog has room for one more pending task; false, changing nothing, otherwise.
    /// </summary>
    /// <remarks>
    /// One guarded statement, so two submissions can never both take the last credit or the last place. The
    /// backlog is what waits beyond the key's free concurrency slots (a task that will start at the next dispatch
    /// round does not count against max_pending): pending &lt; max_pending + max(0, max_concurrent − queued −
    /// processing), written without max() so that one SQL serves both databases. The counts are kept by the
    /// database's triggers with every task change, so the previous submission's task is already counted.
    /// It runs for every submission, as a prepared command (<see cref="PreparedCommands"/>).
    /// PostgreSQL: it is the submission's first statement, an UPDATE of the key's row, which row-locks it to the end
    /// of the transaction; under READ COMMITTED it re-checks its guard on the row as committed. A row lock rather than
    /// serializable isolation: contention is per key and is the normal case (a client firing a batch), where
    /// serializable transactions would mostly end in serialization failures; the lock just queues them and other keys
    /// never wait. SQLite: the writer's transaction is the database's only writer from its start, across processes too
    /// (Microsoft.Data.Sqlite begins it IMMEDIATE). MultiNodeLimitTests holds both to it.
    /// </remarks>
    internal static async Task<bool> TryReserveIn(SeedanceDb db, long keyId, string taskId, decimal cost, DateTime now, CancellationToken ct)
    {
        var rows = await PreparedCommands.ExecuteAsync(db, ReserveSql, ct,
            PreparedCommands.Value<ApiKey>(db, nameof(ApiKey.ReservedCredits), cost),
            PreparedCommands.Value<ApiKey>(db, nameof(ApiKey.UpdatedAt), now),
            PreparedCommands.Value<ApiKey>(db, nameof(ApiKey.Id), keyId));
        if (rows == 0) return false;
        await PreparedCommands.InsertAsync(db, new LedgerEntry { KeyId = keyId, TaskId = taskId, Kind = LedgerKind.Reserve, Amount = cost, CreatedAt = now }, ct);
        return true;
    }

    private const string ReserveSql = """
        UPDATE api_keys SET reserved_credits = reserved_credits + @p0, updated_at = @p1
        WHERE id = @p2 AND total_credits - used_credits - reserved_credits >= @p0
          AND (tasks_pending < max_pending OR tasks_pending + tasks_queued + tasks_processing < max_pending + max_concurrent)
        """;

    /// <summary>Turns a reservation into usage when its task completes.</summary>
    internal static Task CaptureIn(SeedanceDb db, long keyId, string taskId, decimal cost, DateTime now, CancellationToken ct) =>
        Settle(db, keyId, taskId, cost, LedgerKind.Capture, now, ct);

    /// <summary>Gives a reservation back when its task fails, is cancelled or expires.</summary>
    internal static Task ReleaseIn(SeedanceDb db, long keyId, string taskId, decimal cost, DateTime now, CancellationToken ct) =>
        Settle(db, keyId, taskId, cost, LedgerKind.Release, now, ct);

    internal static async Task<bool> TryAdjustIn(SeedanceDb db, long keyId, decimal amount, string? note, DateTime now, CancellationToken ct)
    {
        var rows = await db.ApiKeys
            .Where(k => k.Id == keyId && k.TotalCredits + amount >= k.UsedCredits + k.ReservedCredits)
            .ExecuteUpdateAsync(s => s
                .SetProperty(k => k.TotalCredits, k => k.TotalCredits + amount)
                .SetProperty(k => k.UpdatedAt, now), ct);
        if (rows == 0) return false;
        db.Ledger.Add(new LedgerEntry
        {
            KeyId = keyId, Kind = amount >= 0 ? LedgerKind.TopUp : LedgerKind.Adjust, Amount = amount, Note = note, CreatedAt = now,
        });
        await db.SaveChangesAsync(ct);
        return true;
    }

    private static async Task Settle(SeedanceDb db, long keyId, string taskId, decimal cost, string kind, DateTime now, CancellationToken ct)
    {
        var used = kind == LedgerKind.Capture ? cost : 0m;
        var rows = await db.ApiKeys
            .Where(k => k.Id == keyId && k.ReservedCredits >= cost)
            .ExecuteUpdateAsync(s => s
                .SetProperty(k => k.ReservedCredits, k => k.ReservedCredits - cost)
                .SetProperty(k => k.UsedCredits, k => k.UsedCredits + used)
                .SetProperty(k => k.UpdatedAt, now), ct);
        if (rows != 1) throw new InvalidOperationException($"Key {keyId} holds less than the {cost} reserved for a task");
        db.Ledger.Add(new LedgerEntry { KeyId = keyId, TaskId = taskId, Kind = kind, Amount = cost, CreatedAt = now }); // saved with the caller's other rows
    }
}
