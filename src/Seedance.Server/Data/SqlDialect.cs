using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace Seedance.Server.Data;

/// <summary>
/// Everything that differs between SQLite and PostgreSQL, and the only place that knows which one runs:
/// how a context connects, whether writes queue for a single writer, how a claim skips rows another node
/// is claiming, the dispatcher's per-key lock, and how nodes signal each other.
/// </summary>
public abstract class SqlDialect(string connectionString)
{
    public string ConnectionString { get; } = connectionString;

    /// <summary>
    /// The database takes one writer at a time (SQLite, across processes too): writes queue in the process and
    /// commit in batches (<see cref="DatabaseWriter"/>). Otherwise each write is a transaction of its own.
    /// </summary>
    public abstract bool SingleWriter { get; }

    /// <summary>One node serves the database: at start, every lease is a previous life's.</summary>
    public abstract bool ServesOneNode { get; }

    /// <summary>
    /// The key's task counts change when the transaction commits (a deferred trigger), not with the statement that
    /// inserts or moves a task. Then a transaction can write its rows first and lock the key's row last, just before
    /// its commit: that row is the one every writer of the key waits on (PostgreSQL, where writers run side by side).
    /// </summary>
    public abstract bool CountsTasksAtCommit { get; }

    /// <summary>Appended to a claim's row selection: rows another transaction is claiming are skipped, not waited for.</summary>
    public abstract string SkipLocked { get; }

    /// <summary>Appended to a selection of rows to hold them, shared, to the end of the transaction (others may read, not change them).</summary>
    public virtual string LockShared => "";

    /// <summary>Appended to a selection of rows to hold them alone to the end of the transaction.</summary>
    public virtual string LockExclusive => "";

    /// <summary>The seconds from one time column to a later one, worked out by the database.</summary>
    public abstract string SecondsBetween(string from, string to);

    /// <summary>
    /// Ends an item of a batch that succeeded (releasing its savepoint): where the counts change at commit
    /// (<see cref="CountsTasksAtCommit"/>), the item's counts change here, so that the batch's next item sees them.
    /// </summary>
    public virtual string EndBatchItem => "RELEASE item";

    /// <summary>Points <paramref name="options"/> at the database, with the model's naming and migrations.</summary>
    public abstract DbContextOptionsBuilder Configure(DbContextOptionsBuilder options);

    /// <summary>A pool of writable contexts (the <see cref="DatabaseWriter"/>'s alone).</summary>
    internal abstract Func<SeedanceDb> WritableContexts();

    /// <summary>Where the request log is kept (<see cref="RequestLogStore"/>): a file of its own on SQLite, a table of the database on PostgreSQL.</summary>
    internal abstract RequestLogDatabase OpenRequestLog();

    /// <summary>Settings applied once to the database before it is migrated.</summary>
    public virtual Task PrepareAsync(SeedanceDb db, CancellationToken ct) => Task.CompletedTask;

    /// <summary>Holds the dispatcher's lock on a key's free slots to the end of the transaction.</summary>
    public virtual Task LockKeySlotsAsync(SeedanceDb db, long keyId, CancellationToken ct) => Task.CompletedTask;

    /// <summary>Tells the other nodes <paramref name="payload"/> (delivered once the transaction commits).</summary>
    public virtual Task NotifyAsync(SeedanceDb db, string payload, CancellationToken ct) => Task.CompletedTask;

    /// <summary>Hears the other nodes until cancelled; <paramref name="connected"/> runs each time listening (re)starts. Never returns on a database of one node.</summary>
    public virtual async Task ListenAsync(Action<string> heard, Action connected, CancellationToken ct) =>
        await Task.Delay(Timeout.Infinite, ct);

    /// <param name="durable">Whether a commit must reach the disk before it is answered (<c>Seedance:Database:Synchronous</c>).</param>
    public static SqlDialect For(string provider, string connectionString, bool durable = true) =>
        provider == "postgres" ? new PostgresDialect(PostgresDialect.WithDurability(connectionString, durable)) : new SqliteDialect(connectionString, durable);
}

public sealed class SqliteDialect(string connectionString, bool durable = true) : SqlDialect(connectionString)
{
    public override bool SingleWriter => true;
    public override bool ServesOneNode => true;
    // Triggers run with their statement; one writer at a time, so nobody waits on a row anyway.
    public override bool CountsTasksAtCommit => false;
    public override string SecondsBetween(string from, string to) => $"(julianday({to}) - julianday({from})) * 86400.0";
    // SQLite has no row locks: it runs one writing statement at a time, which makes the claim just as exclusive.
    public override string SkipLocked => "";

    public override DbContextOptionsBuilder Configure(DbContextOptionsBuilder options) =>
        options.UseSqlite(ConnectionString, s => s.MigrationsAssembly(typeof(SeedanceDb).Assembly.FullName))
            .UseSnakeCaseNamingConvention()
            .AddInterceptors(new SqlitePragmas(durable));

