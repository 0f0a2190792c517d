namespace Seedance.Server.Tests.Support;

/// <summary>
/// A test of PostgreSQL itself: of what only happens there (its locks, its pool, Npgsql's preparing of statements), or of
/// servers that share one PostgreSQL database whichever pass runs (the cluster of several nodes). It runs once, in the
/// PostgreSQL pass of <c>./test</c>, and is skipped, saying why, in the SQLite pass.
/// </summary>
public sealed class PostgresPassFactAttribute : FactAttribute
{
    public PostgresPassFactAttribute()
    {
        if (!TestDatabase.IsPostgres) Skip = "Runs in the PostgreSQL pass: it tests PostgreSQL, or nodes that share a PostgreSQL database in either pass";
    }
}
