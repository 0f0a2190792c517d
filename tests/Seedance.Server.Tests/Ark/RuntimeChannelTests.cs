using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Seedance.Server.Tests.Support;

namespace Seedance.Server.Tests.Ark;

/// <summary>
/// Channels managed at runtime through the admin API, against the Ark emulator, on one server that never restarts:
/// created and serving at once, a key rotated and a channel drained with tasks in flight, refused settings and credentials.
/// </summary>
public sealed class RuntimeChannelTests(RuntimeChannelTests.Fixture fixture) : IClassFixture<RuntimeChannelTests.Fixture>
{
    public const string SecretsKey = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

    public sealed class Fixture : IAsyncLifetime
    {
        public RunningServer Server { get; private set; } = null!;

        public async Task InitializeAsync() =>
            Server = await ArkChannelServer.ServerAsync(new Dictionary<string, string> { ["Seedance:SecretsKey"] = SecretsKey });

        public async Task DisposeAsync() => await Server.DisposeAsync();
    }

    private RunningServer Server => fixture.Server;

    [Fact]
    public async Task AChannelCreatedThroughTheAdminApiServesATaskAtOnceAndItsKeyIsKeptOnlyEncrypted()
    {
        await using var ark = await ArkEmulator.StartAsync("ark-key-created-0123456789");
        await RetireOtherChannelsAsync();
        var created = await CreateAsync("created", ark);
        created.AssertOk();
        Assert.Equal(("database", "active", "ark-ke..."), (created.Result!["source"]!.GetValue<string>(), created.Result["state"]!.GetValue<string>(),
            created.Result["api_key_prefix"]!.GetValue<string>()));
        Assert.DoesNotContain(ark.ApiKey, await created.Raw.Content.ReadAsStringAsync());

        using var client = await Server.CreateKeyAsync(credits: 100);
        Assert.Equal("completed", (await client.WaitForAsync(await client.SubmitTextAsync("A heron at dawn"))).Status());
        Assert.Equal(1, ark.CreateCalls);

        var stored = await Server.QueryAsync(db => db.Channels.AsNoTracking().SingleAsync(c => c.Name == "created"));
        Assert.StartsWith("v1:", stored.ApiKeySealed);
        Assert.DoesNotContain(ark.ApiKey, stored.ApiKeySealed);
        var database = await TestDatabase.StoredBytesAsync(Server.DataDir);
        Assert.True(database.AsSpan().IndexOf(System.Text.Encoding.UTF8.GetBytes(stored.ApiKeySealed!)) >= 0, "the scan does not see the sealed key, so it proves nothing");
        Assert.True(database.AsSpan().IndexOf(System.Text.Encoding.UTF8.GetBytes(ark.ApiKey)) < 0, "the plaintext upstream key is in the database");

        var view = await AdminAsync(HttpMethod.Get, "/admin/v1/channels/created");
        view.AssertOk();
        Assert.True(view.Result!["calls_last_hour"]!.GetValue<int>() >= 2, view.Result.ToJsonString());
        Assert.Equal(1.0, view.Result["success_rate"]!.GetValue<double>());
        Assert.NotNull(view.Result["average_latency_ms"]);
        (await AdminAsync(HttpMethod.Post, "/admin/v1/channels/created/test")).AssertOk();
        Assert.Equal(1, ark.CreateCalls); // the test created nothing upstream
        (await AdminAsync(HttpMethod.Delete, "/admin/v1/channels/created")).AssertOk();
        (await AdminAsync(HttpMethod.Get, "/admin/v1/channels/created")).AssertError(404, "CHANNEL_NOT_FOUND");
    }

