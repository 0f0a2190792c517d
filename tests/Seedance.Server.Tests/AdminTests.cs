using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using System.Text;
using Seedance.Server.Data;
using Seedance.Server.Tests.Support;

namespace Seedance.Server.Tests;

/// <summary>The operator's API under <c>/admin/v1</c>: its token, and what it does with keys and credits.</summary>
public sealed class AdminTests
{
    [Fact]
    public async Task AdminCallsWithoutTheTokenOrWithAWrongOneAreRefusedWith401Envelopes()
    {
        // 36 failed authentications from one address by design, more with each admin route: lifted above the throttle (AuthThrottleTests).
        await using var server = await RunningServer.StartAsync(new() { ["Seedance:Auth:FailuresPerMinute"] = "1000" });
        using var client = await server.CreateKeyAsync();
        var wrong = new (string What, Action<HttpRequestHeaders> Authorise)[]
        {
            ("no token", _ => { }),
            ("a wrong token", h => h.Authorization = new AuthenticationHeaderValue("Bearer", "not-the-admin-token-0123456789")),
            ("an empty bearer", h => h.TryAddWithoutValidation("Authorization", "Bearer ")),
            ("the token in another scheme", h => h.Authorization = new AuthenticationHeaderValue("Basic", RunningServer.AdminToken)),
            ("the token as an API key", h => h.Add("X-API-Key", RunningServer.AdminToken)),
            ("an API key as the token", h => h.Authorization = new AuthenticationHeaderValue("Bearer", client.ApiKey)),
        };
        var calls = new (HttpMethod Method, string Path, object? Body)[]
        {
            (HttpMethod.Get, "/admin/v1/keys", null),
            (HttpMethod.Post, "/admin/v1/keys", new { name = "intruder", credits = 1000000 }),
            (HttpMethod.Get, $"/admin/v1/keys/{client.KeyId}", null),
            (HttpMethod.Patch, $"/admin/v1/keys/{client.KeyId}", new { enabled = false }),
            (HttpMethod.Post, $"/admin/v1/keys/{client.KeyId}/credits", new { amount = 1000000 }),
            (HttpMethod.Get, $"/admin/v1/keys/{client.KeyId}/ledger", null),
        };

        foreach (var (what, authorise) in wrong)
        foreach (var (method, path, body) in calls)
        {
            using var request = new HttpRequestMessage(method, path) { Content = body is null ? null : JsonContent.Create(body) };
            authorise(request.Headers);
            var response = await ApiResponse.From(await server.Http.SendAsync(request));
            Assert.True(response.Status == 401, $"{method} {path} with {what}: {response.Status} {response.Code}");
            response.AssertError(401, "INVALID_ADMIN_TOKEN");
        }

        var keys = await AdminAsync(server, HttpMethod.Get, "/admin/v1/keys");
        var only = Assert.Single(keys.Result!.AsArray());
        Assert.True(only!["enabled"]!.GetValue<bool>());
        Assert.Equal(1000m, only["total_credits"]!.GetValue<decimal>());
    }

