using System.Text.Json.Nodes;
using Seedance.Server.Tests.Support;
using Seedance.Server.Usage;

namespace Seedance.Server.Tests.Usage;

/// <summary>
/// The request log through HTTP: every answer names its request id, and the caller finds that request (and only its own)
/// in its log with the status and code it got; the operator sees every key's; old entries are forgotten.
/// </summary>
public sealed class RequestLogTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private RunningServer Server => fixture.Server;

    [Fact]
    public async Task EveryAnswerCarriesARequestIdAndTheCallerFindsThatRequestInItsOwnLogWithItsStatusAndCode()
    {
        using var client = await Server.CreateKeyAsync();
        using var other = await Server.CreateKeyAsync(name: "other");
        var balance = await client.Http.GetAsync("/api/v1/video/balance");
        var refused = await client.Http.GetAsync("/api/v1/video/task/0192f0c0a1b2c3d4e5f60718293a4b5c?secret=hidden");
        var foreign = await other.Http.GetAsync("/api/v1/video/balance");
        var balanceId = RequestId(balance);
        var refusedId = RequestId(refused);
        Assert.NotEqual(balanceId, refusedId);
        Assert.False(string.IsNullOrEmpty(RequestId(await Server.Http.GetAsync("/health/live")))); // outside the API too

        var log = await WaitForAsync(client, "", page => page.Count(r => r["request_id"]!.GetValue<string>() is var id && (id == balanceId || id == refusedId)) == 2);
        Assert.DoesNotContain(log, r => r["request_id"]!.GetValue<string>() == RequestId(foreign));
        Assert.All(log, r => Assert.Equal(client.KeyId, r["key_id"]!.GetValue<long>()));
        var ok = log.Single(r => r["request_id"]!.GetValue<string>() == balanceId);
        Assert.Equal(("GET", "/api/v1/video/balance", "/api/v1/video/balance", 200, "200"),
            (ok["method"]!.GetValue<string>(), ok["route"]!.GetValue<string>(), ok["path"]!.GetValue<string>(), ok["status"]!.GetValue<int>(), ok["code"]!.GetValue<string>()));
        Assert.True(ok["latency_ms"]!.GetValue<double>() >= 0);
        var notFound = log.Single(r => r["request_id"]!.GetValue<string>() == refusedId);
        Assert.Equal(("/api/v1/video/task/{task_id}", "/api/v1/video/task/0192f0c0a1b2c3d4e5f60718293a4b5c", 404, "TASK_NOT_FOUND"),
            (notFound["route"]!.GetValue<string>(), notFound["path"]!.GetValue<string>(), notFound["status"]!.GetValue<int>(), notFound["code"]!.GetValue<string>()));
        Assert.DoesNotContain("hidden", notFound.ToJsonString()); // never the query string
        Assert.DoesNotContain(client.ApiKey, string.Join(",", log.Select(r => r.ToJsonString())));

        // Filtered to the refusals: the 404 alone.
        var errors = (await PageAsync(client, "?status=4xx"))["data"]!.AsArray();
        Assert.Equal(new[] { refusedId }, errors.Select(r => r!["request_id"]!.GetValue<string>()).Where(id => id == refusedId || id == balanceId));
        Assert.All(errors, r => Assert.InRange(r!["status"]!.GetValue<int>(), 400, 499));

        // The operator sees both keys' requests, and one key's with key_id; a call with an unknown key is there without a key.
        using var unknown = new HttpClient { BaseAddress = new Uri(Server.BaseUrl) };
        unknown.DefaultRequestHeaders.Add("X-API-Key", "sk-sd2-unknown");
        var unknownId = RequestId(await unknown.GetAsync("/api/v1/video/balance"));
        await ServerProbes.WaitUntilAsync(async () => (await AdminPageAsync("?status=401")).Any(r => r!["request_id"]!.GetValue<string>() == unknownId), "the refused key's request");
        var refusedKey = (await AdminPageAsync("?status=401")).Single(r => r!["request_id"]!.GetValue<string>() == unknownId)!;
        Assert.Equal<(string, long?)>(("INVALID_API_KEY", null), (refusedKey["code"]!.GetValue<string>(), refusedKey["key_id"]?.GetValue<long>()));
        var all = await AdminPageAsync("?page_size=500");
        Assert.Contains(all, r => r!["request_id"]!.GetValue<string>() == RequestId(foreign));
        Assert.Contains(all, r => r!["request_id"]!.GetValue<string>() == balanceId);
        Assert.All(await AdminPageAsync($"?key_id={other.KeyId}"), r => Assert.Equal(other.KeyId, r!["key_id"]!.GetValue<long>()));
    }

    [Fact]
    public async Task TheLogPagesNewestFirstByCursorAndRefusesABadFilter()
    {
        using var client = await Server.CreateKeyAsync();
        var ids = new List<string>();
        for (var i = 0; i < 5; i++) ids.Add(RequestId(await client.Http.GetAsync("/api/v1/video/balance")));
        await WaitForAsync(client, "?page_size=100", page => ids.All(id => page.Any(r => r["request_id"]!.GetValue<string>() == id)));

        var seen = new List<string>();
        string? cursor = null;
        do
        {
            var page = await PageAsync(client, "?page_size=2" + (cursor is null ? "" : $"&cursor={cursor}"));
            var data = page["data"]!.AsArray();
            Assert.InRange(data.Count, 1, 2);
            seen.AddRange(data.Select(r => r!["request_id"]!.GetValue<string>()));
            cursor = page["next_cursor"]?.GetValue<string>();
        } while (cursor is not null);
        ids.Reverse();
        Assert.Equal(ids, seen.Where(ids.Contains));

        (await ApiResponse.From(await client.Http.GetAsync("/api/v1/video/requests?status=teapot"))).AssertError(400, "INVALID_PARAMETER", "status");
        (await ApiResponse.From(await client.Http.GetAsync("/api/v1/video/requests?page_size=0"))).AssertError(400, "INVALID_PARAMETER", "page_size");
        (await ApiResponse.From(await client.Http.GetAsync("/api/v1/video/requests?cursor=abc"))).AssertError(400, "INVALID_PARAMETER", "cursor");
    }

    [Fact]
    public async Task EntriesOlderThanTheRetentionAreForgotten()
    {
        var clock = new JumpingClock();
        await using var server = await RunningServer.StartAsync(new Dictionary<string, string> { ["Seedance:Retention:RequestLogDays"] = "2" }, services: clock.Use);
        using var client = await server.CreateKeyAsync();
        var old = RequestId(await client.Http.GetAsync("/api/v1/video/balance"));
        await WaitForAsync(client, "", page => page.Any(r => r["request_id"]!.GetValue<string>() == old));

        clock.Jump(TimeSpan.FromDays(3));
        var recent = RequestId(await client.Http.GetAsync("/api/v1/video/balance"));
        var from = Uri.EscapeDataString(DateTime.UtcNow.AddDays(-1).ToString("O"));
        await WaitForAsync(client, $"?from={from}", page => page.Any(r => r["request_id"]!.GetValue<string>() == recent)
            && page.All(r => r["request_id"]!.GetValue<string>() != old));
    }

    [Theory]
    [InlineData(null, 0, 999)]
    [InlineData("429", 429, 429)]
    [InlineData("4xx", 400, 499)]
    [InlineData("5xx", 500, 599)]
    [InlineData("error", 400, 999)]
    public void AStatusFilterNamesAStatusAClassOrEveryRefusal(string? status, int lowest, int highest) =>
        Assert.Equal((lowest, highest), RequestLogEndpoints.StatusRange(status));

    private static string RequestId(HttpResponseMessage response) => Assert.Single(response.Headers.GetValues("X-Request-Id"));

    private static async Task<JsonNode> PageAsync(ApiClient client, string query)
    {
        var response = await ApiResponse.From(await client.Http.GetAsync("/api/v1/video/requests" + query));
        response.AssertOk();
        return response.Result!;
    }

    private async Task<JsonArray> AdminPageAsync(string query)
    {
        var response = await Server.AdminRequestAsync(HttpMethod.Get, "/admin/v1/requests" + query);
        response.AssertOk();
        return response.Result!["data"]!.AsArray();
    }

    /// <summary>Reads the caller's log until <paramref name="holds"/> (the log is written a second or so after the requests).</summary>
    private static async Task<List<JsonNode>> WaitForAsync(ApiClient client, string query, Func<List<JsonNode>, bool> holds)
    {
        List<JsonNode> page = [];
        await ServerProbes.WaitUntilAsync(async () =>
        {
            page = (await PageAsync(client, query))["data"]!.AsArray().Select(r => r!).ToList();
            return holds(page);
        }, "the request log to show the requests");
        return page;
    }
}
