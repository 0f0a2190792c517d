using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Seedance.Server.Data;
using Seedance.Server.Tests.Ark;
using Seedance.Server.Tests.Support;
using Xunit.Abstractions;

namespace Seedance.Server.Tests.Nodes;

/// <summary>
/// Nodes that fail or watch: a dead node's work passes to the others after the lease time, a hand-over cut
/// short by a crash is never repeated, and watchers on any node hear of changes made on any other.
/// </summary>
[TakesAbout(35)]
public sealed class CrossNodeTests
{
    [PostgresPassFact]
    public async Task TheTasksOfAKilledNodePassToAnotherNodeAfterTheLeaseTimeAndCompleteThere()
    {
        await using var ark = await ArkEmulator.StartAsync();
        await using var cluster = await ServerCluster.StartAsync(2, ark, leaseSeconds: 2);
        var (apiKey, keyId) = await cluster.CreateKeyAsync("orphaned", 1000m, maxConcurrent: 10, maxPending: 10);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(150) };
        var client = new SpreadClient(cluster, http);

        var ids = new List<string>();
        for (var i = 0; i < 6; i++)
        {
            var response = await client.SendAsync(i, HttpMethod.Post, "/api/v1/video/task", apiKey,
                new { content = new[] { new { type = "text", text = $"A lighthouse {i} [ark:stuck]" } }, duration = 4, resolution = "480p" });
            response.AssertOk();
            ids.Add(response.Result!["task_id"]!.GetValue<string>());
        }
        await ServerProbes.WaitUntilAsync(async () =>
        {
            var rows = await cluster.QueryAsync("SELECT lease_owner FROM video_tasks WHERE status = 'processing'");
            return rows.Count == ids.Count && rows.All(r => r["lease_owner"] is not null);
        }, "every task processing upstream and held by a node", seconds: 300);

        var owners = await cluster.LeaseOwnersAsync();
        var victim = owners.Values.Count(o => o == ServerCluster.NodeId(0)) >= owners.Values.Count(o => o == ServerCluster.NodeId(1)) ? 0 : 1;
        var survivor = ServerCluster.NodeId(1 - victim);
        var orphaned = owners.Where(o => o.Value == ServerCluster.NodeId(victim)).Select(o => o.Key).ToList();
        Assert.NotEmpty(orphaned);
        await cluster.KillAsync(victim);

        await ServerProbes.WaitUntilAsync(async () => (await cluster.LeaseOwnersAsync()).Values.All(o => o == survivor),
            $"the survivor {survivor} to hold every task", seconds: 300);
        foreach (var task in ark.Tasks) await ark.SetStatusAsync(task.Id, "succeeded");

