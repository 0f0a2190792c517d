using System.Collections.Concurrent;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using Seedance.Server.Data;

namespace Seedance.Server.Tests.Support;

/// <summary>
/// The real PostgreSQL server that <c>./test</c> starts (<c>.ci/services.sh</c>) and names in
/// <c>SEEDANCE_TEST_POSTGRES</c>. Each server under test gets a database of its own: created empty, or as a copy of
/// a template database the server's migrations were applied to once per run (the server then finds nothing to apply,
/// as on any start after the first; the clusters of <see cref="ServerCluster"/> start on empty ones and migrate).
/// </summary>
public static class TestPostgres
{
    public const string Variable = "SEEDANCE_TEST_POSTGRES";

    /// <summary>The connection string of the maintenance database; a clear failure when no PostgreSQL was started.</summary>
    public static string ConnectionString =>
        Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } cs
            ? cs
            : throw new InvalidOperationException(
                $"{Variable} is not set: run the tests with ./test, which starts PostgreSQL (.ci/services.sh), or set it to a server's connection string.");

    private static readonly Lazy<Task<string>> MigratedTemplate = new(CreateMigratedTemplateAsync);

    /// <summary>Creates a database, empty or with the server's migrations applied, and returns its connection string.</summary>
    public static async Task<string> CreateDatabaseAsync(string prefix = "seedance", bool migrated = false)
    {
        var template = migrated ? await MigratedTemplate.Value : null;
        var name = $"{prefix}_{Guid.NewGuid():N}"[..Math.Min(63, prefix.Length + 33)];
        await using (var connection = new NpgsqlConnection(ConnectionString))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"CREATE DATABASE \"{name}\"" + (template is null ? "" : $" TEMPLATE \"{template}\""), connection);
            await command.ExecuteNonQueryAsync();
        }
        return new NpgsqlConnectionStringBuilder(ConnectionString) { Database = name }.ConnectionString;
    }

    /// <summary>
    /// An empty database migrated by the server's own writer, over connections that are closed afterwards (a database
    /// is copied only while nobody is connected to it); dropped when the test process exits.
    /// </summary>
    private static async Task<string> CreateMigratedTemplateAsync()
    {
        var connectionString = new NpgsqlConnectionStringBuilder(await CreateDatabaseAsync("seedance_template")) { Pooling = false }.ConnectionString;
        var dataDir = Path.Combine(Path.GetTempPath(), "seedance-template-" + Guid.NewGuid().ToString("N"));
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Seedance:DataDir"] = dataDir, ["Seedance:AdminToken"] = RunningServer.AdminToken,
            ["Seedance:Database:Provider"] = "postgres", ["ConnectionStrings:Seedance"] = connectionString,
        });
        builder.Services.AddSeedanceCore(builder.Configuration);
        using (var host = builder.Build())
            await DatabaseSetup.MigrateAsync(host.Services);
        Directory.Delete(dataDir, recursive: true);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => DropDatabaseAsync(connectionString).GetAwaiter().GetResult();
        return new NpgsqlConnectionStringBuilder(connectionString).Database!;
    }

    /// <summary>The emptied databases waiting for a test; dropped when the test process exits.</summary>
    private static readonly ConcurrentBag<string> Emptied = [];

    static TestPostgres() => AppDomain.CurrentDomain.ProcessExit += (_, _) =>
    {
        while (Emptied.TryTake(out var connectionString)) DropDatabaseAsync(connectionString).GetAwaiter().GetResult();
    };

    /// <summary>
    /// A database with the server's migrations applied and no rows: one an earlier test finished with and
    /// <see cref="RecycleAsync"/> emptied, or else a new copy of the template. Reusing one spares PostgreSQL a copy and a
    /// drop, and the next server in this process finds the connections of the last still open in its pool.
    /// </summary>
    public static async Task<string> TakeMigratedDatabaseAsync() =>
        Emptied.TryTake(out var connectionString) ? connectionString : await CreateDatabaseAsync("seedance_test", migrated: true);

    /// <summary>
    /// Gives back a database of <see cref="TakeMigratedDatabaseAsync"/> its test is done with: every table but the
    /// migrations' history emptied and every identity restarted, so it is as the template made it. Dropped instead when
    /// that cannot be done at once (a connection still holds a lock) or leaves a row behind.
    /// </summary>
    public static async Task RecycleAsync(string connectionString)
    {
        try
        {
            await using var connection = new NpgsqlConnection(connectionString);
            await connection.OpenAsync();
            var tables = await NamesAsync(connection, "SELECT quote_ident(tablename) FROM pg_tables WHERE schemaname = 'public' AND tablename <> '__EFMigrationsHistory'");
            // Every sequence belongs to an identity column (the model declares none of its own): RESTART IDENTITY restarts them all.
            var reset = $"SET lock_timeout = '2s'; TRUNCATE {string.Join(", ", tables)} RESTART IDENTITY CASCADE; RESET lock_timeout;";
            await using (var command = new NpgsqlCommand(reset, connection)) await command.ExecuteNonQueryAsync();
            var rows = string.Join(" + ", tables.Select(t => $"(SELECT count(*) FROM {t})"));
            await using (var count = new NpgsqlCommand($"SELECT {rows}", connection))
                if ((long)(await count.ExecuteScalarAsync())! != 0) throw new InvalidOperationException("rows left after the reset");
            Emptied.Add(connectionString);
        }
        catch (Exception e) when (e is NpgsqlException or InvalidOperationException)
        {
            await DropDatabaseAsync(connectionString);
        }
    }

    private static async Task<List<string>> NamesAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await using var reader = await command.ExecuteReaderAsync();
        var names = new List<string>();
        while (await reader.ReadAsync()) names.Add(reader.GetString(0));
        return names;
    }

    /// <summary>Drops a database made by <see cref="CreateDatabaseAsync"/>, closing what still uses it.</summary>
    public static async Task DropDatabaseAsync(string connectionString)
    {
        var name = new NpgsqlConnectionStringBuilder(connectionString).Database!;
        // Only this database's pool: clearing every pool would close the idle connections of the other servers
        // running in this process, and each would open new ones (a PostgreSQL process each) at its next query.
        // Its servers' own pools (other connection strings to it) lose their connections to the drop's FORCE.
        await using (var pooled = new NpgsqlConnection(connectionString)) NpgsqlConnection.ClearPool(pooled);
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)", connection);
        await command.ExecuteNonQueryAsync();
    }
}
