using Microsoft.EntityFrameworkCore;
using Seedance.Server.Infrastructure;

namespace Seedance.Server.Data;

/// <summary>
/// Every credit movement: a guarded update of the key's figures plus one ledger entry, always inside the
/// transaction of the change that causes it (a submission's reservation, a task's capture or release, an
/// operator's top-up). Invariant per key: total = used + reserved + remain, remain never below zero.
/// </summary>
public sealed class CreditLedger(DatabaseWriter writer, SeedanceMetrics metrics) : Store(writer)
{
    /// <summary>Adds credits, or takes them away but never below what is used and reserved; false, changing nothing, otherwise.</summary>
    public async Task<bool> TryAdjustAsync(long keyId, decimal amount, string? note, DateTime now, CancellationToken ct)
    {
        var adjusted = await WriteAsync((db, token) => TryAdjustIn(db, keyId, amount, note, now, token), ct);
        if (adjusted) metrics.Credits(KindOf(amount), amount);
        return adjusted;
    }

    /// <summary>The ledger's kind of an operator's change of credits: a top-up, or an adjustment down.</summary>
    internal static string KindOf(decimal amount) => amount >= 0 ? LedgerKind.TopUp : LedgerKind.Adjust;

    /// <summary>
    /// Records the reservation of <paramref name="cost"/> for a new task of the key, then takes it from the key's
    /// remaining credit, if that covers it and the key's backlog has room for one more pending task; otherwise throws
    /// <see cref="NotReservedException"/>, and the caller's transaction, rolled back, changes nothing.
    /// </summary>
    /// <remarks>
    /// One guarded statement, so two submissions can never both take the last credit or the last place. The
    /// backlog is what waits beyond the key's free concurrency slots (a task that will start at the next dispatch
    /// round does not count against max_pending): pending &lt; max_pending + max(0, max_concurrent − queued −
    /// processing), written without max() so that one SQL serves both databases. The counts are kept by the
    /// database's triggers, so every committed submission's task is counted; the submission's own task is not yet
    /// (the caller reserves before inserting it, or the counts change only at commit).
    /// It runs for every submission, as a prepared command (<see cref="PreparedCommands"/>); the ledger entry goes
    /// first so that the key's row is the last thing the transaction touches.
    /// PostgreSQL: the UPDATE row-locks the key's row to the end of the transaction; under READ COMMITTED it re-checks
    /// its guard on the row as committed. A row lock rather than serializable isolation: contention is per key and is
    /// the normal case (a client firing a batch), where serializable transactions would mostly end in serialization
    /// failures; the lock just queues them and other keys never wait. Every writer of the key queues on that row, so a
    /// submission takes it just before its commit (<see cref="SqlDialect.CountsTasksAtCommit"/>). SQLite: the writer's
    /// transaction is the database's only writer from its start, across processes too (Microsoft.Data.Sqlite begins it
    /// IMMEDIATE). MultiNodeLimitTests holds both to it.
    /// </remarks>
    internal static async Task ReserveIn(SeedanceDb db, long keyId, string taskId, decimal cost, DateTime now, CancellationToken ct)
    {
        await PreparedCommands.InsertAsync(db, new LedgerEntry { KeyId = keyId, TaskId = taskId, Kind = LedgerKind.Reserve, Amount = cost, CreatedAt = now }, ct);
        var rows = await PreparedCommands.ExecuteAsync(db, ReserveSql, ct,
            PreparedCommands.Value<ApiKey>(db, nameof(ApiKey.ReservedCredits), cost),
            PreparedCommands.Value<ApiKey>(db, nameof(ApiKey.UpdatedAt), now),
            PreparedCommands.Value<ApiKey>(db, nameof(ApiKey.Id), keyId),
            PreparedCommands.Value<ApiKey>(db, nameof(ApiKey.SpendDay), Spending.DayOf(now)),
            PreparedCommands.Value<ApiKey>(db, nameof(ApiKey.SpendMonth), Spending.MonthOf(now)));
        if (rows == 0) throw new NotReservedException();
    }

    /// <summary>A reservation the key's credit, backlog or spending limits did not allow; its transaction must roll back.</summary>
    internal sealed class NotReservedException() : Exception("The key's credit, backlog or spending limits do not allow the reservation");

