namespace Seedance.Server.Tests.Support;

/// <summary>
/// A test that uses neither the database nor the file store the pass puts its servers on (the Ark emulator alone, say,
/// or <c>./run</c> on its embedded defaults): it runs once, in the SQLite pass of <c>./test</c> (and in any run outside
/// it), and is skipped, saying why, in the PostgreSQL pass, where it would only repeat itself.
/// </summary>
public sealed class SqlitePassFactAttribute : FactAttribute
{
    public SqlitePassFactAttribute()
    {
        if (TestDatabase.IsPostgres) Skip = SqlitePass.Reason;
    }
}

/// <inheritdoc cref="SqlitePassFactAttribute"/>
public sealed class SqlitePassTheoryAttribute : TheoryAttribute
{
    public SqlitePassTheoryAttribute()
    {
        if (TestDatabase.IsPostgres) Skip = SqlitePass.Reason;
    }
}

internal static class SqlitePass
{
    public const string Reason = "Runs in the SQLite pass: it uses neither the pass's database nor its store, so it would only repeat itself";
}