    [Fact]
    public async Task CreatingAKeyReturnsThePlaintextKeyOnceAndItsNumericKeyId()
    {
        await using var server = await RunningServer.StartAsync();
        var created = await AdminAsync(server, HttpMethod.Post, "/admin/v1/keys",
            new { name = "acme", credits = 250.5, max_concurrent = 3, max_pending = 20, rate_limit_per_second = 7 });
        var apiKey = created.Result!["api_key"]!.GetValue<string>();
        var record = created.Result!["key"]!;
        var keyId = record["key_id"]!.GetValue<long>();

        Assert.Matches(new Regex("^sk-sd2-[0-9a-f]{32,}$"), apiKey);
        Assert.True(keyId > 0);
        Assert.Equal("acme", record["name"]!.GetValue<string>());
        Assert.True(record["enabled"]!.GetValue<bool>());
        Assert.Equal(250.5m, record["total_credits"]!.GetValue<decimal>());
        Assert.Equal(0m, record["used_credits"]!.GetValue<decimal>());
        Assert.Equal(0m, record["reserved_credits"]!.GetValue<decimal>());
        Assert.Equal(250.5m, record["remain_credits"]!.GetValue<decimal>());
        Assert.Equal((3, 20, 7), (record["max_concurrent"]!.GetValue<int>(), record["max_pending"]!.GetValue<int>(), record["rate_limit_per_second"]!.GetValue<int>()));
        Assert.Null(record["api_key"]);

        var other = await AdminAsync(server, HttpMethod.Post, "/admin/v1/keys", new { name = "globex" });
        Assert.NotEqual(apiKey, other.Result!["api_key"]!.GetValue<string>());
        Assert.NotEqual(keyId, other.Result!["key"]!["key_id"]!.GetValue<long>());
        Assert.Equal((5, 100), (other.Result!["key"]!["max_concurrent"]!.GetValue<int>(), other.Result!["key"]!["max_pending"]!.GetValue<int>()));

        // Shown once: reading the keys back never shows the key again.
        foreach (var path in new[] { "/admin/v1/keys", $"/admin/v1/keys/{keyId}", $"/admin/v1/keys/{keyId}/ledger" })
        {
            var text = await (await server.Admin.GetAsync(path)).Content.ReadAsStringAsync();
            Assert.DoesNotContain(apiKey, text);
            Assert.DoesNotContain("api_key", text);
        }
        var one = await AdminAsync(server, HttpMethod.Get, $"/admin/v1/keys/{keyId}");
        Assert.Equal(keyId, one.Result!["key_id"]!.GetValue<long>());
        Assert.Equal("acme", one.Result!["name"]!.GetValue<string>());
        var list = await AdminAsync(server, HttpMethod.Get, "/admin/v1/keys");
        Assert.Equal(["acme", "globex"], list.Result!.AsArray().Select(k => k!["name"]!.GetValue<string>()));

        // And the key works for the public API at once.
        using var client = new ApiClient(server.BaseUrl, apiKey, keyId);
        var balance = await client.BalanceAsync();
        balance.AssertOk();
        Assert.Equal(250.5m, balance.Result!["total_credits"]!.GetValue<decimal>());
    }

    [Fact]
    public async Task CreatingAKeyRefusesAMissingNameAndBadFigures()
    {
        await using var server = await RunningServer.StartAsync();
        (await server.AdminRequestAsync(HttpMethod.Post, "/admin/v1/keys", new { credits = 10 })).AssertError(400, "MISSING_PARAMETER", "name");
        (await server.AdminRequestAsync(HttpMethod.Post, "/admin/v1/keys", new { name = "x", credits = -1 })).AssertError(400, "INVALID_PARAMETER", "credits");
        (await server.AdminRequestAsync(HttpMethod.Post, "/admin/v1/keys", new { name = "x", credits = 1.234 })).AssertError(400, "INVALID_PARAMETER", "credits");
        (await server.AdminRequestAsync(HttpMethod.Post, "/admin/v1/keys", new { name = "x", max_concurrent = 0 })).AssertError(400, "INVALID_PARAMETER", "max_concurrent");
        Assert.Empty((await AdminAsync(server, HttpMethod.Get, "/admin/v1/keys")).Result!.AsArray());
    }

    [Fact]
    public async Task AKeyIsStoredOnlyAsItsSha256Hash()
    {
        await using var server = await RunningServer.StartAsync();
        using var client = await server.CreateKeyAsync(name: "hashed");
        (await client.BalanceAsync()).AssertOk();

        var row = Assert.Single(await TestDatabase.QueryAsync(server.DataDir, "SELECT key_hash, key_prefix FROM api_keys WHERE id = @id", ("id", client.KeyId)));
        Assert.Equal(SHA256.HashData(Encoding.UTF8.GetBytes(client.ApiKey)), (byte[])row["key_hash"]!);
        Assert.StartsWith((string)row["key_prefix"]!, client.ApiKey);
        Assert.True(((string)row["key_prefix"]!).Length < client.ApiKey.Length / 2, $"prefix {row["key_prefix"]} is most of the key");

        var plaintext = Encoding.UTF8.GetBytes(client.ApiKey);
        var database = await TestDatabase.StoredBytesAsync(server.DataDir);
        Assert.True(database.AsSpan().IndexOf((byte[])row["key_hash"]!) >= 0, "the scan does not see the stored hash, so it proves nothing");
        Assert.True(database.AsSpan().IndexOf(plaintext) < 0, "the plaintext key is in the database");
        foreach (var file in Directory.EnumerateFiles(server.DataDir, "*", SearchOption.AllDirectories))
        {
            await using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var bytes = new MemoryStream();
            await stream.CopyToAsync(bytes);
            Assert.True(bytes.ToArray().AsSpan().IndexOf(plaintext) < 0, $"the plaintext key is in {file}");
        }
    }

