using System.Data;
using System.Data.Common;
using System.Text.RegularExpressions;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Seedance.Bench.Crash;

/// <summary>A node of the crash run: its server and whether it is up.</summary>
public sealed class CrashNode(string name, ServerUnderTest server)
{
    private volatile bool _running = true;
    public string Name { get; } = name;
    public ServerUnderTest Server { get; } = server;
    public bool Running { get => _running; set => _running = value; }
}

/// <summary>What one look at the database found wrong, by kind; each problem also as a sentence.</summary>
public sealed class CrashFindings
{
    public int Lost { get; set; }
    public int DoubleCharged { get; set; }
    public int FiguresOff { get; set; }
    public int CancelsNotKept { get; set; }
    public List<string> Problems { get; } = [];

    public void Add(CrashFindings other)
    {
        Lost += other.Lost;
        DoubleCharged += other.DoubleCharged;
        FiguresOff += other.FiguresOff;
        CancelsNotKept += other.CancelsNotKept;
        Problems.AddRange(other.Problems);
    }
}

/// <summary>A task as the database holds it.</summary>
public sealed record StoredTask(string TaskId, long KeyId, string Status, long CostInHundredths, string? Tag, string? CallbackUrl)
{
    public bool IsTerminal => Status is "completed" or "failed" or "cancelled" or "expired";
}

/// <summary>
/// The invariants of the contract, read from the database in one snapshot while the load goes on (what was acknowledged
/// before the snapshot began was committed before it): every acknowledged task is there with its cost; no submission
/// made two tasks and no task moved credits twice; a cancel acknowledged is never charged; each key's figures equal
/// its ledger's sums, with top-ups acknowledged counted and those unanswered counted at most.
/// </summary>
public static partial class CrashChecks
{
    [GeneratedRegex("ct[0-9a-f]{16}")]
    private static partial Regex Tag();

