using Seedance.Server.Tests.Support;

namespace Seedance.Server.Tests;

/// <summary>
/// Costs on the wire: what a submission, the task, the list and the balance say a task costs. The table itself is
/// tested without a server in Unit/PriceTableTests.
/// </summary>
public sealed class PricingTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    [Theory]
    [InlineData("seedance-2.0", "1080p", "36")]
    [InlineData("seedance-2.0", "720p", "14.4")]
    [InlineData("seedance-2.0", "480p", "7.2")]
    [InlineData("seedance-2.0-fast", "1080p", "26.5")]
    [InlineData("seedance-2.0-fast", "720p", "11.52")]
    [InlineData("seedance-2.0-fast", "480p", "5.76")]
    public async Task AnEightSecondTaskCostsWhatTheDocumentsTableSaysAsAJsonNumber(string model, string resolution, string cost)
    {
        using var client = await fixture.Server.CreateKeyAsync(credits: 100);
        var submitted = await client.SubmitAsync(new Dictionary<string, object>
        {
            ["model"] = model, ["resolution"] = resolution, ["duration"] = 8,
            ["content"] = new[] { new { type = "text", text = ServerFixture.Stalled } },
        });
        submitted.AssertOk();
        Assert.Equal(cost, submitted.Result!["credit_cost"]!.ToJsonString());

        var taskId = submitted.Result!["task_id"]!.GetValue<string>();
        var task = await client.GetTaskAsync(taskId);
        task.AssertOk();
        Assert.Equal(cost, task.Result!["credit_cost"]!.ToJsonString());

        var list = await client.ListAsync();
        Assert.Equal(cost, Assert.Single(list.Result!["data"]!.AsArray())!["credit_cost"]!.ToJsonString());

        var balance = await client.BalanceAsync();
        Assert.Equal(cost, balance.Result!["reserved_credits"]!.ToJsonString());
        Assert.Equal(100m - decimal.Parse(cost, System.Globalization.CultureInfo.InvariantCulture), balance.Result!["remain_credits"]!.GetValue<decimal>());
    }

    [Theory]
    [InlineData("seedance-2.0-fast", "1080p", 4, "13.25")]
    [InlineData("seedance-2.0-fast", "1080p", 6, "19.87")]
    [InlineData("seedance-2.0-fast", "1080p", 15, "49.68")]
    [InlineData("seedance-2.0", "1080p", 15, "67.5")]
    [InlineData("seedance-2.0-fast", "480p", 5, "3.6")]
    public async Task CreditCostsHaveAtMostTwoDecimalsOnTheWire(string model, string resolution, int duration, string cost)
    {
        using var client = await fixture.Server.CreateKeyAsync(credits: 100);
        var submitted = await client.SubmitAsync(new Dictionary<string, object>
        {
            ["model"] = model, ["resolution"] = resolution, ["duration"] = duration,
            ["content"] = new[] { new { type = "text", text = ServerFixture.Stalled } },
        });
        submitted.AssertOk();
        Assert.Equal(cost, submitted.Result!["credit_cost"]!.ToJsonString());
    }

    [Fact]
    public async Task ATaskCostingMoreThanTheRemainingCreditIsRefusedAndReservesNothing()
    {
        using var client = await fixture.Server.CreateKeyAsync(credits: 26.49m);
        var refused = await client.SubmitAsync(new Dictionary<string, object>
        {
            ["model"] = "seedance-2.0-fast", ["resolution"] = "1080p", ["duration"] = 8,
            ["content"] = new[] { new { type = "text", text = ServerFixture.Stalled } },
        });
        refused.AssertError(402, "INSUFFICIENT_CREDIT", "task costs 26.5, remaining 26.49");
        var balance = await client.BalanceAsync();
        Assert.Equal(0m, balance.Result!["reserved_credits"]!.GetValue<decimal>());
        Assert.Equal(26.49m, balance.Result!["remain_credits"]!.GetValue<decimal>());
    }
}
