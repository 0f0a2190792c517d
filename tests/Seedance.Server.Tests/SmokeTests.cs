using System.Net.Http.Json;
using Seedance.Server.Tests.Support;

namespace Seedance.Server.Tests;

public sealed class SmokeTests
{
    [Fact]
    public async Task TheServerStartedFromAnotherDirectoryReadsTheSettingsBesideItsBinarySoItsLogsStayQuiet()
    {
        var dataDir = TempDir.Create();
        var elsewhere = TempDir.Create();
        try
        {
            await using var server = await ServerProcess.StartAsync(new Dictionary<string, string>
            {
                ["Seedance__DataDir"] = dataDir, ["Seedance__AdminToken"] = RunningServer.AdminToken,
            }, workingDirectory: elsewhere);
            // A write and reads through EF: without appsettings.json every SQL command would be logged at Information.
            var created = await server.Admin.PostAsJsonAsync("/admin/v1/keys", new Dictionary<string, object> { ["name"] = "elsewhere", ["credits"] = 10 });
            Assert.True(created.IsSuccessStatusCode, await created.Content.ReadAsStringAsync());
            Assert.True((await server.Admin.GetAsync("/admin/v1/keys")).IsSuccessStatusCode);

            Assert.Contains("Application started", server.Output);
            Assert.DoesNotContain("Microsoft.EntityFrameworkCore.Database.Command", server.Output);
        }
        finally
        {
            TempDir.Delete(elsewhere);
            TempDir.Delete(dataDir);
        }
    }

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
