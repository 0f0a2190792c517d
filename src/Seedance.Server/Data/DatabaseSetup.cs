using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;
using Seedance.Server.Infrastructure;

namespace Seedance.Server.Data;

public static class DatabaseSetup
{
    /// <remarks>
    /// Contexts are pooled, with options built once: a request (a poll) would otherwise pay for building the
    /// options, their connection string and interceptor, and the context's own services each time.
    /// </remarks>
    public static IServiceCollection AddSeedanceDb(this IServiceCollection services, SeedanceOptions options)
    {
        if (options.Database.Provider == "postgres")
        {
            var connectionString = options.Database.ConnectionString!;
            services.AddDbContextPool<SeedanceDb, PostgresSeedanceDb>(o => UsePostgres(o, connectionString));
        }
        else
        {
            var connectionString = SqliteConnectionString(options);
            services.AddDbContextPool<SeedanceDb, SqliteSeedanceDb>(o => UseSqlite(o, connectionString));
        }
        return services;
    }

    public static string SqliteConnectionString(SeedanceOptions options) =>
        options.Database.ConnectionString is { Length: > 0 } cs
            ? cs
            : new SqliteConnectionStringBuilder
            {
                DataSource = Path.Combine(options.DataPath, "seedance.db"),
                Cache = SqliteCacheMode.Private,
                Pooling = true,
                DefaultTimeout = 30,
            }.ToString();

    internal static DbContextOptionsBuilder UseSqlite(DbContextOptionsBuilder o, string connectionString) =>
        o.UseSqlite(connectionString, s => s.MigrationsAssembly(typeof(SeedanceDb).Assembly.FullName))
         .AddInterceptors(new SqlitePragmas());

    internal static DbContextOptionsBuilder UsePostgres(DbContextOptionsBuilder o, string connectionString) =>
        o.UseNpgsql(connectionString);

    /// <summary>Creates the data directory, applies migrations and turns on WAL.</summary>
    public static async Task MigrateAsync(IServiceProvider services, CancellationToken ct = default)
    {
        var options = services.GetRequiredService<Microsoft.Extensions.Options.IOptions<SeedanceOptions>>().Value;
        Directory.CreateDirectory(options.DataPath);
        await using var scope = services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<SeedanceDb>();
        if (db.Database.IsSqlite()) await db.Database.ExecuteSqlRawAsync("PRAGMA journal_mode=WAL;", ct);
        await db.Database.MigrateAsync(ct);
    }
}

/// <summary>
/// Per-connection SQLite settings: WAL is durable with NORMAL sync; foreign writers wait, not fail. Applied once
/// per physical connection: the pool hands the same one out again, and EF opens it for every query.
/// </summary>
internal sealed class SqlitePragmas : Microsoft.EntityFrameworkCore.Diagnostics.DbConnectionInterceptor
{
    private const string Pragmas = "PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=30000; PRAGMA foreign_keys=ON;";
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<SQLitePCL.sqlite3, object> Applied = new();

    public override void ConnectionOpened(System.Data.Common.DbConnection connection, Microsoft.EntityFrameworkCore.Diagnostics.ConnectionEndEventData eventData)
    {
        if (Applied.TryGetValue(Handle(connection), out _)) return;
        using var cmd = connection.CreateCommand();
        cmd.CommandText = Pragmas;
        cmd.ExecuteNonQuery();
        Applied.AddOrUpdate(Handle(connection), Applied);
    }

    public override async Task ConnectionOpenedAsync(System.Data.Common.DbConnection connection, Microsoft.EntityFrameworkCore.Diagnostics.ConnectionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        if (Applied.TryGetValue(Handle(connection), out _)) return;
        await using var cmd = connection.CreateCommand();
        cmd.CommandText = Pragmas;
        await cmd.ExecuteNonQueryAsync(cancellationToken);
        Applied.AddOrUpdate(Handle(connection), Applied);
    }

    private static SQLitePCL.sqlite3 Handle(System.Data.Common.DbConnection connection) => ((SqliteConnection)connection).Handle!;
}

public sealed class SqliteDesignFactory : IDesignTimeDbContextFactory<SqliteSeedanceDb>
{
    public SqliteSeedanceDb CreateDbContext(string[] args) =>
        new((DbContextOptions<SqliteSeedanceDb>)DatabaseSetup.UseSqlite(new DbContextOptionsBuilder<SqliteSeedanceDb>(), "Data Source=design.db").Options);
}

public sealed class PostgresDesignFactory : IDesignTimeDbContextFactory<PostgresSeedanceDb>
{
    public PostgresSeedanceDb CreateDbContext(string[] args) =>
        new((DbContextOptions<PostgresSeedanceDb>)DatabaseSetup.UsePostgres(new DbContextOptionsBuilder<PostgresSeedanceDb>(), "Host=localhost;Database=seedance").Options);
}
