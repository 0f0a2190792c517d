using System.Data.Common;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Seedance.Server.Infrastructure;

namespace Seedance.Server.Data;

public static class DatabaseSetup
{
    /// <remarks>
    /// The contexts the service provider hands out read only (<see cref="ReadOnlyGuard"/>): every write goes through a
    /// store and the <see cref="DatabaseWriter"/>, whose contexts come from options only it holds. Contexts are pooled,
    /// with options built once: a request (a poll) would otherwise pay for building the options, their connection
    /// string and interceptors, and the context's own services each time.
    /// </remarks>
    public static IServiceCollection AddSeedanceDb(this IServiceCollection services, SeedanceOptions options)
    {
        var dialect = SqlDialect.For(options.Database.Provider, options.Database.Provider == "postgres"
            ? options.Database.ConnectionString!
            : options.Database.ConnectionString is { Length: > 0 } cs ? cs : SqliteDialect.DefaultConnectionString(options.DataPath),
            options.Database.Durable);
        services.AddSingleton(dialect);
        if (dialect is PostgresDialect) services.AddDbContextPool<SeedanceDb, PostgresSeedanceDb>(o => dialect.Configure(o).AddInterceptors(ReadOnlyGuard.Instance));
        else services.AddDbContextPool<SeedanceDb, SqliteSeedanceDb>(o => dialect.Configure(o).AddInterceptors(ReadOnlyGuard.Instance));

        services.AddSingleton<DatabaseWriter>();
        services.AddHostedService(sp => sp.GetRequiredService<DatabaseWriter>());
        services.AddSingleton<TaskFeed>();
        services.AddSingleton<TaskStore>();
        services.AddSingleton<CreditLedger>();
        services.AddSingleton<KeyStore>();
        services.AddSingleton<CallbackOutbox>();
        services.AddSingleton<LeaseStore>();
        services.AddSingleton<UploadStore>();
        services.AddSingleton<IdempotencyStore>();
        services.AddSingleton<NodeSignals>();
        services.AddSingleton<ChannelStore>();
        services.AddSingleton<RequestLogStore>();
        return services;
    }

    /// <summary>Creates the data directory, prepares the database (WAL on SQLite), applies migrations and prepares the request log.</summary>
    public static async Task MigrateAsync(IServiceProvider services, CancellationToken ct = default)
    {
        var options = services.GetRequiredService<Microsoft.Extensions.Options.IOptions<SeedanceOptions>>().Value;
        Directory.CreateDirectory(options.DataPath);
        await services.GetRequiredService<DatabaseWriter>().MigrateAsync(ct);
        await services.GetRequiredService<RequestLogStore>().PrepareAsync(ct);
    }
}

/// <summary>
/// Keeps a context read-only: a command that is not a query, or a <c>SaveChanges</c>, is refused before it reaches
/// the database. On every context the service provider hands out, so code outside the stores cannot write, however
/// it tries (LINQ <c>ExecuteUpdate</c>, raw SQL, tracked changes).
/// </summary>
public sealed class ReadOnlyGuard : DbCommandInterceptor, ISaveChangesInterceptor
{
    public static readonly ReadOnlyGuard Instance = new();

    /// <summary>
    /// One SELECT, after any <c>--</c> comment lines (EF's <c>TagWith</c>), that calls none of PostgreSQL's functions with
    /// side effects. A check in depth: the architecture tests keep SQL text out of the code outside the stores anyway.
    /// </summary>
    private static void Check(DbCommand command)
    {
        // A query's text is the same string each time it runs (EF caches it): it is judged once.
        var sql = command.CommandText;
        if (Judged.ContainsKey(sql)) return;
        if (!IsOneSelect(sql)) throw Refused();
        if (Judged.Count < MaxJudged) Judged.TryAdd(sql, 0);
    }

    private const int MaxJudged = 4096;
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte> Judged = new();

    private static bool IsOneSelect(string sql)
    {
        var text = sql.AsSpan().TrimStart();
        while (text.StartsWith("--"))
        {
            var end = text.IndexOf('\n');
            text = end < 0 ? [] : text[(end + 1)..].TrimStart();
        }
        var statementEnd = text.IndexOf(';');
        var oneStatement = statementEnd < 0 || text[(statementEnd + 1)..].IsWhiteSpace();
        return text.StartsWith("SELECT", StringComparison.OrdinalIgnoreCase) && oneStatement && !SideEffects.IsMatch(text);
    }

    private static readonly System.Text.RegularExpressions.Regex SideEffects = new(
        @"\b(pg_notify|pg_advisory\w*|nextval|setval|lo_\w+)\s*\(|\bINTO\b", System.Text.RegularExpressions.RegexOptions.IgnoreCase | System.Text.RegularExpressions.RegexOptions.Compiled);

