using Seedance.Server.Data;
using Seedance.Server.Tests.Support;

namespace Seedance.Server.Tests;

/// <summary>
/// Each key has a concurrency limit (queued + processing) and a backlog limit (pending). Dispatch is
/// first in, first out per key and fair across keys. Observed through the API and the task rows.
/// </summary>
[TakesAbout(25)]
public sealed class DispatchTests
{
    private const decimal Cost = 3.6m;

    private static Dictionary<string, object> TextTask(string prompt) => new()
    {
        ["content"] = new[] { new { type = "text", text = prompt } }, ["duration"] = 4, ["resolution"] = "480p",
    };

    private static bool Started(VideoTask task) => task.Status != "pending";

    [Fact]
    public async Task ASubmissionBeyondTheBacklogIsRefusedAndCreatesNothing()
    {
        await using var server = await RunningServer.StartAsync();
        using var client = await server.CreateKeyAsync(credits: 100, maxConcurrent: 1, maxPending: 2);
        var running = await client.SubmitTextAsync("[sandbox:stall] Holds the only slot");
        await client.WaitForAsync(running, "queued", "processing");
        var first = await client.SubmitTextAsync("[sandbox:stall] First in the backlog");
        await client.SubmitTextAsync("[sandbox:stall] Second in the backlog");

        var refused = await client.SubmitAsync(TextTask("[sandbox:stall] One too many"));

        refused.AssertError(429, "CONCURRENCY_LIMIT_REACHED");
        var tasks = await server.TaskRowsAsync(client.KeyId);
        Assert.Equal(3, tasks.Count);
        Assert.Equal(2, tasks.Count(t => t.Status == "pending"));
        Assert.Equal(new CreditFigures(100m, 0m, 3 * Cost, 100m - 3 * Cost), await client.CreditsAsync());
        Assert.Equal(3, (await server.LedgerRowsAsync(client.KeyId)).Count(l => l.Kind == LedgerKind.Reserve));

        // A place freed in the backlog takes the next submission again.
        (await client.CancelAsync(first)).AssertOk();
        (await client.SubmitAsync(TextTask("[sandbox:stall] Fits now"))).AssertOk();
    }

    [Fact]
    public async Task AKeyNeverHasMoreTasksQueuedOrProcessingThanItsConcurrencyLimit()
    {
        await using var server = await RunningServer.StartAsync();
        using var client = await server.CreateKeyAsync(credits: 100, maxConcurrent: 2);
        for (var i = 0; i < 6; i++) await client.SubmitTextAsync($"[sandbox:delay=1] Task {i}");

        var peak = 0;
        await ServerProbes.WaitUntilAsync(async () =>
        {
            var tasks = await server.TaskRowsAsync(client.KeyId);
            var active = tasks.Count(t => t.Status is "queued" or "processing");
            Assert.True(active <= 2, $"{active} tasks queued or processing at once: {string.Join(", ", tasks.Select(t => t.Status))}");
            peak = Math.Max(peak, active);
            return tasks.All(t => ServerProbes.Terminal.Contains(t.Status));
        }, "all six tasks to finish");

        Assert.Equal(2, peak);
        Assert.All(await server.TaskRowsAsync(client.KeyId), t => Assert.Equal("completed", t.Status));
        Assert.Equal(new CreditFigures(100m, 6 * Cost, 0m, 100m - 6 * Cost), await client.CreditsAsync());
    }

    [Fact]
    public async Task TasksOfOneKeyStartInTheOrderTheyWereSubmitted()
    {
        await using var server = await RunningServer.StartAsync();
        using var client = await server.CreateKeyAsync(credits: 100, maxConcurrent: 1);
        var blocker = await client.SubmitTextAsync("[sandbox:delay=2] Holds the slot while the line forms");
        await client.WaitForAsync(blocker, "queued", "processing");
        var line = new List<string>();
        for (var i = 0; i < 5; i++) line.Add(await client.SubmitTextAsync($"In line {i}"));
        Assert.All((await server.TaskRowsAsync(client.KeyId)).Where(t => line.Contains(t.TaskId)), t => Assert.Equal("pending", t.Status));

        var startOrder = new List<string>();
        await ServerProbes.WaitUntilAsync(async () =>
        {
            var tasks = (await server.TaskRowsAsync(client.KeyId)).Where(t => line.Contains(t.TaskId)).ToList();
            // No task has left pending while one submitted before it still waits.
            var firstWaiting = tasks.FindIndex(t => !Started(t));
            if (firstWaiting >= 0)
                Assert.True(tasks.Skip(firstWaiting).All(t => !Started(t)),
                    $"a later task started first: {string.Join(", ", tasks.Select(t => t.Status))}");
            startOrder.AddRange(tasks.Where(Started).Select(t => t.TaskId).Except(startOrder));
            return tasks.All(t => ServerProbes.Terminal.Contains(t.Status));
        }, "the line of tasks to finish");

        Assert.Equal(line, startOrder);
    }

    [Fact]
    public async Task AKeyWithALongLineDoesNotHoldBackAnotherKey()
    {
        await using var server = await RunningServer.StartAsync();
        using var busy = await server.CreateKeyAsync(credits: 100, maxConcurrent: 1, name: "busy");
        using var quiet = await server.CreateKeyAsync(credits: 100, maxConcurrent: 1, name: "quiet");
        for (var i = 0; i < 6; i++) await busy.SubmitTextAsync($"[sandbox:delay=1] Busy task {i}");
        var quietTask = await quiet.SubmitTextAsync("The quiet key's only task");

        var busyStartedBefore = -1;
        await ServerProbes.WaitUntilAsync(async () =>
        {
            if (!Started(Assert.Single(await server.TaskRowsAsync(quiet.KeyId)))) return false;
            // Counted after the quiet task was seen started: an upper bound of what started before it.
            busyStartedBefore = (await server.TaskRowsAsync(busy.KeyId)).Count(Started);
            return true;
        }, "the quiet key's task to start");

        Assert.InRange(busyStartedBefore, 0, 1);
        Assert.Equal("completed", (await quiet.WaitForAsync(quietTask)).Status());
    }

    [Fact]
    public async Task WithDispatchOffTasksWaitAsPendingUntilANodeWithDispatchOnHandsThemOver()
    {
        string dataDir;
        ApiClient client;
        string taskId;
        await using (var paused = await RunningServer.StartAsync(new() { ["Seedance:Tasks:Dispatch"] = "false" }))
        {
            paused.KeepDataDir = true;
            dataDir = paused.DataDir;
            client = await paused.CreateKeyAsync(credits: 100);
            taskId = await client.SubmitTextAsync("[sandbox:fail=CONTENT_MODERATION_FAILED] Waits for a dispatching node");
            await Task.Delay(TimeSpan.FromSeconds(1)); // twenty dispatch intervals of the test settings

            Assert.Equal("pending", Assert.Single(await paused.TaskRowsAsync(client.KeyId)).Status);
            client.Dispose();
        }

        await using var dispatching = await RunningServer.StartAsync(dataDir: dataDir);
        using var again = new ApiClient(dispatching.BaseUrl, client.ApiKey, client.KeyId);
        Assert.Equal("failed", (await again.WaitForAsync(taskId)).Status());
    }
}
