using Microsoft.Data.Sqlite;
using Npgsql;
using Seedance.Server.Infrastructure;

namespace Seedance.Server.Data;

/// <summary>
/// The database away or out of space, told apart from a failure of the server's own: PostgreSQL restarting, shutting
/// down or unreachable (its connection failed, or it refused with a class 08, 53, 57P or 58 state), SQLite's disk full
/// or failing. Requests then answer 503 SERVICE_BUSY; the pool reconnects by itself when the database is back.
/// </summary>
public sealed class DatabaseOutage : IServiceOutage
{
    // SQLite's primary result codes: SQLITE_IOERR, SQLITE_FULL.
    private const int SqliteIoError = 10, SqliteFull = 13;

    public string? Recognise(Exception error) => error switch
    {
        // The primary code is the low byte of an extended one (SQLITE_IOERR_WRITE is SQLITE_IOERR | 3 << 8).
        SqliteException e when (e.SqliteErrorCode & 0xFF) == SqliteFull => "the database has no space left",
        SqliteException e when (e.SqliteErrorCode & 0xFF) == SqliteIoError => "the database cannot write to its disk",
        PostgresException { SqlState: var state } when IsOutage(state) => "the database is unavailable",
        PostgresException or NpgsqlOperationInProgressException => null, // a refusal of the statement, or the server's own misuse
        NpgsqlException => "the database is unavailable", // the connection failed: refused, broken, timed out
        _ => null,
    };

    /// <summary>Connection exceptions, insufficient resources (disk full, too many connections), operator intervention (shutdown, restart), system errors.</summary>
    private static bool IsOutage(string state) =>
        state.StartsWith("08", StringComparison.Ordinal) || state.StartsWith("53", StringComparison.Ordinal)
        || state.StartsWith("57P", StringComparison.Ordinal) || state.StartsWith("58", StringComparison.Ordinal);
}