    internal override Func<SeedanceDb> WritableContexts()
    {
        var options = (DbContextOptions<SqliteSeedanceDb>)Configure(new DbContextOptionsBuilder<SqliteSeedanceDb>()).Options;
        var pool = new Microsoft.EntityFrameworkCore.Infrastructure.PooledDbContextFactory<SqliteSeedanceDb>(options);
        return pool.CreateDbContext;
    }

    public override async Task PrepareAsync(SeedanceDb db, CancellationToken ct) =>
        await db.Database.ExecuteSqlRawAsync("PRAGMA journal_mode=WAL;", ct);

    internal override RequestLogDatabase OpenRequestLog() => new SqliteRequestLog(ConnectionString);

    public static string DefaultConnectionString(string dataPath) => new SqliteConnectionStringBuilder
    {
        DataSource = Path.Combine(dataPath, "seedance.db"),
        Cache = SqliteCacheMode.Private,
        Pooling = true,
        DefaultTimeout = 30,
    }.ToString();
}

public sealed class PostgresDialect(string connectionString) : SqlDialect(connectionString)
{
    public const string SignalChannel = "seedance_tasks";
    /// <summary>The first half of the dispatcher's advisory lock keys (the second is the API key id).</summary>
    private const int DispatchLockClass = 0x5EED_D15;
    private static readonly TimeSpan Probe = TimeSpan.FromSeconds(15);

    /// <summary>
    /// Durable: the server's own <c>synchronous_commit</c> (on unless its operator turned it off). Otherwise this
    /// server's sessions commit without waiting for the log to reach the disk (set at connection start).
    /// </summary>
    public static string WithDurability(string connectionString, bool durable)
    {
        if (durable) return connectionString;
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        builder.Options = $"{builder.Options} -c synchronous_commit=off".Trim();
        return builder.ToString();
    }

    public override bool SingleWriter => false;
    public override bool ServesOneNode => false;
    // The counting triggers are deferred constraint triggers (migration TaskCountsAtCommit).
    public override bool CountsTasksAtCommit => true;
    public override string SecondsBetween(string from, string to) => $"EXTRACT(EPOCH FROM {to} - {from})::float8";
    // The subquery locks the rows it picks and skips those another node is claiming at the same moment; under read
    // committed it re-reads a row that changed under it, so a row is never claimed twice and no node waits for another.
    public override string SkipLocked => " FOR UPDATE SKIP LOCKED";
    public override string LockShared => " FOR SHARE";
    public override string LockExclusive => " FOR UPDATE";
    // Setting the deferred triggers immediate runs those the item queued, in its savepoint (a failure rolls back the item alone).
    public override string EndBatchItem => "SET CONSTRAINTS ALL IMMEDIATE; SET CONSTRAINTS ALL DEFERRED; RELEASE item";

    public override DbContextOptionsBuilder Configure(DbContextOptionsBuilder options) =>
        options.UseNpgsql(ConnectionString).UseSnakeCaseNamingConvention();

    internal override Func<SeedanceDb> WritableContexts()
    {
        var options = (DbContextOptions<PostgresSeedanceDb>)Configure(new DbContextOptionsBuilder<PostgresSeedanceDb>()).Options;
        var pool = new Microsoft.EntityFrameworkCore.Infrastructure.PooledDbContextFactory<PostgresSeedanceDb>(options);
        return pool.CreateDbContext;
    }

    internal override RequestLogDatabase OpenRequestLog() => new PostgresRequestLog(this);

    // A lock of the dispatcher's own: it blocks no submission and no row, and is held for two short statements.
    public override async Task LockKeySlotsAsync(SeedanceDb db, long keyId, CancellationToken ct) =>
        await db.Database.ExecuteSqlAsync($"SELECT pg_advisory_xact_lock({DispatchLockClass}, {unchecked((int)keyId)})", ct);

    public override async Task NotifyAsync(SeedanceDb db, string payload, CancellationToken ct) =>
        await db.Database.ExecuteSqlAsync($"SELECT pg_notify({SignalChannel}, {payload})", ct);

    /// <summary>LISTEN on a connection of its own, outside the pool; a quiet connection is probed, since it may be a dead one.</summary>
    public override async Task ListenAsync(Action<string> heard, Action connected, CancellationToken ct)
    {
        var unpooled = new NpgsqlConnectionStringBuilder(ConnectionString) { Pooling = false }.ConnectionString;
        await using var connection = new NpgsqlConnection(unpooled);
        connection.Notification += (_, e) => heard(e.Payload);
        await connection.OpenAsync(ct);
        await using (var listen = new NpgsqlCommand($"LISTEN {SignalChannel}", connection)) await listen.ExecuteNonQueryAsync(ct);
        connected();
        while (true)
        {
            if (await connection.WaitAsync(Probe, ct)) continue;
            await using var probe = new NpgsqlCommand("SELECT 1", connection);
            await probe.ExecuteNonQueryAsync(ct);
        }
    }
}