    /// <summary>
    /// The reservation, with the key's spending limits: the day's and the month's counters start again in a new period
    /// (never go back to an earlier one: a node whose clock runs behind adds to the later period) and must stay within
    /// the limits that are set. In an UPDATE every expression reads the row as it was, on both databases.
    /// </summary>
    private const string ReserveSql = """
        UPDATE api_keys SET reserved_credits = reserved_credits + @p0, updated_at = @p1,
          spend_day_credits = CASE WHEN spend_day >= @p3 THEN spend_day_credits + @p0 ELSE @p0 END,
          spend_day = CASE WHEN spend_day >= @p3 THEN spend_day ELSE @p3 END,
          spend_month_credits = CASE WHEN spend_month >= @p4 THEN spend_month_credits + @p0 ELSE @p0 END,
          spend_month = CASE WHEN spend_month >= @p4 THEN spend_month ELSE @p4 END
        WHERE id = @p2 AND total_credits - used_credits - reserved_credits >= @p0
          AND (tasks_pending < max_pending OR tasks_pending + tasks_queued + tasks_processing < max_pending + max_concurrent)
          AND (daily_credit_limit IS NULL OR (CASE WHEN spend_day >= @p3 THEN spend_day_credits ELSE 0 END) + @p0 <= daily_credit_limit)
          AND (monthly_credit_limit IS NULL OR (CASE WHEN spend_month >= @p4 THEN spend_month_credits ELSE 0 END) + @p0 <= monthly_credit_limit)
        """;

    /// <summary>Turns a reservation into usage when its task completes (spent either way: the spending counters stay).</summary>
    internal static Task CaptureIn(SeedanceDb db, long keyId, string taskId, decimal cost, DateTime now, CancellationToken ct) =>
        Settle(db, keyId, taskId, cost, LedgerKind.Capture, null, now, ct);

    /// <summary>
    /// Gives a reservation back when its task fails, is cancelled or expires; the spending of the day and month it was
    /// made in (<paramref name="reservedAt"/>) drops by as much, if those are still the periods the key counts.
    /// </summary>
    internal static Task ReleaseIn(SeedanceDb db, long keyId, string taskId, decimal cost, DateTime reservedAt, DateTime now, CancellationToken ct) =>
        Settle(db, keyId, taskId, cost, LedgerKind.Release, reservedAt, now, ct);

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
            KeyId = keyId, Kind = KindOf(amount), Amount = amount, Note = note, CreatedAt = now,
        });
        await db.SaveChangesAsync(ct);
        return true;
    }

    /// <summary>
    /// Records the movement and saves it with the caller's other added rows, then updates the key's figures: last, so
    /// that on PostgreSQL the key's row, which every writer of the key waits on, stays locked only to the commit.
    /// </summary>
    private static async Task Settle(SeedanceDb db, long keyId, string taskId, decimal cost, string kind, DateTime? releasedFrom, DateTime now, CancellationToken ct)
    {
        var used = kind == LedgerKind.Capture ? cost : 0m;
        db.Ledger.Add(new LedgerEntry { KeyId = keyId, TaskId = taskId, Kind = kind, Amount = cost, CreatedAt = now });
        await db.SaveChangesAsync(ct);
        // A release takes the cost off the spending of its reservation's day and month (never below zero); other periods keep theirs.
        var (day, month) = releasedFrom is { } at ? (Spending.DayOf(at), Spending.MonthOf(at)) : (-1, -1);
        var rows = await db.ApiKeys
            .Where(k => k.Id == keyId && k.ReservedCredits >= cost)
            .ExecuteUpdateAsync(s => s
                .SetProperty(k => k.ReservedCredits, k => k.ReservedCredits - cost)
                .SetProperty(k => k.UsedCredits, k => k.UsedCredits + used)
                .SetProperty(k => k.SpendDayCredits, k => k.SpendDay != day ? k.SpendDayCredits : k.SpendDayCredits >= cost ? k.SpendDayCredits - cost : 0m)
                .SetProperty(k => k.SpendMonthCredits, k => k.SpendMonth != month ? k.SpendMonthCredits : k.SpendMonthCredits >= cost ? k.SpendMonthCredits - cost : 0m)
                .SetProperty(k => k.UpdatedAt, now), ct);
        if (rows != 1) throw new InvalidOperationException($"Key {keyId} holds less than the {cost} reserved for a task");
    }
}
