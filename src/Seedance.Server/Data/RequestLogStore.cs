using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Npgsql;
using NpgsqlTypes;

namespace Seedance.Server.Data;

/// <summary>
/// The request log (<c>request_log</c>): written in large batches by one background worker, read page by page, pruned
/// by age. Unlike the other stores it does not write through the <see cref="DatabaseWriter"/>: a log row is no part of
/// any other change, and at tens of thousands of requests a second its batches would hold the single SQLite writer
/// that submissions and status changes queue for. Where it lives is the dialect's choice (<see cref="SqlDialect.OpenRequestLog"/>):
/// on SQLite a file of its own beside the database, with a writer of its own; on PostgreSQL a table of the database,
/// filled by binary COPY.
/// </summary>
public sealed class RequestLogStore(SqlDialect dialect) : IAsyncDisposable
{
    private readonly RequestLogDatabase _database = dialect.OpenRequestLog();

    /// <summary>Creates what the log needs where the migrations do not reach (the SQLite log file).</summary>
    public Task PrepareAsync(CancellationToken ct) => _database.PrepareAsync(ct);

    /// <summary>Writes the batch in one transaction (one worker calls this, never two at once).</summary>
    public Task WriteAsync(IReadOnlyList<LoggedRequest> batch, CancellationToken ct) => _database.WriteAsync(batch, ct);

    /// <summary>Forgets up to <paramref name="max"/> of the oldest entries made before <paramref name="before"/>; returns how many.</summary>
    public Task<int> PruneAsync(DateTime before, int max, CancellationToken ct) => _database.PruneAsync(before, max, ct);

    /// <summary>Runs a read of the log on a read-only context of the database that holds it.</summary>
    public async Task<T> ReadAsync<T>(Func<IQueryable<RequestLogEntry>, CancellationToken, Task<T>> query, CancellationToken ct)
    {
        await using var db = _database.Reader();
        return await query(db.RequestLog.AsNoTracking(), ct);
    }

    public ValueTask DisposeAsync() => _database.DisposeAsync();
}

/// <summary>Where a dialect keeps the request log: how it is prepared, written, pruned and read.</summary>
public abstract class RequestLogDatabase : IAsyncDisposable
{
    protected const string Columns = "at, key_id, method, route, path, status, code, latency_ms, request_id";
    protected const string PruneSql = "DELETE FROM request_log WHERE id IN (SELECT id FROM request_log WHERE at < @before ORDER BY id LIMIT @max)";

    public virtual Task PrepareAsync(CancellationToken ct) => Task.CompletedTask;
    public abstract Task WriteAsync(IReadOnlyList<LoggedRequest> batch, CancellationToken ct);
    public abstract Task<int> PruneAsync(DateTime before, int max, CancellationToken ct);
    /// <summary>A read-only context on the database of the log (<see cref="ReadOnlyGuard"/>).</summary>
    public abstract SeedanceDb Reader();
    public virtual ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

/// <summary>
/// SQLite: the log in a file of its own (<c>seedance-requests.db</c> beside <c>seedance.db</c>), so that writing it takes
/// the lock of that file and never the main database's, which has one writer at a time. Its schema is made here (the
/// migrations describe the main file); it commits with <c>synchronous=NORMAL</c>: a crash of the machine may lose the
/// last second of the log, never a task or a credit.
/// </summary>
internal sealed class SqliteRequestLog(string mainConnectionString) : RequestLogDatabase
{
    private const string Schema = """
        PRAGMA journal_mode=WAL;
        CREATE TABLE IF NOT EXISTS request_log (
          id INTEGER NOT NULL CONSTRAINT "PK_request_log" PRIMARY KEY,
          at TEXT NOT NULL, key_id INTEGER NULL, method TEXT NOT NULL, route TEXT NULL, path TEXT NOT NULL,
          status INTEGER NOT NULL, code TEXT NULL, latency_ms REAL NOT NULL, request_id TEXT NOT NULL);
        CREATE INDEX IF NOT EXISTS ix_request_log_key_id_id ON request_log (key_id, id);
        CREATE INDEX IF NOT EXISTS ix_request_log_at ON request_log (at);
        """;

    private readonly string _connectionString = new SqliteConnectionStringBuilder(mainConnectionString)
    {
        DataSource = PathOf(new SqliteConnectionStringBuilder(mainConnectionString).DataSource),
    }.ToString();
    private readonly SemaphoreSlim _gate = new(1, 1);
    private SqliteConnection? _writer;
    private SqliteCommand? _insert;
    private PooledDbContextFactory<SqliteSeedanceDb>? _readers;

    /// <summary><c>seedance.db</c> → <c>seedance-requests.db</c>, in the same directory.</summary>
    public static string PathOf(string database) =>
        Path.Combine(Path.GetDirectoryName(Path.GetFullPath(database)) ?? "", Path.GetFileNameWithoutExtension(database) + "-requests.db");

    public override async Task PrepareAsync(CancellationToken ct)
    {
        await _gate.WaitAsync(ct);
        try { await WriterAsync(ct); }
        finally { _gate.Release(); }
    }

