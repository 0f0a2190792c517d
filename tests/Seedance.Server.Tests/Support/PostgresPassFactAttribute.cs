namespace Seedance.Server.Tests.Support;

/// <summary>
/// A test whose servers share a PostgreSQL database whichever pass runs (the cluster of several nodes): it runs once,
/// in the PostgreSQL pass of <c>./test</c>, and is skipped, saying why, in the SQLite pass, where it would only repeat itself.
/// </summary>
public sealed class PostgresPassFactAttribute : FactAttribute
{
    public PostgresPassFactAttribute()
    {
        if (!TestDatabase.IsPostgres) Skip = "Runs in the PostgreSQL pass: its nodes share a PostgreSQL database in either pass";
    }
}
