using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging.Abstractions;
using Seedance.Server.Data;
using Seedance.Server.Keys;
using Seedance.Server.Tasks;
using Seedance.Server.Tests.Support;

namespace Seedance.Server.Tests;

/// <summary>
/// Price plans: a key on a plan sees and pays the plan's prices, each task keeps the price it was charged at, and a
/// change of plan reaches new submissions only.
/// </summary>
public sealed class PricePlanTests
{
    private static readonly Dictionary<string, string> Settings = new()
    {
        ["Seedance:Tasks:Dispatch"] = "false",
        ["Seedance:PricePlans:partner:Multiplier"] = "0.5",
        ["Seedance:PricePlans:partner:Prices:seedance-2.0:1080p"] = "3",
        ["Seedance:PricePlans:staff:Multiplier"] = "0",
        ["Seedance:PricePlans:reseller:Multiplier"] = "0.85",
    };

    private static string Body(string resolution, int duration) =>
        $$"""{"resolution":"{{resolution}}","duration":{{duration}},"content":[{"type":"text","text":"A harbour at dawn"}]}""";

    private static async Task<(ApiClient Client, JsonNode Key)> KeyAsync(RunningServer server, string? plan)
    {
        var body = new Dictionary<string, object?> { ["name"] = "customer", ["credits"] = 100 };
        if (plan is not null) body["price_plan"] = plan;
        var created = await ApiResponse.From(await server.Admin.PostAsJsonAsync("/admin/v1/keys", body));
        created.AssertOk();
        var key = created.Result!["key"]!;
        return (new ApiClient(server.BaseUrl, created.Result["api_key"]!.GetValue<string>(), key["key_id"]!.GetValue<long>()), key);
    }

    private static async Task<JsonNode> PricesAsync(ApiClient client, string model)
    {
        var models = (await ApiResponse.From(await client.Http.GetAsync("/api/v1/video/models"))).Result!["data"]!.AsArray();
        return models.Single(m => m!["model"]!.GetValue<string>() == model)!["prices"]!;
    }

    private static async Task<long?> RecordedPriceAsync(RunningServer server, string taskId) =>
        (long?)Assert.Single(await TestDatabase.QueryAsync(server.DataDir, "SELECT price_per_second FROM video_tasks WHERE task_id = @id", ("id", taskId)))["price_per_second"];

