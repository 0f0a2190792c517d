using Seedance.Server.Tests.Support;

namespace Seedance.Server.Tests;

public sealed class SmokeTests
{
    [Fact]
    public async Task ATextTaskRunsToACompletedVideoAndCapturesItsCost()
    {
        await using var server = await RunningServer.StartAsync();
        using var client = await server.CreateKeyAsync(credits: 100);
        var taskId = await client.SubmitTextAsync("A cat running under cherry blossoms", duration: 4);
        var task = await client.WaitForAsync(taskId);
        Assert.Equal("completed", task["status"]!.GetValue<string>());
        var balance = await client.BalanceAsync();
        Assert.Equal(3.6m, balance.Result!["used_credits"]!.GetValue<decimal>());
        Assert.Equal(96.4m, balance.Result!["remain_credits"]!.GetValue<decimal>());
    }
}
