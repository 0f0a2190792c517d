using Microsoft.EntityFrameworkCore;
using Seedance.Server.Data;
using Seedance.Server.Keys;

namespace Seedance.Server.Billing;

/// <summary>
/// Every credit movement: a guarded update of the key's figures plus one ledger entry, always inside the
/// caller's transaction so the movement commits with the task change that causes it.
/// Invariant per key: total = used + reserved + remain, remain never below zero.
/// </summary>
public static class CreditLedger
{
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
    /// It runs for every submission, as a kept statement (<see cref="Statements"/>).
    /// </remarks>
    public static async Task<bool> TryReserveAsync(SeedanceDb db, long keyId, string taskId, decimal cost, DateTime now, CancellationToken ct)
    {
        var rows = await Statements.ExecuteAsync(db, ReserveSql, ct,
            Statements.Value<ApiKey>(db, nameof(ApiKey.ReservedCredits), cost),
            Statements.Value<ApiKey>(db, nameof(ApiKey.UpdatedAt), now),
            Statements.Value<ApiKey>(db, nameof(ApiKey.Id), keyId));
        if (rows == 0) return false;
        await Statements.InsertAsync(db, new LedgerEntry { KeyId = keyId, TaskId = taskId, Kind = LedgerKind.Reserve, Amount = cost, CreatedAt = now }, ct);
        return true;
    }

    private const string ReserveSql = """
        UPDATE api_keys SET reserved_credits = reserved_credits + @p0, updated_at = @p1
        WHERE id = @p2 AND total_credits - used_credits - reserved_credits >= @p0
          AND (tasks_pending < max_pending OR tasks_pending + tasks_queued + tasks_processing < max_pending + max_concurrent)
        """;

    /// <summary>Turns a reservation into usage when its task completes.</summary>
    public static async Task CaptureAsync(SeedanceDb db, long keyId, string taskId, decimal cost, DateTime now, CancellationToken ct)
    {
        await Move(db, keyId, cost, captured: true, now, ct);
        db.Ledger.Add(new LedgerEntry { KeyId = keyId, TaskId = taskId, Kind = LedgerKind.Capture, Amount = cost, CreatedAt = now });
    }

    /// <summary>Gives a reservation back when its task fails, is cancelled or expires.</summary>
    public static async Task ReleaseAsync(SeedanceDb db, long keyId, string taskId, decimal cost, DateTime now, CancellationToken ct)
    {
        await Move(db, keyId, cost, captured: false, now, ct);
        db.Ledger.Add(new LedgerEntry { KeyId = keyId, TaskId = taskId, Kind = LedgerKind.Release, Amount = cost, CreatedAt = now });
    }

    /// <summary>Adds credits, or takes them away but never below what is used and reserved.</summary>
    public static async Task<bool> TryAdjustAsync(SeedanceDb db, long keyId, decimal amount, string? note, DateTime now, CancellationToken ct)
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
        return true;
    }

    private static async Task Move(SeedanceDb db, long keyId, decimal cost, bool captured, DateTime now, CancellationToken ct)
    {
        var used = captured ? cost : 0m;
        var rows = await db.ApiKeys
            .Where(k => k.Id == keyId && k.ReservedCredits >= cost)
            .ExecuteUpdateAsync(s => s
                .SetProperty(k => k.ReservedCredits, k => k.ReservedCredits - cost)
                .SetProperty(k => k.UsedCredits, k => k.UsedCredits + used)
                .SetProperty(k => k.UpdatedAt, now), ct);
        if (rows != 1) throw new InvalidOperationException($"Key {keyId} holds less than the {cost} reserved for a task");
    }
}
