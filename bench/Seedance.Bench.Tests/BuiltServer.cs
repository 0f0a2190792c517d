using System.Reflection;

namespace Seedance.Bench.Tests;

/// <summary>
/// What the harness runs against in these tests: the ReadyToRun publish of the server, of the same configuration, that
/// the server tests' build makes (<c>./bench/run</c> itself runs the server's plain build output).
/// </summary>
public static class BuiltServer
{
    /// <summary>The server's dll in <c>tests/Seedance.Server.Tests/bin/{Configuration}/{TargetFramework}/server</c>, as recorded at build time.</summary>
    public static string Dll
    {
        get
        {
            var path = typeof(BuiltServer).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
                .Single(a => a.Key == "ServerDll").Value!;
            return File.Exists(path) ? path : throw new FileNotFoundException("The server is not published for the tests: build Seedance.slnx first.", path);
        }
    }

    /// <summary>
    /// The PostgreSQL server that <c>./test</c> starts (<c>.ci/services.sh</c>) and names in <c>SEEDANCE_TEST_POSTGRES</c>,
    /// or null when there is none.
    /// </summary>
    public static string? Postgres => Environment.GetEnvironmentVariable("SEEDANCE_TEST_POSTGRES") is { Length: > 0 } cs ? cs : null;

    /// <summary>
    /// Whether this run of the suite is the pass of <paramref name="database"/> (<c>SEEDANCE_TEST_DATABASE</c>, set by
    /// <c>./test</c>), or a run outside <c>./test</c>. The harness brings its own servers and data, so it gives the
    /// same answer in either pass: each smoke run is made in one pass only.
    /// </summary>
    public static bool InPass(string database) =>
        Environment.GetEnvironmentVariable("SEEDANCE_TEST_DATABASE") is not { Length: > 0 } pass || pass == database;
}
