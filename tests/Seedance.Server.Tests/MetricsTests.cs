using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Microsoft.EntityFrameworkCore;
using Seedance.Server.Data;
using Seedance.Server.Tests.Support;

namespace Seedance.Server.Tests;

/// <summary>
/// Tests that read the process's instruments and spans: alone in the process, so that no other test's server adds to
/// what they count (a meter listener hears every meter of its name in the process).
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TelemetryCollection
{
    public const string Name = "Telemetry";
}

/// <summary>
/// <c>GET /metrics</c>: a scripted life of tasks (completed, failed by moderation, cancelled, expired, and a callback that
/// fails twice before it is delivered), then the exact figures the Prometheus text shows. And who may scrape, where.
/// </summary>
[Collection(TelemetryCollection.Name)]
public sealed class MetricsTests
{
    private const decimal Cost = 3.6m; // 4 s at 480p

    [Fact]
    public async Task AfterAScriptedDayTheScrapeShowsExactlyWhatHappened()
    {
        var clock = new JumpingClock();
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.Answer = n => new Reply(n < 2 ? 500 : 200);
        await using var server = await RunningServer.StartAsync(new()
        {
            ["Seedance:Callbacks:AllowPrivateNetworks"] = "true", ["Seedance:Callbacks:DispatchIntervalSeconds"] = "0.1",
        }, services: clock.Use);
        using var client = await server.CreateKeyAsync(credits: 100);
        using var holder = await server.CreateKeyAsync(credits: 100, maxConcurrent: 1);

        var completed = await client.SubmitTextAsync("A red kite over a meadow", extra: new() { ["callback_url"] = receiver.Url });
        var moderated = await client.SubmitTextAsync("A lighthouse at dusk [sandbox:fail=CONTENT_MODERATION_FAILED]");
        var stalled = await holder.SubmitTextAsync("[sandbox:stall] Holds the only slot");
        await holder.WaitForAsync(stalled, "processing");
        var waiting = await holder.SubmitTextAsync("Waits behind it");
        (await holder.CancelAsync(waiting)).AssertOk();
        Assert.Equal("completed", (await client.WaitForAsync(completed)).Status());
        Assert.Equal("failed", (await client.WaitForAsync(moderated)).Status());

        // The callback of the completed task: refused twice, then taken; the clock jumps to each retry.
        foreach (var attempts in new[] { 1, 2 })
        {
            await ServerProbes.WaitUntilAsync(async () => (await DeliveryAsync(server, completed)).Attempts == attempts, $"attempt {attempts}");
            clock.JumpTo(new DateTimeOffset(DateTime.SpecifyKind((await DeliveryAsync(server, completed)).NextAttemptAt, DateTimeKind.Utc)));
        }
        await ServerProbes.WaitUntilAsync(async () => (await DeliveryAsync(server, completed)).Status == DeliveryStatus.Delivered, "the delivery");
        clock.Jump(TimeSpan.FromHours(48) + TimeSpan.FromMinutes(1));
        Assert.Equal("expired", (await holder.WaitForAsync(stalled)).Status());

        var response = await server.Admin.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("text/plain", response.Content.Headers.ContentType?.MediaType);
        var scrape = new Scrape(await response.Content.ReadAsStringAsync());

        Assert.Equal(4, scrape.Value("seedance_tasks_submitted_total", ("model", "seedance-2.0"), ("resolution", "480p")));
        Assert.Equal(1, scrape.Value("seedance_tasks_finished_total", ("status", "completed")));
        Assert.Equal(1, scrape.Value("seedance_tasks_finished_total", ("status", "failed"), ("error_code", "CONTENT_MODERATION_FAILED")));
        Assert.Equal(1, scrape.Value("seedance_tasks_finished_total", ("status", "cancelled")));
        Assert.Equal(1, scrape.Value("seedance_tasks_finished_total", ("status", "expired")));
        Assert.Equal(4, scrape.Series("seedance_tasks_finished_total").Count());
        foreach (var (status, count) in new[] { ("pending", 0), ("queued", 0), ("processing", 0), ("completed", 1), ("failed", 1), ("cancelled", 1), ("expired", 1) })
            Assert.Equal(count, scrape.Value("seedance_tasks", ("status", status)));
        foreach (var status in new[] { "completed", "failed", "cancelled", "expired" })
            Assert.Equal(1, scrape.Value("seedance_task_duration_seconds_count", ("model", "seedance-2.0"), ("status", status)));
        // The expired task lived past its 48 h: in the last bucket but one (up to 2 days and more).
        Assert.True(scrape.Value("seedance_task_duration_seconds_sum", ("model", "seedance-2.0"), ("status", "expired")) > 48 * 3600);
        Assert.Equal(3, scrape.Value("seedance_dispatch_delay_seconds_count")); // the cancelled task never left
        Assert.Equal(3, scrape.Value("seedance_upstream_requests_total", ("channel", "sandbox"), ("operation", "submit"), ("outcome", "ok")));
        Assert.True(scrape.Value("seedance_upstream_requests_total", ("channel", "sandbox"), ("operation", "get"), ("outcome", "ok")) >= 3);
        Assert.Equal(1, scrape.Value("seedance_upstream_requests_total", ("channel", "sandbox"), ("operation", "download"), ("outcome", "ok")));
        Assert.True(scrape.Value("seedance_upstream_request_duration_seconds_count", ("channel", "sandbox"), ("operation", "submit")) == 3);
        Assert.Equal(2, scrape.Value("seedance_webhook_deliveries_total", ("outcome", "retrying")));
        Assert.Equal(1, scrape.Value("seedance_webhook_deliveries_total", ("outcome", "delivered")));
        Assert.Null(scrape.Value("seedance_webhook_deliveries_total", ("outcome", "failed")));
        Assert.Equal(200, scrape.Value("seedance_credits_total", ("kind", "topup")));
        Assert.Equal((double)(4 * Cost), scrape.Value("seedance_credits_total", ("kind", "reserve"))!.Value, 9);
        Assert.Equal((double)Cost, scrape.Value("seedance_credits_total", ("kind", "capture"))!.Value, 9);
        Assert.Equal((double)(3 * Cost), scrape.Value("seedance_credits_total", ("kind", "release"))!.Value, 9);
        // ASP.NET Core's and the runtime's own instruments are there too.
        Assert.True(scrape.Has("http_server_request_duration_seconds"), "ASP.NET Core's request durations");
        Assert.True(scrape.Has("dotnet_gc_"), "the runtime's garbage collections");

        // The deployment's alert rules and dashboard name only series this scrape shows (the reconciliation's orphans
        // are counted by that work, apart from this scenario).
        var deploy = Path.Combine(RepositoryRoot.Path, "deploy");
        var named = Regex.Matches(File.ReadAllText(Path.Combine(deploy, "prometheus", "alerts.yml")) + File.ReadAllText(Path.Combine(deploy, "grafana", "dashboards", "seedance.json")),
                @"\b(seedance|http_server|dotnet)_[a-z_]+").Select(m => m.Value).ToHashSet();
        Assert.Contains("seedance_tasks_finished_total", named);
        Assert.All(named.Where(n => n != "seedance_reconciliation_orphans_total"), n => Assert.True(scrape.Has(n), $"{n} is named in deploy/ but not served"));
    }

