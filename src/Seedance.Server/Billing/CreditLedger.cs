using System.Linq.Expressions;
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
    /// Reserves <paramref name="cost"/> if the remaining credit covers it and the key meets
    /// <paramref name="alsoRequired"/> (checked in the same statement); false otherwise.
    /// </summary>
    public static async Task<bool> TryReserveAsync(SeedanceDb db, long keyId, string taskId, decimal cost, DateTime now,
        Expression<Func<ApiKey, bool>>? alsoRequired, CancellationToken ct)
    {
        var keys = db.ApiKeys.Where(k => k.Id == keyId && k.TotalCredits - k.UsedCredits - k.ReservedCredits >= cost);
        if (alsoRequired is not null) keys = keys.Where(alsoRequired);
        var rows = await keys
            .ExecuteUpdateAsync(s => s
                .SetProperty(k => k.ReservedCredits, k => k.ReservedCredits + cost)
                .SetProperty(k => k.UpdatedAt, now), ct);
        if (rows == 0) return false;
        db.Ledger.Add(new LedgerEntry { KeyId = keyId, TaskId = taskId, Kind = LedgerKind.Reserve, Amount = cost, CreatedAt = now });
        return true;
    }

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