    public static async Task<(CrashFindings Findings, List<StoredTask> Tasks)> CheckAsync(string database, IReadOnlyList<Submission> acknowledged,
        IReadOnlySet<string> cancelled, IReadOnlyList<CrashKey> keys, bool allSettled, CancellationToken ct)
    {
        // The top-ups' bounds around the snapshot, as the load goes on: those acknowledged before it began must be in it; those
        // sent by the time it ended may be.
        var topUpsBefore = keys.ToDictionary(k => k.KeyId, k => k.AcknowledgedTopUps);
        await using var db = await OpenAsync(database, ct);
        await using var snapshot = await db.BeginTransactionAsync(db is NpgsqlConnection ? IsolationLevel.RepeatableRead : IsolationLevel.Serializable, ct);
        var tasks = new List<StoredTask>();
        await foreach (var r in ReadAsync(db, snapshot, "SELECT task_id, key_id, status, credit_cost, content_json, callback_url FROM video_tasks", ct))
            tasks.Add(new StoredTask((string)r[0]!, Convert.ToInt64(r[1]), (string)r[2]!, Convert.ToInt64(r[3]), Tag().Match((string)r[4]!) is { Success: true } m ? m.Value : null,
                r[5] as string));
        var ledger = new List<(long KeyId, string? TaskId, string Kind, long Amount)>();
        await foreach (var r in ReadAsync(db, snapshot, "SELECT key_id, task_id, kind, amount FROM credit_ledger", ct))
            ledger.Add((Convert.ToInt64(r[0]), r[1] as string, (string)r[2]!, Convert.ToInt64(r[3])));
        var figures = new Dictionary<long, (long Total, long Used, long Reserved)>();
        await foreach (var r in ReadAsync(db, snapshot, "SELECT id, total_credits, used_credits, reserved_credits FROM api_keys", ct))
            figures[Convert.ToInt64(r[0])] = (Convert.ToInt64(r[1]), Convert.ToInt64(r[2]), Convert.ToInt64(r[3]));
        await snapshot.CommitAsync(ct);
        var topUpsAfter = keys.ToDictionary(k => k.KeyId, k => k.PossibleTopUps);

        var f = new CrashFindings();
        var byId = tasks.ToDictionary(t => t.TaskId);
        foreach (var s in acknowledged)
        {
            if (!byId.TryGetValue(s.TaskId!, out var t)) { f.Lost++; f.Problems.Add($"Task {s.TaskId} was acknowledged with 200 and is not in the database"); }
            else if (t.CostInHundredths != s.CostInHundredths || t.KeyId != s.Key.KeyId || t.Tag != s.Tag)
            {
                f.Lost++;
                f.Problems.Add($"Task {s.TaskId} was acknowledged for key {s.Key.KeyId}, {s.Tag}, cost {s.CostInHundredths / 100m}; the database has key {t.KeyId}, {t.Tag}, cost {t.CostInHundredths / 100m}");
            }
        }
        foreach (var twice in tasks.Where(t => t.Tag is not null).GroupBy(t => t.Tag).Where(g => g.Count() > 1))
        {
            f.DoubleCharged++;
            f.Problems.Add($"One submission ({twice.Key}) made {twice.Count()} tasks: {string.Join(", ", twice.Select(t => t.TaskId))}");
        }

        var movements = ledger.Where(l => l.TaskId is not null).ToLookup(l => l.TaskId!);
        foreach (var t in tasks)
        {
            var mine = movements[t.TaskId].ToList();
            int reserves = mine.Count(m => m.Kind == "reserve"), captures = mine.Count(m => m.Kind == "capture"), releases = mine.Count(m => m.Kind == "release");
            var settled = t.IsTerminal ? 1 : 0;
            var wrong = reserves != 1 || captures + releases != settled || (t.Status == "completed" ? captures : releases) != settled
                        || mine.Any(m => m.Amount != t.CostInHundredths);
            if (wrong)
            {
                f.DoubleCharged++;
                f.Problems.Add($"Task {t.TaskId} ({t.Status}, cost {t.CostInHundredths / 100m}) moved credits as {string.Join(", ", mine.Select(m => $"{m.Kind} {m.Amount / 100m}"))}");
            }
            if (cancelled.Contains(t.TaskId) && t.Status != "cancelled")
            {
                f.CancelsNotKept++;
                f.Problems.Add($"Task {t.TaskId}'s cancel was acknowledged with 200, and it is {t.Status}");
            }
        }

        foreach (var key in keys)
        {
            var (total, used, reserved) = figures[key.KeyId];
            var mine = ledger.Where(l => l.KeyId == key.KeyId).ToList();
            long Sum(string kind) => mine.Where(l => l.Kind == kind).Sum(l => l.Amount);
            var ledgerTotal = Sum("topup") + Sum("adjust");
            var ledgerReserved = Sum("reserve") - Sum("capture") - Sum("release");
            var completedCosts = tasks.Where(t => t.KeyId == key.KeyId && t.Status == "completed").Sum(t => t.CostInHundredths);
            var activeCosts = tasks.Where(t => t.KeyId == key.KeyId && !t.IsTerminal).Sum(t => t.CostInHundredths);
            var least = (long)((key.InitialCredits + topUpsBefore[key.KeyId]) * 100);
            var most = (long)((key.InitialCredits + topUpsAfter[key.KeyId]) * 100);
            var off = new List<string>();
            if (total != ledgerTotal) off.Add($"total {total / 100m} but top-ups and adjustments sum to {ledgerTotal / 100m}");
            if (used != Sum("capture") || used != completedCosts) off.Add($"used {used / 100m}, captures {Sum("capture") / 100m}, completed tasks' costs {completedCosts / 100m}");
            if (reserved != ledgerReserved || reserved != activeCosts) off.Add($"reserved {reserved / 100m}, the ledger's {ledgerReserved / 100m}, active tasks' costs {activeCosts / 100m}");
            if (total - used - reserved < 0) off.Add($"remain {(total - used - reserved) / 100m} below zero");
            if (total < least || total > most) off.Add($"total {total / 100m} outside {least / 100m}-{most / 100m} (initial credits and the top-ups acknowledged before the check; plus those unanswered or in flight)");
            if (allSettled && reserved != 0) off.Add($"{reserved / 100m} still reserved with every task finished");
            if (off.Count == 0) continue;
            f.FiguresOff++;
            f.Problems.Add($"Key {key.KeyId}: {string.Join("; ", off)}");
        }
        return (f, tasks);
    }

    private static async IAsyncEnumerable<object?[]> ReadAsync(DbConnection db, DbTransaction tx, string sql, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        await using var command = db.CreateCommand();
        command.Transaction = tx;
        command.CommandText = sql;
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            var row = new object?[reader.FieldCount];
            for (var i = 0; i < row.Length; i++) row[i] = reader.IsDBNull(i) ? null : reader.GetValue(i);
            yield return row;
        }
    }

    /// <summary>A SQLite file's path, or a PostgreSQL connection string.</summary>
    private static async Task<DbConnection> OpenAsync(string database, CancellationToken ct)
    {
        DbConnection connection = database.Contains('=')
            ? new NpgsqlConnection(database)
            : new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = database, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        await connection.OpenAsync(ct);
        return connection;
    }
}
