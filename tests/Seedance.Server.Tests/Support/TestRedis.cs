namespace Seedance.Server.Tests.Support;

/// <summary>The real Redis that <c>./test</c> starts (<c>.ci/services.sh</c>) and names in <c>SEEDANCE_TEST_REDIS</c> (host:port).</summary>
public static class TestRedis
{
    public const string Variable = "SEEDANCE_TEST_REDIS";

    public static string Configuration =>
        Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException($"{Variable} is not set: run the tests with ./test, which starts Redis (.ci/services.sh), or set it to a Redis host:port.");
}
