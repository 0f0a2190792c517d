using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Seedance.Server.Data;
using Seedance.Server.Tests.Support;

namespace Seedance.Server.Tests;

/// <summary>
/// Tasks survive the server: killed in the middle of its work or stopped in good order, a server started
/// again on the same data directory finishes every task and charges each exactly once.
/// </summary>
[TakesAbout(60)]
public sealed class RestartTests
{
    private const int QueueSeconds = 3;

    [Fact]
    public async Task AfterAKillEveryPendingQueuedAndProcessingTaskCompletesAndIsChargedExactlyOnce()
    {
        var dataDir = TempDir.Create();
        var environment = new Dictionary<string, string>
        {
            ["Seedance__DataDir"] = dataDir,
            ["Seedance__AdminToken"] = RunningServer.AdminToken,
            ["Seedance__Sandbox__QueueSeconds"] = QueueSeconds.ToString(),
            ["Seedance__Tasks__PollIntervalSeconds"] = "0.2",
            // On a database several nodes may share (PostgreSQL), the killed server's work passes on when its leases run out.
            // Long enough that a server starved of CPU by the rest of the suite keeps its claims while it hands tasks over
            // (a claim that ran out mid-hand-over let a third task start beside the two of the key's limit, once in a loaded run).
            ["Seedance__Node__LeaseSeconds"] = "6",
        };
        string apiKey;
        long keyId;
        string[] taskIds;
        var output = "";
        try
        {
            await using (var first = await ServerProcess.StartAsync(environment))
            {
                (apiKey, keyId) = await CreateKeyAsync(first.Admin, maxConcurrent: 2);
                using var client = new ApiClient(first.BaseUrl, apiKey, keyId);
                taskIds = await BringTasksIntoEveryActiveStatusAsync(client);
                first.Kill();
                output += first.Output;
            }

            await using (var second = await ServerProcess.StartAsync(environment))
            {
                using var client = new ApiClient(second.BaseUrl, apiKey, keyId);
                await AssertAllCompleteWithPlayableVideosAsync(client, taskIds);
                await AssertBalanceHoldsExactlyTheCostsAsync(client, taskIds);
                output += second.Output;
            }

            await AssertLedgerInDatabaseAsync(dataDir, keyId, taskIds);
            Assert.DoesNotContain(apiKey, output);
        }
        finally { TempDir.Delete(dataDir); }
    }

    [Fact]
    public async Task AfterAGracefulStopEveryPendingQueuedAndProcessingTaskCompletesAndIsChargedExactlyOnce()
    {
        var settings = new Dictionary<string, string> { ["Seedance:Sandbox:QueueSeconds"] = QueueSeconds.ToString() };
        ApiClient client;
        string[] taskIds;
        string dataDir;
        await using (var first = await RunningServer.StartAsync(settings))
        {
            first.KeepDataDir = true;
            dataDir = first.DataDir;
            client = await first.CreateKeyAsync(credits: 1000, maxConcurrent: 2);
            taskIds = await BringTasksIntoEveryActiveStatusAsync(client);
            client.Dispose();
        }

        await using var second = await RunningServer.StartAsync(settings, dataDir);
        using var again = new ApiClient(second.BaseUrl, client.ApiKey, client.KeyId);
        await AssertAllCompleteWithPlayableVideosAsync(again, taskIds);
        await AssertBalanceHoldsExactlyTheCostsAsync(again, taskIds);

        var ledger = await ApiResponse.From(await second.Admin.GetAsync($"/admin/v1/keys/{client.KeyId}/ledger?page_size=1000"));
        ledger.AssertOk();
        var entries = ledger.Result!["data"]!.AsArray()
            .Select(e => (TaskId: e!["task_id"]?.GetValue<string>(), Kind: e["kind"]!.GetValue<string>(), Amount: e["amount"]!.GetValue<decimal>()))
            .ToList();
        foreach (var taskId in taskIds)
        {
            var movements = entries.Where(e => e.TaskId == taskId).Select(e => (e.Kind, e.Amount)).OrderBy(m => m.Kind).ToList();
            Assert.Equal([("capture", 3.6m), ("reserve", 3.6m)], movements);
        }
    }

