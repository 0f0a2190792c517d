using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Seedance.Server.Tests.Support;

namespace Seedance.Server.Tests;

/// <summary>
/// Spending limits through the API: the operator sets them on a key, the customer's balance shows them with what the
/// day and month have taken, a submission that would pass one is refused with 402 and a message naming the limit and
/// when it resets (nothing reserved), the quote says the task is not affordable, and 0 removes a limit.
/// </summary>
public sealed class SpendingLimitApiTests
{
    // seedance-2.0, 480p, 4 s: 0.9 × 4 = 3.6 credits.
    private const string Body = """{"resolution":"480p","duration":4,"content":[{"type":"text","text":"A paper boat on a river"}]}""";

    [Fact]
    public async Task FiftySubmissionsAtOnceTakeExactlyTheDailyLimitTheRestAreRefusedWith402AndTheBalanceAndQuoteShowIt()
    {
        await using var server = await RunningServer.StartAsync(new() { ["Seedance:Tasks:Dispatch"] = "false" });
        var created = await ApiResponse.From(await server.Admin.PostAsJsonAsync("/admin/v1/keys", new Dictionary<string, object?>
        {
            ["name"] = "limited", ["credits"] = 100, ["daily_credit_limit"] = 36, ["monthly_credit_limit"] = 50, ["rate_limit_per_second"] = 1000,
        }));
        created.AssertOk();
        var keyId = created.Result!["key"]!["key_id"]!.GetValue<long>();
        Assert.Equal((36m, 50m, 0m), (created.Result["key"]!["daily_credit_limit"]!.GetValue<decimal>(),
            created.Result["key"]!["monthly_credit_limit"]!.GetValue<decimal>(), created.Result["key"]!["daily_used"]!.GetValue<decimal>()));
        using var client = new ApiClient(server.BaseUrl, created.Result["api_key"]!.GetValue<string>(), keyId);

        var answers = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => client.PostTextAsync("/api/v1/video/task", Body)));

        Assert.Equal(10, answers.Count(a => a.Status == 200));
        var refusals = answers.Where(a => a.Status != 200).ToList();
        Assert.All(refusals, r => Assert.Equal((402, "INSUFFICIENT_CREDIT"), (r.Status, r.Code)));
        var tomorrow = DateTime.UtcNow.Date.AddDays(1);
        Assert.All(refusals, r => Assert.Equal(
            $"Insufficient credit: the key's daily credit limit is 36, 36 used today, task costs 3.6; the limit resets at {tomorrow:yyyy-MM-dd}T00:00:00Z", r.Message));
        var balance = (await client.BalanceAsync()).Result!;
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""
            {"total_credits":100,"used_credits":0,"remain_credits":64,"reserved_credits":36,"daily_used":36,"monthly_used":36,
             "daily_credit_limit":36,"monthly_credit_limit":50}
            """), balance), balance.ToJsonString());
        var quote = (await client.PostTextAsync("/api/v1/video/quote", Body)).Result!;
        Assert.Equal((3.6m, 64m, false), (quote["credit_cost"]!.GetValue<decimal>(), quote["remain_credits"]!.GetValue<decimal>(), quote["affordable"]!.GetValue<bool>()));

        // A cancelled task's reservation stops counting: room for one more today.
        var firstId = answers.First(a => a.Status == 200).Result!["task_id"]!.GetValue<string>();
        (await client.CancelAsync(firstId)).AssertOk();
        Assert.Equal(32.4m, (await client.BalanceAsync()).Result!["daily_used"]!.GetValue<decimal>());
        (await client.PostTextAsync("/api/v1/video/task", Body)).AssertOk();

        // 0 removes the daily limit; the monthly one (50) still holds: 36 + 3.6 × 3 = 46.8, then 50.4 would pass it.
        foreach (var bad in new object[] { -1, 0.001 })
        {
            var refused = await ApiResponse.From(await server.Admin.PatchAsJsonAsync($"/admin/v1/keys/{keyId}", new { daily_credit_limit = bad }));
            Assert.Equal((400, "INVALID_PARAMETER"), (refused.Status, refused.Code));
        }
        var removed = await ApiResponse.From(await server.Admin.PatchAsJsonAsync($"/admin/v1/keys/{keyId}", new { daily_credit_limit = 0 }));
        removed.AssertOk();
        Assert.Null(removed.Result!["daily_credit_limit"]);
        Assert.False((await client.BalanceAsync()).Result!.AsObject().ContainsKey("daily_credit_limit"));
        for (var i = 0; i < 3; i++) (await client.PostTextAsync("/api/v1/video/task", Body)).AssertOk();
        var monthly = await client.PostTextAsync("/api/v1/video/task", Body);
        Assert.Equal((402, "INSUFFICIENT_CREDIT"), (monthly.Status, monthly.Code));
        Assert.StartsWith("Insufficient credit: the key's monthly credit limit is 50, 46.8 used this month", monthly.Message);
    }
}
