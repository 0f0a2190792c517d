using System.Diagnostics.Metrics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Seedance.Server.Tests.Support;

namespace Seedance.Server.Tests.Ark;

/// <summary>
/// Reconciliation of an Ark channel against the emulator's task list: a create whose answer was lost shows as an orphan
/// (logged, counted, and cancelled when asked while it is queued), a status the server has not caught up with as a
/// mismatch, and the upstream's usage tokens as an estimated cost against the credits charged.
/// </summary>
public sealed class ReconciliationTests
{
    private const string SecretsKey = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

    [Fact]
    public async Task ReconciliationFindsAnInjectedOrphanAndAStatusMismatchAndCancelsAQueuedOrphanWhenAsked()
    {
        await using var ark = await ArkEmulator.StartAsync();
        ark.Faults.DropCallbacks = true;
        await using var server = await ArkChannelServer.ServerAsync(new Dictionary<string, string> { ["Seedance:SecretsKey"] = SecretsKey });
        // A channel managed at runtime, checked once at hand-over and then not for ten minutes, with its upstream's price.
        (await server.AdminRequestAsync(HttpMethod.Post, "/admin/v1/channels", new Dictionary<string, object>
        {
            ["name"] = "ark-runtime", ["provider"] = "ark", ["base_url"] = ark.BaseUrl, ["api_key"] = ark.ApiKey,
            ["models"] = new Dictionary<string, string> { ["seedance-2.0"] = "doubao-seedance-2-0-260128" }, ["priority"] = 10,
            ["poll_interval_seconds"] = 600, ["allow_private_networks"] = true, ["cost_per_million_tokens"] = 12.5m,
        })).AssertOk();
        using var orphansCounted = new OrphanCounter(server, "ark-runtime");
        using var client = await server.CreateKeyAsync(credits: 100);
        var checksBefore = ark.GetCalls + ark.ListCalls;

        var ours = await client.SubmitTextAsync("A fox in snow [ark:stuck]");
        await client.WaitForAsync(ours, "queued");
        var upstreamOurs = Assert.Single(ark.Tasks).Id;
        // The server checks a task once as it arrives, then every 600 s: after that first check, the upstream finishes the
        // task without the server seeing it.
        await ServerProbes.WaitUntilAsync(() => Task.FromResult(ark.GetCalls + ark.ListCalls > checksBefore), "the server's first check of the task");
        await ark.SetStatusAsync(upstreamOurs, "succeeded"); // the server has not seen it yet
        var lostQueued = await CreateUpstreamAsync(ark, "A create whose answer was lost");
        await ark.SetStatusAsync(lostQueued, "queued");
        var lostRunning = await CreateUpstreamAsync(ark, "Another lost create");
        await ark.SetStatusAsync(lostRunning, "running");

        var report = await ReconcileAsync(server, "ark-runtime", "");
        Assert.Equal(("ark-runtime", 3, 1, 1), (report["channel"]!.GetValue<string>(), report["upstream_tasks"]!.GetValue<int>(),
            report["our_tasks"]!.GetValue<int>(), report["matched"]!.GetValue<int>()));
        Assert.Empty(report["missing_upstream"]!.AsArray());
        var mismatch = Assert.Single(report["status_mismatches"]!.AsArray())!;
        var ourStatus = (await client.GetTaskAsync(ours)).Result!.Status(); // queued, or processing if its one check saw it start
        Assert.Contains(ourStatus, new[] { "queued", "processing" });
        Assert.Equal((ours, upstreamOurs, ourStatus, "succeeded"), (mismatch["task_id"]!.GetValue<string>(), mismatch["upstream_task_id"]!.GetValue<string>(),
            mismatch["status"]!.GetValue<string>(), mismatch["upstream_status"]!.GetValue<string>()));
        var orphans = report["orphans"]!.AsArray();
        Assert.Equal(new[] { lostQueued, lostRunning }.Order(), orphans.Select(o => o!["upstream_task_id"]!.GetValue<string>()).Order());
        Assert.All(orphans, o => Assert.False(o!["cancelled"]!.GetValue<bool>()));
        Assert.Equal("queued", ark.Find(lostQueued)!.Status); // found, not touched unasked

        var tokens = ark.Find(upstreamOurs)!.CompletionTokens;
        Assert.Equal(tokens, report["usage_tokens"]!.GetValue<long>());
        Assert.Equal(12.5m, report["cost_per_million_tokens"]!.GetValue<decimal>());
        var cost = Math.Round(tokens * 12.5m / 1_000_000m, 2, MidpointRounding.AwayFromZero);
        Assert.Equal(cost, report["estimated_cost"]!.GetValue<decimal>());
        Assert.Equal(0m, report["credits_charged"]!.GetValue<decimal>()); // not captured until the server sees the success
        Assert.Equal(-cost, report["margin"]!.GetValue<decimal>());
        Assert.Equal(2, orphansCounted.Total);

        var cancelling = await ReconcileAsync(server, "ark-runtime", "?cancel_orphans=true");
        var outcome = cancelling["orphans"]!.AsArray().ToDictionary(o => o!["upstream_task_id"]!.GetValue<string>(), o => o!["cancelled"]!.GetValue<bool>());
        Assert.Equal((true, false), (outcome[lostQueued], outcome[lostRunning]));
        Assert.Equal(("cancelled", "running", "succeeded"), (ark.Find(lostQueued)!.Status, ark.Find(lostRunning)!.Status, ark.Find(upstreamOurs)!.Status));
        Assert.Equal(4, orphansCounted.Total);
    }