        foreach (var id in ids)
        {
            var task = await client.SendAsync(0, HttpMethod.Get, $"/api/v1/video/task/{id}?wait=60", apiKey);
            Assert.Equal("completed", task.Result!.Status());
        }
        Assert.Equal(ids.Count, ark.CreateCalls);
        var ledger = await cluster.QueryAsync("SELECT task_id, kind FROM credit_ledger WHERE key_id = @key AND task_id IS NOT NULL", ("key", keyId));
        foreach (var id in ids)
            Assert.Equal(["capture", "reserve"], ledger.Where(r => (string)r["task_id"]! == id).Select(r => (string)r["kind"]!).Order().ToList());
    }

    [PostgresPassFact]
    public async Task ALongPollAndAnEventStreamOnOneNodeHearOfACompletionOnAnotherAndTheAnswerKeptThereDropsWhenTheResultsAreDeleted()
    {
        await using var ark = await ArkEmulator.StartAsync();
        await using var cluster = await ServerCluster.StartAsync(2, ark, leaseSeconds: 5, inProcess: true);
        var (apiKey, _) = await cluster.CreateKeyAsync("watcher", 1000m, maxConcurrent: 10, maxPending: 10);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(150) };
        var client = new SpreadClient(cluster, http);

        var submitted = await client.SendAsync(0, HttpMethod.Post, "/api/v1/video/task", apiKey,
            new { content = new[] { new { type = "text", text = "A paper boat [ark:stuck]" } }, duration = 4, resolution = "480p" });
        submitted.AssertOk();
        var id = submitted.Result!["task_id"]!.GetValue<string>();
        await ServerProbes.WaitUntilAsync(async () => (await cluster.QueryAsync(
            "SELECT 1 FROM video_tasks WHERE task_id = @id AND status = 'processing' AND lease_owner IS NOT NULL", ("id", id))).Count == 1,
            "the task processing upstream and held by a node", seconds: 300);
        var owner = (await cluster.LeaseOwnersAsync())[id];
        var other = owner == ServerCluster.NodeId(0) ? 1 : 0;

        // On the node that does not hold the task: a long-poll, and an event stream read up to its current status.
        var longPoll = client.SendAsync(other, HttpMethod.Get, $"/api/v1/video/task/{id}?wait=60", apiKey);
        using var request = new HttpRequestMessage(HttpMethod.Get, $"{cluster[other].BaseUrl}/api/v1/video/task/{id}/events");
        request.Headers.Add("X-API-Key", apiKey);
        using var stream = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        using var reader = new StreamReader(await stream.Content.ReadAsStreamAsync());
        Assert.Equal(("3", "processing"), await NextEventAsync(reader));

        await ark.SetStatusAsync(ark.Tasks.Single().Id, "succeeded");

        Assert.Equal(("4", "completed"), await NextEventAsync(reader));
        var answered = await longPoll;
        answered.AssertOk();
        Assert.Equal("completed", answered.Result!.Status());

        // The finished task's answer, kept in memory on the other node, drops there when its results are deleted here.
        Assert.NotNull((await client.SendAsync(other, HttpMethod.Get, $"/api/v1/video/task/{id}", apiKey)).Result!["video_url"]);
        (await client.SendAsync(1 - other, HttpMethod.Delete, $"/api/v1/video/task/{id}", apiKey)).AssertOk();
        await ServerProbes.WaitUntilAsync(async () => (await client.SendAsync(other, HttpMethod.Get, $"/api/v1/video/task/{id}", apiKey)).Result!["video_url"] is null,
            "the other node to answer without the deleted video", seconds: 10);
    }

    [PostgresPassFact]
    public async Task AHandOverCutShortByACrashIsNeverRepeatedAndTheTaskFailsUncharged()
    {
        await using var ark = await ArkEmulator.StartAsync();
        ark.Faults.TimeoutNext(1, ArkCall.Create, afterProcessing: true); // the upstream takes the task, but its answer never comes
        var dataDir = TempDir.Create();
        var environment = new Dictionary<string, string>
        {
            ["Seedance__DataDir"] = dataDir,
            ["Seedance__AdminToken"] = RunningServer.AdminToken,
            ["Seedance__Tasks__DispatchIntervalSeconds"] = "0.05",
            ["Seedance__Channels__0__Name"] = "ark",
            ["Seedance__Channels__0__Provider"] = "ark",
            ["Seedance__Channels__0__BaseUrl"] = ark.BaseUrl,
            ["Seedance__Channels__0__ApiKey"] = ark.ApiKey,
            ["Seedance__Channels__0__Models__seedance-2.0"] = "doubao-seedance-2-0-260128",
            ["Seedance__Models__seedance-2.0-fast__Enabled"] = "false", // the one channel serves one model
            ["Seedance__Channels__0__InlineImages"] = "true",
            ["Seedance__Channels__0__TimeoutSeconds"] = "300",
            ["Seedance__Node__LeaseSeconds"] = "3", // the second server is a new node: it takes the task over when the lease runs out
        };
        try
        {
            string apiKey, taskId;
            await using (var first = await ServerProcess.StartAsync(environment, TimeSpan.FromMinutes(3)))
            {
                var response = await first.Admin.PostAsJsonAsync("/admin/v1/keys", new { name = "crash", credits = 100m });
                var key = (await response.Content.ReadFromJsonAsync<JsonObject>())!["result"]!;
                apiKey = key["api_key"]!.GetValue<string>();
                using var client = new ApiClient(first.BaseUrl, apiKey, key["key"]!["key_id"]!.GetValue<long>());
                taskId = await client.SubmitTextAsync("A glass of water on a train");
                await ServerProbes.WaitUntilAsync(() => Task.FromResult(ark.Tasks.Count == 1), "the upstream to take the task", seconds: 300);
                first.Kill();
            }

            await using var second = await ServerProcess.StartAsync(environment, TimeSpan.FromMinutes(3));
            using var again = new ApiClient(second.BaseUrl, apiKey, 0);
            var task = await again.WaitForAsync(taskId);
            Assert.Equal(("failed", "TASK_SUBMIT_FAILED"), (task.Status(), task["error_code"]!.GetValue<string>()));
            Assert.Equal(1, ark.CreateCalls);
            Assert.Equal(new CreditFigures(100m, 0m, 0m, 100m), await again.CreditsAsync());
        }
        finally { TempDir.Delete(dataDir); }
    }

    /// <summary>The id and task status of the next server-sent event.</summary>
    private static async Task<(string Id, string Status)> NextEventAsync(StreamReader reader)
    {
        string? id = null;
        while (await reader.ReadLineAsync() is { } line)
        {
            if (line.StartsWith("id: ")) id = line[4..];
            else if (line.StartsWith("data: ")) return (id!, JsonNode.Parse(line[6..])!.Status());
        }
        throw new InvalidOperationException("The event stream ended");
    }
}
