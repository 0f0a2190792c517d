using System.Diagnostics;
using Seedance.Server.Data;
using Seedance.Server.Tests.Support;

namespace Seedance.Server.Tests;

/// <summary>
/// The per-key rate limit across two nodes (two servers on one database): shared through the real Redis of
/// <c>./test</c> when <c>Seedance:Redis</c> is set, each node's own otherwise.
/// </summary>
public sealed class SharedRateLimitTests
{
    private const int PerSecond = 5;

    /// <summary>Two servers on the same data, each with <paramref name="settings"/>; a key of <see cref="PerSecond"/> requests a second.</summary>
    private static async Task<(int Allowed, int Refused, double Seconds)> AlternateAsync(Dictionary<string, string> settings, int requests = 40)
    {
        var dataDir = TempDir.Create();
        try
        {
            await using var first = await RunningServer.StartAsync(settings, dataDir);
            first.KeepDataDir = true;
            await using var second = await RunningServer.StartAsync(settings, dataDir);
            second.KeepDataDir = true;
            using var onFirst = await first.CreateKeyAsync(rateLimit: PerSecond);
            using var onSecond = new ApiClient(second.BaseUrl, onFirst.ApiKey, onFirst.KeyId);
            (await onSecond.BalanceAsync()).AssertOk(); // the second node knows the key (this one request is counted too)

            // All at once, alternating between the nodes: the requests take a moment however busy the machine, so
            // little refills while they are made and a node that limits on its own must refuse some.
            var clock = Stopwatch.StartNew();
            var responses = await Task.WhenAll(Enumerable.Range(0, requests).Select(async i =>
                await ApiResponse.From(await (i % 2 == 0 ? onFirst : onSecond).Http.GetAsync("/api/v1/video/balance"))));
            var seconds = clock.Elapsed.TotalSeconds;
            foreach (var response in responses)
            {
                if (response.Status == 429)
                {
                    response.AssertError(429, "RATE_LIMIT_EXCEEDED");
                    Assert.True(int.Parse(Assert.Single(response.Raw.Headers.GetValues("Retry-After"))) >= 1);
                }
                else response.AssertOk();
            }
            return (responses.Count(r => r.Status == 200) + 1, responses.Count(r => r.Status == 429), seconds);
        }
        finally { TempDir.Delete(dataDir); }
    }

    [Fact]
    public async Task WithRedisTwoNodesShareOneKeysRateLimit()
    {
        var (allowed, refused, seconds) = await AlternateAsync(new()
        {
            ["Seedance:Redis"] = TestRedis.Configuration, ["Seedance:RedisKeyPrefix"] = $"test-{Guid.NewGuid():N}",
        });

        // One bucket for both nodes: the burst of 5 plus what refilled while the requests were made, never 5 per node.
        Assert.True(allowed >= PerSecond, $"{allowed} allowed");
        Assert.True(allowed <= PerSecond + Math.Ceiling(seconds * PerSecond), $"{allowed} allowed in {seconds:0.00} s");
        Assert.True(refused > 0);
    }

    [Fact]
    public async Task WithoutRedisEachNodeLimitsAKeyOnItsOwn()
    {
        var (allowed, refused, _) = await AlternateAsync([]);

        Assert.True(allowed >= 2 * PerSecond, $"{allowed} allowed: each node grants its own burst");
        Assert.True(refused > 0);
    }

    [Fact]
    public async Task WhenRedisCannotBeReachedTheLimitFallsBackToEachNodesOwn()
    {
        var (allowed, refused, _) = await AlternateAsync(new() { ["Seedance:Redis"] = $"127.0.0.1:{ServerProcess.FreePort()},connectTimeout=200" });

        Assert.True(allowed >= 2 * PerSecond, $"{allowed} allowed");
        Assert.True(refused > 0, "the per-node limit still holds");
    }
}