    [Fact]
    public async Task AConfiguredChannelsCostIsUsedAndAPeriodTheUpstreamCannotListOrAChannelThatIsNotArkIsRefused()
    {
        await using var ark = await ArkEmulator.StartAsync();
        await using var server = await ArkChannelServer.ServerAsync(new Dictionary<string, string> { ["Seedance:Channels:0:CostPerMillionTokens"] = "2.5" }, ("ark", ark, 0));
        var view = await server.AdminRequestAsync(HttpMethod.Get, "/admin/v1/channels/ark");
        view.AssertOk();
        Assert.Equal(2.5m, view.Result!["cost_per_million_tokens"]!.GetValue<decimal>());

        var report = await ReconcileAsync(server, "ark", "");
        Assert.Equal((0, 0, 0L, 0m, 0m), (report["upstream_tasks"]!.GetValue<int>(), report["matched"]!.GetValue<int>(), report["usage_tokens"]!.GetValue<long>(),
            report["estimated_cost"]!.GetValue<decimal>(), report["margin"]!.GetValue<decimal>()));

        var eightDaysAgo = Uri.EscapeDataString(DateTime.UtcNow.AddDays(-8).ToString("O"));
        (await server.AdminRequestAsync(HttpMethod.Get, $"/admin/v1/channels/ark/reconciliation?from={eightDaysAgo}"))
            .AssertError(400, "INVALID_PARAMETER", "within the last 7 days");
        (await server.AdminRequestAsync(HttpMethod.Get, "/admin/v1/channels/nowhere/reconciliation")).AssertError(404, "CHANNEL_NOT_FOUND");
        await using var sandbox = await RunningServer.StartAsync();
        (await sandbox.AdminRequestAsync(HttpMethod.Get, "/admin/v1/channels/sandbox/reconciliation")).AssertError(400, "INVALID_PARAMETER", "Ark");
    }

    private static async Task<JsonNode> ReconcileAsync(RunningServer server, string name, string query)
    {
        var response = await server.AdminRequestAsync(HttpMethod.Get, $"/admin/v1/channels/{name}/reconciliation{query}");
        response.AssertOk();
        return response.Result!;
    }

    /// <summary>A create sent straight to the upstream, as if this server's answer had been lost on the way back.</summary>
    private static async Task<string> CreateUpstreamAsync(ArkEmulator ark, string prompt)
    {
        using var http = new HttpClient();
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ark.ApiKey);
        var response = await http.PostAsJsonAsync(ark.BaseUrl + "/contents/generations/tasks", new
        {
            model = "doubao-seedance-2-0-260128", content = new[] { new { type = "text", text = prompt + " [ark:stuck]" } }, resolution = "480p", duration = 4,
        });
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<string>();
    }

    /// <summary>Adds up <c>seedance_reconciliation_orphans_total</c> of one server (its own meter factory) for one channel.</summary>
    private sealed class OrphanCounter : IDisposable
    {
        private readonly MeterListener _listener = new();
        private long _total;

        public OrphanCounter(RunningServer server, string channel)
        {
            var factory = server.Services.GetRequiredService<IMeterFactory>();
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == "Seedance.Server" && instrument.Meter.Scope == factory && instrument.Name == "seedance.reconciliation.orphans")
                    listener.EnableMeasurementEvents(instrument);
            };
            _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
            {
                foreach (var tag in tags)
                    if (tag.Key == "channel" && (string?)tag.Value == channel) Interlocked.Add(ref _total, value);
            });
            _listener.Start();
        }

        public long Total => Interlocked.Read(ref _total);

        public void Dispose() => _listener.Dispose();
    }
}
