using Microsoft.Extensions.Logging;
using Seedance.Server.Tests.Support;

namespace Seedance.Server.Tests.Faults;

/// <summary>Redis, which shares the per-key rate limit between nodes, killed and started again: a Redis of the test's own.</summary>
[TakesAbout(10)]
public sealed class RedisOutageTests
{
    private const int PerSecond = 5;

    /// <summary>A burst of requests at once: how many were allowed and how many refused (each answer checked).</summary>
    private static async Task<(int Allowed, int Refused)> BurstAsync(ApiClient client, int requests = 20)
    {
        var responses = await Task.WhenAll(Enumerable.Range(0, requests).Select(async _ => await ApiResponse.From(await client.Http.GetAsync("/api/v1/video/balance"))));
        foreach (var response in responses)
            if (response.Status == 429) response.AssertError(429, "RATE_LIMIT_EXCEEDED");
            else response.AssertOk();
        return (responses.Count(r => r.Status == 200), responses.Count(r => r.Status == 429));
    }

    [SqlitePassFact]
    public async Task WhenRedisGoesAwayTheRateLimitFallsBackToTheNodesOwnAndTheLogSaysSoOnce()
    {
        await using var redis = await PrivateRedis.StartAsync();
        var log = new CapturedLog();
        await using var server = await RunningServer.StartAsync(new()
        {
            ["Seedance:Redis"] = redis.Configuration, ["Seedance:RedisKeyPrefix"] = $"test-{Guid.NewGuid():N}",
            ["Logging:LogLevel:Seedance.Server.Auth"] = "Information",
        }, services: log.Register);
        using var client = await server.CreateKeyAsync(rateLimit: PerSecond);
        Assert.True((await BurstAsync(client)).Refused > 0, "the shared limit holds while Redis answers");
        Assert.Empty(log.Containing("Redis unreachable"));

        await redis.KillAsync();
        // Three bursts a little more than a second apart (the node's own bucket refills in between): each is limited by the
        // node's own bucket, without a failed request, and the fallback is logged once for all of them.
        for (var round = 0; round < 3; round++)
        {
            await Task.Delay(1100);
            var (allowed, refused) = await BurstAsync(client);
            Assert.True(allowed >= 1 && allowed <= 2 * PerSecond, $"round {round}: {allowed} allowed by the node's own limit");
            Assert.True(refused > 0, $"round {round}: the node's own limit refuses the rest");
        }
        Assert.Single(log.Containing("Redis unreachable", LogLevel.Warning));

        // Back: the limit is shared again (said once), and an outage is not logged again.
        await redis.StartAgainAsync();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (log.Containing("Redis answers again").Count == 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "the server noticed within 60 s that Redis answers again");
            (await client.BalanceAsync()).Status.ToString(); // any answer: each request asks Redis first
            await Task.Delay(200);
        }
        await Task.Delay(1100);
        Assert.True((await BurstAsync(client)).Refused > 0);
        Assert.Single(log.Containing("Redis answers again"));
        Assert.Single(log.Containing("Redis unreachable", LogLevel.Warning));
    }
}
