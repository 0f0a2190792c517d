using System.Collections.Concurrent;
using System.Data.Common;
using System.Text;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Seedance.Server.Tests.Support;

/// <summary>
/// The database the servers under test run on, chosen for the whole run by <c>SEEDANCE_TEST_DATABASE</c>:
/// unset or <c>sqlite</c>, the SQLite file in each server's data directory; <c>postgres</c>, a fresh
/// database of its own on the PostgreSQL that <c>./test</c> starts (<see cref="TestPostgres"/>), migrated from its template.
/// A PostgreSQL database belongs to a data directory: a server started again on the same directory finds
/// the same data, and <see cref="TempDir.Delete"/> empties it with the directory, for the next test to take.
/// </summary>
public static class TestDatabase
{
    public const string Variable = "SEEDANCE_TEST_DATABASE";

    private static readonly ConcurrentDictionary<string, Lazy<Task<string>>> Databases = new();

    public static bool IsPostgres => Environment.GetEnvironmentVariable(Variable) switch
    {
        null or "" or "sqlite" => false,
        "postgres" => true,
        var other => throw new InvalidOperationException($"{Variable}={other}: expected sqlite or postgres"),
    };

    /// <summary>The configuration keys (<c>Section:Key</c>) that put a server on <paramref name="dataDir"/>'s database.</summary>
    public static async Task<Dictionary<string, string>> SettingsAsync(string dataDir) => !IsPostgres ? [] : new()
    {
        ["Seedance:Database:Provider"] = "postgres",
        // The name the README gives operators (ConnectionStrings__Seedance), not Seedance:Database:ConnectionString.
        ["ConnectionStrings:Seedance"] = await PostgresFor(dataDir),
    };

    /// <summary>The same as environment variables, for a server process.</summary>
    public static async Task<Dictionary<string, string>> EnvironmentAsync(string dataDir) =>
        (await SettingsAsync(dataDir)).ToDictionary(kv => kv.Key.Replace(":", "__"), kv => kv.Value);

    /// <summary>Empties the PostgreSQL database of a data directory being deleted, if it has one, for another to use.</summary>
    internal static void Forget(string dataDir)
    {
        if (!Databases.TryRemove(Path.GetFullPath(dataDir), out var database) || !database.IsValueCreated) return;
        // Waited for on the pool, not on the caller's synchronization context: xUnit runs tests on a few threads of its
        // own, and a wait there for work that must come back to one of them would deadlock once every one of them waits.
        Task.Run(async () => await TestPostgres.RecycleAsync(await database.Value)).GetAwaiter().GetResult();
    }

    /// <summary>Runs a query on the server's database (parameters as <c>@name</c>) and returns its rows as column-name dictionaries.</summary>
    public static async Task<List<Dictionary<string, object?>>> QueryAsync(string dataDir, string sql, params (string Name, object Value)[] parameters)
    {
        await using var connection = await OpenAsync(dataDir, readOnly: true);
        await using var command = Command(connection, sql, parameters);
        return await RowsAsync(command);
    }

    /// <summary>The rows a query gives, as column-name dictionaries.</summary>
    public static async Task<List<Dictionary<string, object?>>> RowsAsync(DbCommand command)
    {
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<Dictionary<string, object?>>();
        while (await reader.ReadAsync())
        {
            var row = new Dictionary<string, object?>();
            for (var i = 0; i < reader.FieldCount; i++) row[reader.GetName(i)] = reader.IsDBNull(i) ? null : reader.GetValue(i);
            rows.Add(row);
        }
        return rows;
    }

    /// <summary>Runs a statement that changes the server's database; returns the rows it touched.</summary>
    public static async Task<int> ExecuteAsync(string dataDir, string sql, params (string Name, object Value)[] parameters)
    {
        await using var connection = await OpenAsync(dataDir, readOnly: false);
        await using var command = Command(connection, sql, parameters);
        return await command.ExecuteNonQueryAsync();
    }

    /// <summary>
    /// What the database holds, as bytes to search: on SQLite every byte of its files (free pages and the
    /// write-ahead log included); on PostgreSQL every value of every table (binary values as they are,
    /// the rest as text).
    /// </summary>
    public static async Task<byte[]> StoredBytesAsync(string dataDir)
    {
        if (!IsPostgres) return SqliteFile.AllBytes(dataDir);
        using var all = new MemoryStream();
        var tables = (await QueryAsync(dataDir, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).Select(r => (string)r["tablename"]!);
        foreach (var table in tables)
            foreach (var row in await QueryAsync(dataDir, $"SELECT * FROM \"{table}\""))
                foreach (var value in row.Values)
                {
                    var bytes = value switch { null => [], byte[] b => b, _ => Encoding.UTF8.GetBytes(Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture)!) };
                    all.Write(bytes);
                    all.WriteByte(0);
                }
        return all.ToArray();
    }

    private static async Task<DbConnection> OpenAsync(string dataDir, bool readOnly)
    {
        DbConnection connection = IsPostgres
            ? new NpgsqlConnection(await PostgresFor(dataDir))
            : new SqliteConnection(new SqliteConnectionStringBuilder
            {
                DataSource = SqliteFile.PathIn(dataDir), Mode = readOnly ? SqliteOpenMode.ReadOnly : SqliteOpenMode.ReadWrite, Pooling = false,
                DefaultTimeout = 30,
            }.ToString());
        await connection.OpenAsync();
        return connection;
    }

    private static DbCommand Command(DbConnection connection, string sql, (string Name, object Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = name;
            parameter.Value = value;
            command.Parameters.Add(parameter);
        }
        return command;
    }

    private static Task<string> PostgresFor(string dataDir) =>
        Databases.GetOrAdd(Path.GetFullPath(dataDir), _ => new Lazy<Task<string>>(TestPostgres.TakeMigratedDatabaseAsync)).Value;
}