    [Fact]
    public async Task RotatingTheKeyWithTasksInFlightFailsNoneAndTheNextRequestsCarryTheNewKey()
    {
        await using var ark = await ArkEmulator.StartAsync("ark-key-before-0123456789");
        ark.Timing.QueuedFor = TimeSpan.FromSeconds(1);
        ark.Timing.RunningFor = TimeSpan.FromSeconds(1);
        await RetireOtherChannelsAsync();
        (await CreateAsync("rotated", ark)).AssertOk();
        using var client = await Server.CreateKeyAsync(credits: 100, maxConcurrent: 10, maxPending: 10);
        var before = await Task.WhenAll(Enumerable.Range(0, 4).Select(i => client.SubmitTextAsync($"Before the rotation {i}")));
        await ServerProbes.WaitUntilAsync(() => Task.FromResult(ark.Tasks.Count == 4), "the four tasks at the upstream");
        var sealedBefore = await Server.QueryAsync(db => db.Channels.AsNoTracking().Where(c => c.Name == "rotated").Select(c => c.ApiKeySealed).SingleAsync());

        var rotated = await AdminAsync(HttpMethod.Patch, "/admin/v1/channels/rotated", new { api_key = "ark-key-after-9876543210" });
        ark.ApiKey = "ark-key-after-9876543210"; // the upstream accepts only the new key from now on
        rotated.AssertOk();
        Assert.Equal("ark-ke...", rotated.Result!["api_key_prefix"]!.GetValue<string>());

        var after = await client.SubmitTextAsync("After the rotation");
        foreach (var id in before.Append(after)) Assert.Equal("completed", (await client.WaitForAsync(id)).Status());
        Assert.Equal(5, ark.Tasks.Count);
        var sealedAfter = await Server.QueryAsync(db => db.Channels.AsNoTracking().Where(c => c.Name == "rotated").Select(c => c.ApiKeySealed).SingleAsync());
        Assert.NotEqual(sealedBefore, sealedAfter);
        Assert.DoesNotContain("ark-key-after", sealedAfter);
        (await AdminAsync(HttpMethod.Delete, "/admin/v1/channels/rotated")).AssertOk();
    }

    [Fact]
    public async Task ADrainedChannelFinishesItsTasksTakesNoNewOnesAndCannotBeDeletedUntilTheyEnd()
    {
        await using var primary = await ArkEmulator.StartAsync("ark-key-primary-0123456789");
        await using var spare = await ArkEmulator.StartAsync("ark-key-spare-0123456789");
        await RetireOtherChannelsAsync();
        (await CreateAsync("primary", primary, priority: 10)).AssertOk();
        (await CreateAsync("spare", spare)).AssertOk();
        using var client = await Server.CreateKeyAsync(credits: 100, maxConcurrent: 10, maxPending: 10);
        var held = await Task.WhenAll(Enumerable.Range(0, 2).Select(i => client.SubmitTextAsync($"Held at the primary {i} [ark:stuck]")));
        foreach (var id in held) await client.WaitForAsync(id, "processing");

        var drained = await AdminAsync(HttpMethod.Post, "/admin/v1/channels/primary/drain");
        drained.AssertOk();
        Assert.Equal(("draining", 2), (drained.Result!["state"]!.GetValue<string>(), drained.Result["in_flight"]!.GetValue<int>()));
        (await AdminAsync(HttpMethod.Delete, "/admin/v1/channels/primary")).AssertError(409, "CHANNEL_IN_USE", "2 task(s) in flight");

        var meanwhile = await client.SubmitTextAsync("Submitted while the primary drains");
        Assert.Equal("completed", (await client.WaitForAsync(meanwhile)).Status());
        Assert.Equal((2, 1), (primary.CreateCalls, spare.CreateCalls));
        foreach (var task in primary.Tasks) await primary.SetStatusAsync(task.Id, "succeeded");
        foreach (var id in held) Assert.Equal("completed", (await client.WaitForAsync(id)).Status());

        var resumed = await AdminAsync(HttpMethod.Patch, "/admin/v1/channels/primary", new { enabled = true });
        resumed.AssertOk();
        Assert.Equal("active", resumed.Result!["state"]!.GetValue<string>());
        Assert.Equal("completed", (await client.WaitForAsync(await client.SubmitTextAsync("Back at the primary"))).Status());
        Assert.Equal(3, primary.CreateCalls);
        (await AdminAsync(HttpMethod.Delete, "/admin/v1/channels/primary")).AssertOk();
        (await AdminAsync(HttpMethod.Delete, "/admin/v1/channels/spare")).AssertOk();
    }

    [Fact]
    public async Task AWrongKeyFailsTheTestWithAClearMessageAndTheRightOnePasses()
    {
        await using var ark = await ArkEmulator.StartAsync("ark-key-right-0123456789");
        (await CreateAsync("tested", ark, apiKey: "ark-key-wrong-0123456789", enabled: false)).AssertOk();

        (await AdminAsync(HttpMethod.Post, "/admin/v1/channels/tested/test"))
            .AssertError(502, "CHANNEL_TEST_FAILED", "Channel 'tested' test failed: Upstream refused the operator's account with 401 AuthenticationError");
        (await AdminAsync(HttpMethod.Patch, "/admin/v1/channels/tested", new { api_key = ark.ApiKey })).AssertOk();
        var passed = await AdminAsync(HttpMethod.Post, "/admin/v1/channels/tested/test");
        passed.AssertOk();
        Assert.Contains("doubao-seedance-2-0-260128", passed.Result!["message"]!.GetValue<string>());
        Assert.Equal(0, ark.CreateCalls);
        Assert.All(ark.Requests, r => Assert.Contains("page_size=1", r.Path));
        (await AdminAsync(HttpMethod.Delete, "/admin/v1/channels/tested")).AssertOk();
        (await AdminAsync(HttpMethod.Post, "/admin/v1/channels/tested/test")).AssertError(404, "CHANNEL_NOT_FOUND");
    }

