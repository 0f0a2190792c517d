using Microsoft.Data.Sqlite;

namespace Seedance.Server.Tests.Support;

/// <summary>Direct reads of a server's SQLite database file, to check what it really stores.</summary>
public static class SqliteFile
{
    public static string PathIn(string dataDir) => Path.Combine(dataDir, "seedance.db");

    /// <summary>A read-only connection without pooling, so the file is not held after the test.</summary>
    public static async Task<SqliteConnection> OpenAsync(string dataDir)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = PathIn(dataDir), Mode = SqliteOpenMode.ReadOnly, Pooling = false,
        }.ToString());
        await connection.OpenAsync();
        return connection;
    }

    /// <summary>Runs a query and returns its rows as column-name dictionaries.</summary>
    public static async Task<List<Dictionary<string, object?>>> QueryAsync(string dataDir, string sql, params (string Name, object Value)[] parameters)
    {
        await using var connection = await OpenAsync(dataDir);
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters) command.Parameters.AddWithValue(name, value);
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

    /// <summary>Every byte of the database: the main file plus its write-ahead log, where recent writes live.</summary>
    public static byte[] AllBytes(string dataDir)
    {
        using var all = new MemoryStream();
        foreach (var path in new[] { PathIn(dataDir), PathIn(dataDir) + "-wal", PathIn(dataDir) + "-journal" }.Where(File.Exists))
        {
            using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            file.CopyTo(all);
        }
        return all.ToArray();
    }
}