    [Fact]
    public async Task AKeyOnAPlanSeesAndPaysItsPricesEachTaskKeepsItsPriceAndAChangeOfPlanReachesNewTasksOnly()
    {
        await using var server = await RunningServer.StartAsync(Settings);
        var (client, key) = await KeyAsync(server, "partner");
        using var _ = client;
        Assert.Equal("partner", key["price_plan"]!.GetValue<string>());

        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"480p":0.45,"720p":0.9,"1080p":3}"""), await PricesAsync(client, "seedance-2.0")));
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"480p":0.36,"720p":0.72,"1080p":1.656}"""), await PricesAsync(client, "seedance-2.0-fast")));
        var quote = await client.PostTextAsync("/api/v1/video/quote", Body("720p", 5));
        Assert.Equal(4.5m, quote.Result!["credit_cost"]!.GetValue<decimal>());
        var onPlan = await client.PostTextAsync("/api/v1/video/task", Body("720p", 5));
        var onPlanId = onPlan.Result!["task_id"]!.GetValue<string>();
        Assert.Equal(4.5m, onPlan.Result["credit_cost"]!.GetValue<decimal>());
        var set = await client.PostTextAsync("/api/v1/video/task", Body("1080p", 4));
        Assert.Equal(12m, set.Result!["credit_cost"]!.GetValue<decimal>()); // the plan's own price, not half the list's
        Assert.Equal(9_000L, await RecordedPriceAsync(server, onPlanId)); // 0.9 credits per second, in ten-thousandths

        var changed = await ApiResponse.From(await server.Admin.PatchAsJsonAsync($"/admin/v1/keys/{client.KeyId}", new { price_plan = "" }));
        changed.AssertOk();
        Assert.Null(changed.Result!["price_plan"]);
        // Keys are cached for requests and refreshed within about a second of a change.
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while ((await PricesAsync(client, "seedance-2.0"))["720p"]!.GetValue<decimal>() != 1.8m && DateTime.UtcNow < deadline) await Task.Delay(100);
        var listed = await client.PostTextAsync("/api/v1/video/task", Body("720p", 5));
        Assert.Equal(9m, listed.Result!["credit_cost"]!.GetValue<decimal>());
        Assert.Equal(18_000L, await RecordedPriceAsync(server, listed.Result["task_id"]!.GetValue<string>()));

        Assert.Equal(4.5m, (await client.GetTaskAsync(onPlanId)).Result!["credit_cost"]!.GetValue<decimal>());
        Assert.Equal(9_000L, await RecordedPriceAsync(server, onPlanId));
        var balance = (await client.BalanceAsync()).Result!;
        Assert.Equal((25.5m, 74.5m), (balance["reserved_credits"]!.GetValue<decimal>(), balance["remain_credits"]!.GetValue<decimal>()));
    }

    [Fact]
    public async Task AtStartKeysOnAPlanNoLongerConfiguredAreNamedInAWarningWithHowManyThereAre()
    {
        await using var host = await StoreHost.StartAsync(settings: new() { ["Seedance:PricePlans:partner:Multiplier"] = "0.5" });
        var keys = host.Get<KeyStore>();
        foreach (var plan in new[] { "partner", "gold", "gold", null, "Partner" })
        {
            var keyId = await Stores.TaskStoreTests.NewKeyAsync(host, credits: 1m);
            if (plan is not null) Assert.True(await keys.UpdateAsync(keyId, new KeySettings(null, null, null, null, null, plan), host.Now, default));
        }

        var unknown = await host.ReadAsync(db => PricePlanCheck.WarnOfUnknownPlansAsync(host.Get<ModelCatalogue>(), db, NullLogger.Instance, default));

        Assert.Equal([("Partner", 1), ("gold", 2)], unknown);
    }

    [Fact]
    public async Task APlanPriceRoundedToFourDecimalsIsWhatTheQuoteSaysTheSubmissionReservesAndTheTaskRecords()
    {
        await using var server = await RunningServer.StartAsync(Settings);
        var (client, _) = await KeyAsync(server, "reseller");
        using var _c = client;
        var body = """{"model":"seedance-2.0-fast","resolution":"1080p","duration":7,"content":[{"type":"text","text":"A harbour at dawn"}]}""";

        var quote = await client.PostTextAsync("/api/v1/video/quote", body);
        var submitted = await client.PostTextAsync("/api/v1/video/task", body);

        // 3.312 x 0.85 = 2.8152 credits per second; x 7 = 19.7064, to the cent 19.71
        Assert.Equal(2.8152m, (await PricesAsync(client, "seedance-2.0-fast"))["1080p"]!.GetValue<decimal>());
        Assert.Equal(19.71m, quote.Result!["credit_cost"]!.GetValue<decimal>());
        Assert.Equal(19.71m, submitted.Result!["credit_cost"]!.GetValue<decimal>());
        Assert.Equal(28_152L, await RecordedPriceAsync(server, submitted.Result["task_id"]!.GetValue<string>()));
        Assert.Equal(19.71m, (await client.BalanceAsync()).Result!["reserved_credits"]!.GetValue<decimal>());

        // A change that names no plan leaves the plan as it is.
        var changed = await ApiResponse.From(await server.Admin.PatchAsJsonAsync($"/admin/v1/keys/{client.KeyId}", new { max_concurrent = 3 }));
        var nulled = await ApiResponse.From(await server.Admin.PatchAsJsonAsync($"/admin/v1/keys/{client.KeyId}", new { price_plan = (string?)null }));
        Assert.Equal(("reseller", "reseller"), (changed.Result!["price_plan"]!.GetValue<string>(), nulled.Result!["price_plan"]!.GetValue<string>()));
    }

    [Fact]
    public async Task AFreePlanPricesEveryTaskAtZeroAndAKeyWithoutAPlanPaysTheListPrices()
    {
        await using var server = await RunningServer.StartAsync(Settings);
        var (staff, _) = await KeyAsync(server, "staff");
        var (customer, key) = await KeyAsync(server, null);
        using var a = staff;
        using var b = customer;

        Assert.Null(key["price_plan"]);
        Assert.Equal(0m, (await staff.PostTextAsync("/api/v1/video/task", Body("1080p", 15))).Result!["credit_cost"]!.GetValue<decimal>());
        Assert.Equal(67.5m, (await customer.PostTextAsync("/api/v1/video/task", Body("1080p", 15))).Result!["credit_cost"]!.GetValue<decimal>());
    }

    [Fact]
    public async Task APlanTheSettingsDoNotNameIsRefusedWhenAKeyIsCreatedOrChangedAndNothingChanges()
    {
        await using var server = await RunningServer.StartAsync(Settings);
        var (client, _) = await KeyAsync(server, "partner");
        using var _c = client;

        var created = await ApiResponse.From(await server.Admin.PostAsJsonAsync("/admin/v1/keys", new { name = "x", credits = 1, price_plan = "gold" }));
        var changed = await ApiResponse.From(await server.Admin.PatchAsJsonAsync($"/admin/v1/keys/{client.KeyId}", new { price_plan = "gold" }));

        created.AssertError(400, "INVALID_PARAMETER", "price_plan must be one of partner, reseller, staff, or empty for the list prices");
        changed.AssertError(400, "INVALID_PARAMETER", "price_plan must be one of partner, reseller, staff");
        var keys = (await ApiResponse.From(await server.Admin.GetAsync("/admin/v1/keys"))).Result!.AsArray();
        Assert.Equal(["partner"], keys.Select(k => k!["price_plan"]!.GetValue<string>()));
    }
}