    /// <summary>
    /// With two slots: the first task is made to run long and waited into <c>processing</c>; the second
    /// takes the other slot, waits <c>queued</c> at the sandbox for a few seconds and then runs long too; the rest stay
    /// <c>pending</c>. The statuses are read back through the API before returning.
    /// </summary>
    private static async Task<string[]> BringTasksIntoEveryActiveStatusAsync(ApiClient client)
    {
        var processing = await client.SubmitTextAsync("A long take of a glacier [sandbox:delay=8]");
        await client.WaitForAsync(processing, "processing");
        // The second task holds its slot for a while once it runs too, so that the last two stay pending while the
        // statuses are read back on a loaded machine (without it, it finished in a few seconds and let one of them start).
        var queued = await client.SubmitTextAsync("A hummingbird at a feeder [sandbox:delay=8]");
        var pending = new[] { await client.SubmitTextAsync("A tram in the rain"), await client.SubmitTextAsync("A kite over dunes") };
        await client.WaitForAsync(queued, "queued");

        Assert.Equal("processing", await StatusAsync(client, processing));
        Assert.Equal("queued", await StatusAsync(client, queued));
        foreach (var id in pending) Assert.Equal("pending", await StatusAsync(client, id));
        return [processing, queued, .. pending];
    }

    private static async Task AssertAllCompleteWithPlayableVideosAsync(ApiClient client, string[] taskIds)
    {
        foreach (var taskId in taskIds)
        {
            var task = await client.WaitForAsync(taskId);
            Assert.True(task["status"]!.GetValue<string>() == "completed", $"task {taskId} ended {task.ToJsonString()}");
            var (analysis, path) = await Media.DownloadAndProbeAsync(task["video_url"]!.GetValue<string>());
            File.Delete(path);
            Assert.Equal("h264", analysis.PrimaryVideoStream!.CodecName);
            Assert.InRange(analysis.PrimaryVideoStream.Duration.TotalSeconds, 4 - 1.0 / 24, 4 + 1.0 / 24);
        }
    }

    private static async Task AssertBalanceHoldsExactlyTheCostsAsync(ApiClient client, string[] taskIds)
    {
        var costs = 0m;
        foreach (var taskId in taskIds) costs += (await client.GetTaskAsync(taskId)).Result!["credit_cost"]!.GetValue<decimal>();
        Assert.Equal(3.6m * taskIds.Length, costs);

        var balance = await client.BalanceAsync();
        balance.AssertOk();
        Assert.Equal(1000m, balance.Result!["total_credits"]!.GetValue<decimal>());
        Assert.Equal(costs, balance.Result!["used_credits"]!.GetValue<decimal>());
        Assert.Equal(0m, balance.Result!["reserved_credits"]!.GetValue<decimal>());
        Assert.Equal(1000m - costs, balance.Result!["remain_credits"]!.GetValue<decimal>());
    }

    /// <summary>The database itself: one reserve and one capture per task, nothing else, and the key's figures match.</summary>
    private static async Task AssertLedgerInDatabaseAsync(string dataDir, long keyId, string[] taskIds)
    {
        var rows = await TestDatabase.QueryAsync(dataDir,
            "SELECT task_id, kind, amount FROM credit_ledger WHERE key_id = @key AND task_id IS NOT NULL", ("key", keyId));
        var costInHundredths = 360L;
        foreach (var taskId in taskIds)
        {
            var movements = rows.Where(r => (string?)r["task_id"] == taskId).Select(r => ((string)r["kind"]!, (long)r["amount"]!)).OrderBy(m => m.Item1).ToList();
            Assert.Equal([("capture", costInHundredths), ("reserve", costInHundredths)], movements);
        }
        Assert.Equal(taskIds.Length * 2, rows.Count);

        var key = Assert.Single(await TestDatabase.QueryAsync(dataDir,
            "SELECT total_credits, used_credits, reserved_credits FROM api_keys WHERE id = @key", ("key", keyId)));
        Assert.Equal(costInHundredths * taskIds.Length, (long)key["used_credits"]!);
        Assert.Equal(0L, (long)key["reserved_credits"]!);
        Assert.Equal(100_000L, (long)key["total_credits"]!);
    }

    private static async Task<string> StatusAsync(ApiClient client, string taskId)
    {
        var response = await client.GetTaskAsync(taskId);
        response.AssertOk();
        return response.Result!["status"]!.GetValue<string>();
    }

    private static async Task<(string ApiKey, long KeyId)> CreateKeyAsync(HttpClient admin, int maxConcurrent)
    {
        var response = await admin.PostAsJsonAsync("/admin/v1/keys", new Dictionary<string, object>
        {
            ["name"] = "restart", ["credits"] = 1000, ["max_concurrent"] = maxConcurrent, ["rate_limit_per_second"] = 1000,
        });
        var body = await response.Content.ReadFromJsonAsync<JsonObject>();
        Assert.True(response.IsSuccessStatusCode, body?.ToJsonString());
        return (body!["result"]!["api_key"]!.GetValue<string>(), body["result"]!["key"]!["key_id"]!.GetValue<long>());
    }
}
