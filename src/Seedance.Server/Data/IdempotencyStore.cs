using Microsoft.EntityFrameworkCore;

namespace Seedance.Server.Data;

/// <summary>The first answers to submissions with an <c>Idempotency-Key</c>, kept for <see cref="Window"/> per API key.</summary>
public sealed class IdempotencyStore(DatabaseWriter writer) : Store(writer)
{
    public static readonly TimeSpan Window = TimeSpan.FromHours(24);

    /// <summary>Forgets the answers recorded at or before <paramref name="cutoff"/> (never later than the window's start); returns how many.</summary>
    public Task<int> PruneAsync(DateTime cutoff, CancellationToken ct) =>
        WriteAsync((db, token) => db.IdempotencyRecords.Where(r => r.CreatedAt <= cutoff).ExecuteDeleteAsync(token), ct);

    /// <summary>The answer recorded for the key within the window before <paramref name="now"/>, read in the writer's transaction.</summary>
    internal static Task<IdempotencyRecord?> FindIn(SeedanceDb db, long keyId, string idempotencyKey, DateTime now, CancellationToken ct)
    {
        var since = now - Window;
        return db.IdempotencyRecords.AsNoTracking()
            .FirstOrDefaultAsync(r => r.KeyId == keyId && r.IdempotencyKey == idempotencyKey && r.CreatedAt > since, ct);
    }

    /// <summary>Records an answer; one older than the window under the same key is forgotten first, so it does not block the key's reuse.</summary>
    internal static async Task RecordIn(SeedanceDb db, IdempotencyRecord answer, CancellationToken ct)
    {
        await PreparedCommands.ExecuteAsync(db, ForgetStale, ct,
            PreparedCommands.Value<IdempotencyRecord>(db, nameof(IdempotencyRecord.KeyId), answer.KeyId),
            PreparedCommands.Value<IdempotencyRecord>(db, nameof(IdempotencyRecord.IdempotencyKey), answer.IdempotencyKey),
            PreparedCommands.Value<IdempotencyRecord>(db, nameof(IdempotencyRecord.CreatedAt), answer.CreatedAt - Window));
        await PreparedCommands.InsertAsync(db, answer, ct);
    }

    private const string ForgetStale = "DELETE FROM idempotency_records WHERE key_id = @p0 AND idempotency_key = @p1 AND created_at <= @p2";
}