    [Fact]
    public async Task TheScrapeNeedsTheAdminTokenOnTheApisPortAndNothingOnTheMetricsPortWhichServesNothingElse()
    {
        var port = FreePort();
        await using var server = await RunningServer.StartAsync(new() { ["Seedance:Metrics:Port"] = port.ToString() });
        using var client = await server.CreateKeyAsync();
        await client.SubmitTextAsync("A red kite over a meadow");

        (await ApiResponse.From(await server.Http.GetAsync("/metrics"))).AssertError(401, "INVALID_ADMIN_TOKEN");
        using (var withKey = new HttpRequestMessage(HttpMethod.Get, "/metrics"))
        {
            withKey.Headers.Add("X-API-Key", client.ApiKey);
            Assert.Equal(HttpStatusCode.Unauthorized, (await server.Http.SendAsync(withKey)).StatusCode);
        }
        Assert.Contains("seedance_tasks_submitted_total", await server.Admin.GetStringAsync("/metrics"));

        using var internalNetwork = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        var scrape = new Scrape(await internalNetwork.GetStringAsync("/metrics"));
        Assert.Equal(1, scrape.Value("seedance_tasks_submitted_total", ("model", "seedance-2.0"), ("resolution", "480p")));
        (await ApiResponse.From(await internalNetwork.GetAsync("/api/v1/video/models"))).AssertError(404, "NOT_FOUND");
        (await ApiResponse.From(await internalNetwork.GetAsync("/admin/v1/keys"))).AssertError(404, "NOT_FOUND");
    }

    private static Task<WebhookDelivery> DeliveryAsync(RunningServer server, string taskId) =>
        server.QueryAsync(db => db.WebhookDeliveries.AsNoTracking().Where(d => d.TaskId == taskId).OrderBy(d => d.Id).FirstAsync());

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