    private static InvalidOperationException Refused() =>
        new("This context reads only: writes go through a store (Seedance.Server.Data), which runs them in the database writer");

    public override InterceptionResult<DbDataReader> ReaderExecuting(DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result)
    {
        Check(command);
        return result;
    }

    public override ValueTask<InterceptionResult<DbDataReader>> ReaderExecutingAsync(DbCommand command, CommandEventData eventData,
        InterceptionResult<DbDataReader> result, CancellationToken cancellationToken = default)
    {
        Check(command);
        return ValueTask.FromResult(result);
    }

    public override InterceptionResult<int> NonQueryExecuting(DbCommand command, CommandEventData eventData, InterceptionResult<int> result)
    {
        Check(command);
        return result;
    }

    public override ValueTask<InterceptionResult<int>> NonQueryExecutingAsync(DbCommand command, CommandEventData eventData, InterceptionResult<int> result,
        CancellationToken cancellationToken = default)
    {
        Check(command);
        return ValueTask.FromResult(result);
    }

    public override InterceptionResult<object> ScalarExecuting(DbCommand command, CommandEventData eventData, InterceptionResult<object> result)
    {
        Check(command);
        return result;
    }

    public override ValueTask<InterceptionResult<object>> ScalarExecutingAsync(DbCommand command, CommandEventData eventData, InterceptionResult<object> result,
        CancellationToken cancellationToken = default)
    {
        Check(command);
        return ValueTask.FromResult(result);
    }

    public InterceptionResult<int> SavingChanges(DbContextEventData eventData, InterceptionResult<int> result) => throw Refused();

    public ValueTask<InterceptionResult<int>> SavingChangesAsync(DbContextEventData eventData, InterceptionResult<int> result,
        CancellationToken cancellationToken = default) => throw Refused();
}

/// <summary>
/// Per-connection SQLite settings: in WAL, <c>synchronous=FULL</c> syncs the log at every commit (a commit survives a
/// power cut; the group commit makes that one sync per batch), <c>NORMAL</c> only at checkpoints (a commit survives a
/// crash of the process); foreign writers wait, not fail. Applied once per physical connection: the pool hands the
/// same one out again, and EF opens it for every query.
/// </summary>
internal sealed class SqlitePragmas(bool durable) : Microsoft.EntityFrameworkCore.Diagnostics.DbConnectionInterceptor
{
    private readonly string _pragmas = $"PRAGMA synchronous={(durable ? "FULL" : "NORMAL")}; PRAGMA busy_timeout=30000; PRAGMA foreign_keys=ON;";
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<SQLitePCL.sqlite3, object> Applied = new();

    public override void ConnectionOpened(System.Data.Common.DbConnection connection, Microsoft.EntityFrameworkCore.Diagnostics.ConnectionEndEventData eventData)
    {
        if (Applied.TryGetValue(Handle(connection), out _)) return;
        using var cmd = connection.CreateCommand();
        cmd.CommandText = _pragmas;
        cmd.ExecuteNonQuery();
        Applied.AddOrUpdate(Handle(connection), Applied);
    }

    public override async Task ConnectionOpenedAsync(System.Data.Common.DbConnection connection, Microsoft.EntityFrameworkCore.Diagnostics.ConnectionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        if (Applied.TryGetValue(Handle(connection), out _)) return;
        await using var cmd = connection.CreateCommand();
        cmd.CommandText = _pragmas;
        await cmd.ExecuteNonQueryAsync(cancellationToken);
        Applied.AddOrUpdate(Handle(connection), Applied);
    }

    private static SQLitePCL.sqlite3 Handle(System.Data.Common.DbConnection connection) => ((SqliteConnection)connection).Handle!;
}

public sealed class SqliteDesignFactory : IDesignTimeDbContextFactory<SqliteSeedanceDb>
{
    public SqliteSeedanceDb CreateDbContext(string[] args) =>
        new((DbContextOptions<SqliteSeedanceDb>)new SqliteDialect("Data Source=design.db").Configure(new DbContextOptionsBuilder<SqliteSeedanceDb>()).Options);
}

public sealed class PostgresDesignFactory : IDesignTimeDbContextFactory<PostgresSeedanceDb>
{
    public PostgresSeedanceDb CreateDbContext(string[] args) =>
        new((DbContextOptions<PostgresSeedanceDb>)new PostgresDialect("Host=localhost;Database=seedance").Configure(new DbContextOptionsBuilder<PostgresSeedanceDb>()).Options);
}
