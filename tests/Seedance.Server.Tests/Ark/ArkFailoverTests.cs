using System.Text.Json.Nodes;
using Seedance.Server.Tests.Support;
using static Seedance.Server.Tests.Ark.ArkChannelServer;

namespace Seedance.Server.Tests.Ark;

/// <summary>The server's Ark channels when the upstream fails them: failover to the next channel, giving up with the table's code, timeouts and rate limits, never charged twice.</summary>
[TakesAbout(30)]
public sealed class ArkFailoverTests
{
    [Theory]
    [InlineData(401, "AuthenticationError")]
    [InlineData(403, "AccessDenied")]
    [InlineData(403, "AccountOverdueError")]
    [InlineData(404, "InvalidEndpointOrModel.NotFound")]
    [InlineData(500, "InternalServiceError")]
    public async Task AChannelFaultFailsOverToTheNextChannelWithoutADuplicateOrADoubleCharge(int status, string code)
    {
        await using var broken = await ArkEmulator.StartAsync();
        await using var healthy = await ArkEmulator.StartAsync();
        await using var server = await ServerAsync(("primary", broken, 10), ("secondary", healthy, 0));
        using var client = await server.CreateKeyAsync(credits: 100);
        broken.Faults.ErrorNext(1000, status, code);

        var ids = new List<string>();
        for (var i = 0; i < 4; i++) ids.Add(await client.SubmitTextAsync($"Failover {i}"));
        foreach (var id in ids) Assert.Equal("completed", (await client.WaitForAsync(id)).Status());

        Assert.Empty(broken.Tasks);
        Assert.Equal(4, healthy.Tasks.Count);
        Assert.Equal(4 * Cost, (await client.CreditsAsync()).Used);
        var channels = (await ApiResponse.From(await server.Admin.GetAsync("/admin/v1/channels"))).Result!.AsArray();
        var primary = channels.Single(c => c!["name"]!.GetValue<string>() == "primary")!;
        Assert.Equal("cooling_down", primary["state"]!.GetValue<string>());
        Assert.Contains(code, primary["recent_errors"]![0]!["error"]!.GetValue<string>());
    }

    [Theory]
    [InlineData(401, "AuthenticationError", "SERVICE_BUSY")]
    [InlineData(403, "AccountOverdueError", "SERVICE_BUSY")]
    [InlineData(404, "ModelNotOpen", "SERVICE_BUSY")]
    [InlineData(500, "InternalServiceError", "TASK_SUBMIT_FAILED")]
    public async Task WhenNoChannelCanTakeATaskItFailsWithTheTablesCodeUncharged(int status, string code, string expected)
    {
        await using var ark = await ArkEmulator.StartAsync();
        // The second attempt comes 2 s after the first: the clock is moved on to it rather than waited out.
        var clock = new JumpingClock();
        await using var server = await ServerAsync(new Dictionary<string, string>
        {
            ["Seedance:Tasks:MaxSubmitAttempts"] = "2", ["Seedance:Channels:0:CooldownSeconds"] = "0", ["Seedance:Node:LeaseSeconds"] = "3600",
        }, null, clock.Use, ("only", ark, 0));
        using var client = await server.CreateKeyAsync(credits: 100);
        ark.Faults.ErrorNext(1000, status, code);

        var taskId = await client.SubmitTextAsync("Nobody home");
        await server.SkipRetryWaitsUntilAsync(clock, client.KeyId, async () => IsTerminal(await client.GetTaskAsync(taskId)), "the task to fail");
        var task = await client.WaitForAsync(taskId);

        Assert.Equal("failed", task.Status());
        Assert.Equal(expected, task["error_code"]!.GetValue<string>());
        Assert.Equal(2, ark.CreateCalls);
        Assert.Equal(new CreditFigures(100m, 0m, 0m, 100m), await client.CreditsAsync());
    }

    [Fact]
    public async Task ATimeoutAtSubmissionIsTheChannelsFaultAndTheTaskFindsAnotherChannel()
    {
        await using var slow = await ArkEmulator.StartAsync();
        await using var healthy = await ArkEmulator.StartAsync();
        await using var server = await ServerAsync(("slow", slow, 10), ("healthy", healthy, 0));
        using var client = await server.CreateKeyAsync(credits: 100);
        slow.Faults.TimeoutNext(1, ArkCall.Create);

        Assert.Equal("completed", (await client.WaitForAsync(await client.SubmitTextAsync("Patience"))).Status());
        Assert.Single(healthy.Tasks);
    }

    [Fact]
    public async Task ARateLimitStormLeavesTasksPendingAndThenCompletesThemChargedOnce()
    {
        await using var ark = await ArkEmulator.StartAsync();
        // Each refusal defers its task by 5-10 s: the clock is moved on to the retry time rather than waited out.
        // Leases outlast the jumps, so a claim never runs out between two heartbeats of this single node.
        var clock = new JumpingClock();
        await using var server = await ServerAsync(new Dictionary<string, string> { ["Seedance:Node:LeaseSeconds"] = "3600" }, null, clock.Use,
            ("ark", ark, 0));
        using var client = await server.CreateKeyAsync(credits: 100);
        ark.Faults.RateLimitNext(6);
        ark.Faults.QuotaExceededNext(2);

        var ids = new List<string>();
        for (var i = 0; i < 3; i++) ids.Add(await client.SubmitTextAsync($"Storm {i}"));
        await Task.Delay(300);
        Assert.All(ids, id => Assert.Equal("pending", client.GetTaskAsync(id).Result.Result!.Status()));
        await server.SkipRetryWaitsUntilAsync(clock, client.KeyId, async () => (await server.TaskRowsAsync(client.KeyId)).All(t => t.Status != "pending"),
            "every task to be handed over");
        foreach (var id in ids) Assert.Equal("completed", (await client.WaitForAsync(id)).Status());

        Assert.Equal(3, ark.Tasks.Count);
        Assert.Equal(3 * Cost, (await client.CreditsAsync()).Used);
        var rows = await server.TaskRowsAsync(client.KeyId);
        Assert.All(rows, r => Assert.Equal(0, r.DispatchAttempts)); // a rate limit never counts against the task
    }

    private static bool IsTerminal(ApiResponse task) => ServerProbes.Terminal.Contains(task.Result!.Status());
}