    public override async Task WriteAsync(IReadOnlyList<LoggedRequest> batch, CancellationToken ct)
    {
        await _gate.WaitAsync(ct);
        try
        {
            var connection = await WriterAsync(ct);
            await using var tx = connection.BeginTransaction();
            var insert = _insert!;
            insert.Transaction = tx;
            var p = insert.Parameters;
            foreach (var r in batch)
            {
                p[0].Value = r.At;
                p[1].Value = r.KeyId is { } key ? key : DBNull.Value;
                p[2].Value = r.Method;
                p[3].Value = (object?)r.Route ?? DBNull.Value;
                p[4].Value = r.Path;
                p[5].Value = r.Status;
                p[6].Value = (object?)r.Code ?? DBNull.Value;
                p[7].Value = r.LatencyMs;
                p[8].Value = r.RequestId;
                insert.ExecuteNonQuery(); // SQLite runs in the calling thread either way; no await per row
            }
            tx.Commit();
            insert.Transaction = null;
        }
        finally { _gate.Release(); }
    }

    public override async Task<int> PruneAsync(DateTime before, int max, CancellationToken ct)
    {
        await _gate.WaitAsync(ct);
        try
        {
            var connection = await WriterAsync(ct);
            await using var prune = connection.CreateCommand();
            prune.CommandText = PruneSql;
            prune.Parameters.AddWithValue("@before", before);
            prune.Parameters.AddWithValue("@max", max);
            return await prune.ExecuteNonQueryAsync(ct);
        }
        finally { _gate.Release(); }
    }

    public override SeedanceDb Reader()
    {
        _readers ??= new PooledDbContextFactory<SqliteSeedanceDb>(new DbContextOptionsBuilder<SqliteSeedanceDb>()
            .UseSqlite(_connectionString).UseSnakeCaseNamingConvention().AddInterceptors(ReadOnlyGuard.Instance).Options);
        return _readers.CreateDbContext();
    }

    private async Task<SqliteConnection> WriterAsync(CancellationToken ct)
    {
        if (_writer is { } open) return open;
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(ct);
        await using (var setup = connection.CreateCommand())
        {
            setup.CommandText = "PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=30000;" + Schema;
            await setup.ExecuteNonQueryAsync(ct);
        }
        var insert = connection.CreateCommand();
        insert.CommandText = $"INSERT INTO request_log ({Columns}) VALUES (@p0, @p1, @p2, @p3, @p4, @p5, @p6, @p7, @p8)";
        for (var i = 0; i < 9; i++) insert.Parameters.Add(new SqliteParameter($"@p{i}", null));
        insert.Prepare();
        (_writer, _insert) = (connection, insert);
        return connection;
    }

    public override async ValueTask DisposeAsync()
    {
        if (_insert is not null) await _insert.DisposeAsync();
        if (_writer is not null) await _writer.DisposeAsync();
        _writer = null;
    }
}

/// <summary>PostgreSQL: the log is a table of the database (its migrations make it), filled by binary COPY, which costs a fraction of INSERTs.</summary>
internal sealed class PostgresRequestLog(PostgresDialect dialect) : RequestLogDatabase
{
    private PooledDbContextFactory<PostgresSeedanceDb>? _readers;

    public override async Task WriteAsync(IReadOnlyList<LoggedRequest> batch, CancellationToken ct)
    {
        await using var connection = new NpgsqlConnection(dialect.ConnectionString);
        await connection.OpenAsync(ct);
        await using var copy = await connection.BeginBinaryImportAsync($"COPY request_log ({Columns}) FROM STDIN (FORMAT BINARY)", ct);
        foreach (var r in batch)
        {
            await copy.StartRowAsync(ct);
            await copy.WriteAsync(r.At, NpgsqlDbType.TimestampTz, ct);
            if (r.KeyId is { } key) await copy.WriteAsync(key, NpgsqlDbType.Bigint, ct); else await copy.WriteNullAsync(ct);
            await copy.WriteAsync(r.Method, NpgsqlDbType.Varchar, ct);
            if (r.Route is { } route) await copy.WriteAsync(route, NpgsqlDbType.Varchar, ct); else await copy.WriteNullAsync(ct);
            await copy.WriteAsync(r.Path, NpgsqlDbType.Varchar, ct);
            await copy.WriteAsync(r.Status, NpgsqlDbType.Integer, ct);
            if (r.Code is { } code) await copy.WriteAsync(code, NpgsqlDbType.Varchar, ct); else await copy.WriteNullAsync(ct);
            await copy.WriteAsync(r.LatencyMs, NpgsqlDbType.Double, ct);
            await copy.WriteAsync(r.RequestId, NpgsqlDbType.Varchar, ct);
        }
        await copy.CompleteAsync(ct);
    }

    public override async Task<int> PruneAsync(DateTime before, int max, CancellationToken ct)
    {
        await using var connection = new NpgsqlConnection(dialect.ConnectionString);
        await connection.OpenAsync(ct);
        await using var prune = new NpgsqlCommand(PruneSql, connection);
        prune.Parameters.AddWithValue("before", NpgsqlDbType.TimestampTz, before);
        prune.Parameters.AddWithValue("max", max);
        return await prune.ExecuteNonQueryAsync(ct);
    }

    public override SeedanceDb Reader()
    {
        _readers ??= new PooledDbContextFactory<PostgresSeedanceDb>(
            ((DbContextOptionsBuilder<PostgresSeedanceDb>)dialect.Configure(new DbContextOptionsBuilder<PostgresSeedanceDb>()).AddInterceptors(ReadOnlyGuard.Instance)).Options);
        return _readers.CreateDbContext();
    }
}