    [Fact]
    public async Task PatchChangesAKeysLimitsAndDisablesAndEnablesIt()
    {
        await using var server = await RunningServer.StartAsync();
        using var client = await server.CreateKeyAsync(name: "before");

        var changed = await AdminAsync(server, HttpMethod.Patch, $"/admin/v1/keys/{client.KeyId}",
            new { name = "after", max_concurrent = 3, max_pending = 7, rate_limit_per_second = 9 });
        Assert.Equal("after", changed.Result!["name"]!.GetValue<string>());
        Assert.Equal((3, 7, 9), (changed.Result!["max_concurrent"]!.GetValue<int>(), changed.Result!["max_pending"]!.GetValue<int>(),
            changed.Result!["rate_limit_per_second"]!.GetValue<int>()));
        var read = await AdminAsync(server, HttpMethod.Get, $"/admin/v1/keys/{client.KeyId}");
        Assert.Equal((3, 7, 9), (read.Result!["max_concurrent"]!.GetValue<int>(), read.Result!["max_pending"]!.GetValue<int>(),
            read.Result!["rate_limit_per_second"]!.GetValue<int>()));

        // A field left out keeps its value.
        var partial = await AdminAsync(server, HttpMethod.Patch, $"/admin/v1/keys/{client.KeyId}", new { max_pending = 8 });
        Assert.Equal(("after", 3, 8), (partial.Result!["name"]!.GetValue<string>(), partial.Result!["max_concurrent"]!.GetValue<int>(), partial.Result!["max_pending"]!.GetValue<int>()));

        var disabled = await AdminAsync(server, HttpMethod.Patch, $"/admin/v1/keys/{client.KeyId}", new { enabled = false });
        Assert.False(disabled.Result!["enabled"]!.GetValue<bool>());
        await EventuallyAsync(async () => (await client.BalanceAsync()).Status == 401, "the disabled key still works");
        (await client.BalanceAsync()).AssertError(401, "INVALID_API_KEY");

        var enabled = await AdminAsync(server, HttpMethod.Patch, $"/admin/v1/keys/{client.KeyId}", new { enabled = true });
        Assert.True(enabled.Result!["enabled"]!.GetValue<bool>());
        await EventuallyAsync(async () => (await client.BalanceAsync()).Status == 200, "the enabled key still fails");

        (await server.AdminRequestAsync(HttpMethod.Patch, $"/admin/v1/keys/{client.KeyId}", new { max_concurrent = 0 }))
            .AssertError(400, "INVALID_PARAMETER", "max_concurrent");
        (await server.AdminRequestAsync(HttpMethod.Patch, $"/admin/v1/keys/{client.KeyId}", new { rate_limit_per_second = 0 }))
            .AssertError(400, "INVALID_PARAMETER", "rate_limit_per_second");
        (await server.AdminRequestAsync(HttpMethod.Patch, $"/admin/v1/keys/{client.KeyId + 1000}", new { enabled = false }))
            .AssertError(404, "KEY_NOT_FOUND");
        Assert.Equal(3, (await AdminAsync(server, HttpMethod.Get, $"/admin/v1/keys/{client.KeyId}")).Result!["max_concurrent"]!.GetValue<int>());
    }