    [Fact]
    public async Task BadSettingsAreRefusedNamingTheField()
    {
        object Ark(string name, object? provider = null, object? baseUrl = null, object? models = null) => new Dictionary<string, object?>
        {
            ["name"] = name, ["provider"] = provider ?? "ark", ["base_url"] = baseUrl ?? "https://ark.example.com/api/v3", ["api_key"] = "ark-key-0123456789",
            ["models"] = models ?? new Dictionary<string, string> { ["seedance-2.0"] = "doubao-seedance-2-0-260128" }, ["enabled"] = false,
        };
        async Task RefusedAsync(object body, string message) =>
            (await AdminAsync(HttpMethod.Post, "/admin/v1/channels", body)).AssertError(400, "INVALID_PARAMETER", message);

        await RefusedAsync(Ark("bad-provider", provider: "openai"), "Invalid parameter: provider must be sandbox, ark or relay");
        await RefusedAsync(Ark("bad-url", baseUrl: "ftp://ark.example.com"), "Invalid parameter: base_url must be an absolute http or https URL");
        await RefusedAsync(Ark("no-models", models: new Dictionary<string, string>()), "Invalid parameter: models must map at least one model");
        await RefusedAsync(Ark("bad name!"), "Invalid parameter: name must be 1-64 letters");
        (await AdminAsync(HttpMethod.Post, "/admin/v1/channels", new { provider = "ark" })).AssertError(400, "MISSING_PARAMETER", "name");
        (await AdminAsync(HttpMethod.Post, "/admin/v1/channels", Ark("twice"))).AssertOk();
        await RefusedAsync(Ark("twice"), "Invalid parameter: name 'twice' is taken by another channel");
        (await AdminAsync(HttpMethod.Patch, "/admin/v1/channels/twice", new { base_url = "not a url" }))
            .AssertError(400, "INVALID_PARAMETER", "base_url must be an absolute http or https URL");
        (await AdminAsync(HttpMethod.Patch, "/admin/v1/channels/twice", new { provider = "relay" }))
            .AssertError(400, "INVALID_PARAMETER", "provider cannot be changed");
        (await AdminAsync(HttpMethod.Patch, "/admin/v1/channels/nowhere", new { enabled = true })).AssertError(404, "CHANNEL_NOT_FOUND");
        (await AdminAsync(HttpMethod.Delete, "/admin/v1/channels/twice")).AssertOk();
    }

    /// <summary>Earlier tests' channels take no tasks from this one.</summary>
    private async Task RetireOtherChannelsAsync()
    {
        var list = await AdminAsync(HttpMethod.Get, "/admin/v1/channels");
        foreach (var channel in list.Result!.AsArray().Where(c => c!["source"]!.GetValue<string>() == "database"))
            (await AdminAsync(HttpMethod.Patch, $"/admin/v1/channels/{channel!["name"]!.GetValue<string>()}", new { enabled = false })).AssertOk();
    }

    private Task<ApiResponse> CreateAsync(string name, ArkEmulator ark, int priority = 0, string? apiKey = null, bool enabled = true) =>
        AdminAsync(HttpMethod.Post, "/admin/v1/channels", new Dictionary<string, object>
        {
            ["name"] = name, ["provider"] = "ark", ["base_url"] = ark.BaseUrl, ["api_key"] = apiKey ?? ark.ApiKey, ["priority"] = priority, ["enabled"] = enabled,
            ["models"] = new Dictionary<string, string> { ["seedance-2.0"] = "doubao-seedance-2-0-260128", ["seedance-2.0-fast"] = "doubao-seedance-2-0-fast-260128" },
            ["poll_interval_seconds"] = 0.2, ["timeout_seconds"] = 2, ["cooldown_seconds"] = 600, ["allow_private_networks"] = true,
        });

    private Task<ApiResponse> AdminAsync(HttpMethod method, string path, object? body = null) => Server.AdminRequestAsync(method, path, body);
}
