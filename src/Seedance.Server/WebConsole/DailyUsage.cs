using System.Collections.Concurrent;
using Microsoft.EntityFrameworkCore;
using Seedance.Server.Data;

namespace Seedance.Server.WebConsole;

/// <summary>
/// What the balance page charts for a key over the last 30 days: the tasks submitted and the credits captured each day, counted
/// as the usage report counts them (a submission on its day, a capture on the day the ledger wrote it). A day long over no
/// longer changes, so the 28 days before yesterday are worked out once per key, node and day and kept, and yesterday's and
/// today's are read on every view: a busy key submits a hundred thousand tasks a month, more than a page's query can go
/// through in time. Yesterday stays live because a row dated just before midnight may commit just after it (a writer waiting
/// for a lock or a group commit, another node's clock), and a day kept at the first view after midnight would never see it.
/// (The usage report's own by-day grouping would also read the day's ends, a third query over the key's tasks by their end,
/// which no index of the key's serves.)
/// </summary>
public sealed class DailyUsage(TimeProvider clock)
{
    public const int Days = 30;

    /// <summary>One day's figures; <see cref="Date"/> is the UTC day.</summary>
    public sealed record Day(DateTime Date, int Tasks, decimal Credits);

    private readonly ConcurrentDictionary<(long KeyId, DateTime Today), IReadOnlyList<Day>> _closed = new();

    /// <summary>The first day read on every view at <paramref name="now"/>: yesterday; the days before it are kept once read.</summary>
    internal static DateTime LiveFrom(DateTime now) => now.Date.AddDays(-1);

    /// <summary>The days of the last 30 that had tasks or captures, oldest first.</summary>
    public async Task<IReadOnlyList<Day>> OfAsync(SeedanceDb db, long keyId, CancellationToken ct)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        var (today, live) = (now.Date, LiveFrom(now));
        if (!_closed.TryGetValue((keyId, today), out var closed))
        {
            closed = await ReadAsync(db, keyId, today.AddDays(1 - Days), live, ct);
            foreach (var stale in _closed.Keys.Where(k => k.Today != today)) _closed.TryRemove(stale, out _);
            _closed[(keyId, today)] = closed;
        }
        return [.. closed, .. await ReadAsync(db, keyId, live, today.AddDays(1), ct)];
    }

    private static async Task<IReadOnlyList<Day>> ReadAsync(SeedanceDb db, long keyId, DateTime from, DateTime to, CancellationToken ct)
    {
        var tasks = await db.Tasks.AsNoTracking().Where(t => t.KeyId == keyId && t.CreatedAt >= from && t.CreatedAt < to)
            .GroupBy(t => t.CreatedAt.Date).Select(g => new { Date = g.Key, Count = g.Count() }).ToListAsync(ct);
        var credits = await db.Ledger.AsNoTracking()
            .Where(l => l.Kind == LedgerKind.Capture && l.CreatedAt >= from && l.CreatedAt < to && l.KeyId == keyId)
            .GroupBy(l => l.CreatedAt.Date).Select(g => new { Date = g.Key, Credits = g.Sum(l => l.Amount) }).ToListAsync(ct);
        return tasks.Select(t => t.Date).Union(credits.Select(c => c.Date)).Order()
            .Select(d => new Day(d, tasks.FirstOrDefault(t => t.Date == d)?.Count ?? 0, credits.FirstOrDefault(c => c.Date == d)?.Credits ?? 0m))
            .ToList();
    }
}