    [Fact]
    public async Task CreditsGoUpAndDownButNeverBelowWhatIsUsedAndReservedAndTheLedgerShowsEachMovement()
    {
        await using var server = await RunningServer.StartAsync();
        using var client = await server.CreateKeyAsync(credits: 10);
        var stalled = await client.SubmitTextAsync("A scene that never ends [sandbox:stall]");
        var path = $"/admin/v1/keys/{client.KeyId}/credits";

        (await server.AdminRequestAsync(HttpMethod.Post, path, new { amount = -6.5 }))
            .AssertError(400, "INVALID_PARAMETER", "below used_credits + reserved_credits");
        var down = await AdminAsync(server, HttpMethod.Post, path, new { amount = -6.4, note = "goodwill reversed" });
        Assert.Equal((3.6m, 3.6m, 0m), (down.Result!["total_credits"]!.GetValue<decimal>(), down.Result!["reserved_credits"]!.GetValue<decimal>(),
            down.Result!["remain_credits"]!.GetValue<decimal>()));
        var up = await AdminAsync(server, HttpMethod.Post, path, new { amount = 50, note = "invoice 17" });
        Assert.Equal((53.6m, 50m), (up.Result!["total_credits"]!.GetValue<decimal>(), up.Result!["remain_credits"]!.GetValue<decimal>()));

        var balance = await client.BalanceAsync();
        balance.AssertOk();
        Assert.Equal((53.6m, 0m, 3.6m, 50m), (balance.Result!["total_credits"]!.GetValue<decimal>(), balance.Result!["used_credits"]!.GetValue<decimal>(),
            balance.Result!["reserved_credits"]!.GetValue<decimal>(), balance.Result!["remain_credits"]!.GetValue<decimal>()));

        (await server.AdminRequestAsync(HttpMethod.Post, path, new { amount = 0 })).AssertError(400, "INVALID_PARAMETER", "amount");
        (await server.AdminRequestAsync(HttpMethod.Post, path, new { amount = 1.005 })).AssertError(400, "INVALID_PARAMETER", "amount");
        (await server.AdminRequestAsync(HttpMethod.Post, path, new { note = "nothing" })).AssertError(400, "MISSING_PARAMETER", "amount");
        (await server.AdminRequestAsync(HttpMethod.Post, $"/admin/v1/keys/{client.KeyId + 1000}/credits", new { amount = 5 })).AssertError(404, "KEY_NOT_FOUND");

        var ledger = await AdminAsync(server, HttpMethod.Get, $"/admin/v1/keys/{client.KeyId}/ledger");
        Assert.Equal(4, ledger.Result!["total"]!.GetValue<int>());
        var entries = ledger.Result!["data"]!.AsArray()
            .Select(e => (e!["kind"]!.GetValue<string>(), e["amount"]!.GetValue<decimal>(), e["task_id"]?.GetValue<string>(), e["note"]?.GetValue<string>()))
            .ToList();
        Assert.Equal(
            [("topup", 50m, null, "invoice 17"), ("adjust", -6.4m, null, "goodwill reversed"), ("reserve", 3.6m, stalled, null), ("topup", 10m, null, "initial credits")],
            entries);

        var paged = await AdminAsync(server, HttpMethod.Get, $"/admin/v1/keys/{client.KeyId}/ledger?page=2&page_size=3");
        Assert.Equal(("topup", 10m), (paged.Result!["data"]![0]!["kind"]!.GetValue<string>(), paged.Result!["data"]![0]!["amount"]!.GetValue<decimal>()));
        Assert.Equal((4, 2, 3), (paged.Result!["total"]!.GetValue<int>(), paged.Result!["page"]!.GetValue<int>(), paged.Result!["page_size"]!.GetValue<int>()));
    }

    [Fact]
    public async Task WithoutAConfiguredTokenTheFirstStartGeneratesOneIntoTheDataDirectoryWithMode0600()
    {
        var settings = new Dictionary<string, string> { ["Seedance:AdminToken"] = "" };
        string token;
        string dataDir;
        await using (var server = await RunningServer.StartAsync(settings))
        {
            server.KeepDataDir = true;
            dataDir = server.DataDir;
            var file = Path.Combine(dataDir, "admin-token");
            Assert.True(File.Exists(file), "no admin-token file in the data directory");
            if (!OperatingSystem.IsWindows()) Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
            token = (await File.ReadAllTextAsync(file)).Trim();
            Assert.True(token.Length >= 32, $"a token of {token.Length} characters");

            await AssertTokenAsync(server, token, 200);
            await AssertTokenAsync(server, RunningServer.AdminToken, 401);
        }

        // The next start on the same data directory keeps the token.
        await using (var again = await RunningServer.StartAsync(settings, dataDir))
        {
            Assert.Equal(token, (await File.ReadAllTextAsync(Path.Combine(dataDir, "admin-token"))).Trim());
            await AssertTokenAsync(again, token, 200);
        }
    }

    private static async Task AssertTokenAsync(RunningServer server, string token, int expected)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/admin/v1/keys");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        var response = await ApiResponse.From(await server.Http.SendAsync(request));
        Assert.Equal(expected, response.Status);
    }

    private static async Task<ApiResponse> AdminAsync(RunningServer server, HttpMethod method, string path, object? body = null)
    {
        var response = await server.AdminRequestAsync(method, path, body);
        response.AssertOk();
        return response;
    }

    private static async Task EventuallyAsync(Func<Task<bool>> condition, string failure)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, failure + " after 10 s");
            await Task.Delay(100);
        }
    }
}
