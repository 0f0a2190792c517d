using System.Net.Http.Headers;
using Seedance.Server.Tests.Support;

namespace Seedance.Server.Tests;

/// <summary>
/// Failed authentications are throttled per client address: after <c>Seedance:Auth:FailuresPerMinute</c> wrong keys or
/// admin tokens in a minute, the address is refused with 429 and Retry-After for the rest of that minute, whatever it
/// presents; other addresses are not. Behind a trusted proxy, the address is the one it forwards.
/// </summary>
public sealed class AuthThrottleTests
{
    private static async Task<ApiResponse> SendAsync(RunningServer server, string path, string? apiKey = null, string? adminToken = null, string? forwardedFor = null)
    {
        using var http = new HttpClient { BaseAddress = new Uri(server.BaseUrl) };
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (apiKey is not null) request.Headers.Add("X-API-Key", apiKey);
        if (adminToken is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", adminToken);
        if (forwardedFor is not null) request.Headers.Add("X-Forwarded-For", forwardedFor);
        return await ApiResponse.From(await http.SendAsync(request));
    }

    [Fact]
    public async Task AfterItsFailuresAnAddressIsRefusedWith429WhateverItPresentsUntilItsMinuteIsOver()
    {
        var clock = new JumpingClock();
        await using var server = await RunningServer.StartAsync(new() { ["Seedance:Auth:FailuresPerMinute"] = "3" }, services: clock.Use);
        using var client = await server.CreateKeyAsync();

        (await SendAsync(server, "/api/v1/video/balance", apiKey: "sk-sd2-wrong")).AssertError(401, "INVALID_API_KEY");
        (await SendAsync(server, "/admin/v1/keys", adminToken: "wrong-token")).AssertError(401, "INVALID_ADMIN_TOKEN");
        (await SendAsync(server, "/api/v1/video/balance")).AssertError(401, "INVALID_API_KEY"); // no key at all counts too
        var refused = new[]
        {
            await SendAsync(server, "/api/v1/video/balance", apiKey: client.ApiKey),
            await SendAsync(server, "/admin/v1/keys", adminToken: RunningServer.AdminToken),
            await SendAsync(server, "/api/v1/video/balance", apiKey: "sk-sd2-wrong"),
        };

        foreach (var answer in refused)
        {
            answer.AssertError(429, "RATE_LIMIT_EXCEEDED");
            Assert.StartsWith("Rate limit exceeded: too many failed authentications from this address, retry in ", answer.Message);
            Assert.InRange(int.Parse(answer.Raw.Headers.GetValues("Retry-After").Single()), 1, 60);
        }
        (await SendAsync(server, "/healthz")).AssertOk(); // what needs no key is not refused

        clock.Jump(TimeSpan.FromSeconds(61));
        (await SendAsync(server, "/api/v1/video/balance", apiKey: client.ApiKey)).AssertOk();
        (await SendAsync(server, "/admin/v1/keys", adminToken: RunningServer.AdminToken)).AssertOk();
    }

    [Fact]
    public async Task BehindATrustedProxyTheForwardedAddressIsThrottledAndOtherClientsOfTheProxyAreNot()
    {
        await using var server = await RunningServer.StartAsync(new()
        {
            ["Seedance:Auth:FailuresPerMinute"] = "2", ["Seedance:TrustedProxies:0"] = "127.0.0.0/8", ["Seedance:TrustedProxies:1"] = "::1",
        });
        using var client = await server.CreateKeyAsync();

        for (var i = 0; i < 2; i++) (await SendAsync(server, "/api/v1/video/balance", apiKey: "sk-sd2-wrong", forwardedFor: "203.0.113.7")).AssertError(401, "INVALID_API_KEY");

        (await SendAsync(server, "/api/v1/video/balance", apiKey: client.ApiKey, forwardedFor: "203.0.113.7")).AssertError(429, "RATE_LIMIT_EXCEEDED");
        (await SendAsync(server, "/api/v1/video/balance", apiKey: client.ApiKey, forwardedFor: "203.0.113.8")).AssertOk();
        (await SendAsync(server, "/admin/v1/keys", adminToken: RunningServer.AdminToken, forwardedFor: "198.51.100.1")).AssertOk();
    }

    [Fact]
    public async Task WithoutATrustedProxyAForwardedAddressIsNotBelievedSoAClientCannotSlipPastItsThrottle()
    {
        await using var server = await RunningServer.StartAsync(new() { ["Seedance:Auth:FailuresPerMinute"] = "2" });
        using var client = await server.CreateKeyAsync();

        (await SendAsync(server, "/api/v1/video/balance", apiKey: "sk-sd2-wrong", forwardedFor: "203.0.113.1")).AssertError(401, "INVALID_API_KEY");
        (await SendAsync(server, "/api/v1/video/balance", apiKey: "sk-sd2-wrong", forwardedFor: "203.0.113.2")).AssertError(401, "INVALID_API_KEY");

        (await SendAsync(server, "/api/v1/video/balance", apiKey: client.ApiKey, forwardedFor: "203.0.113.3")).AssertError(429, "RATE_LIMIT_EXCEEDED");
    }
}
