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
/// Several server processes on one PostgreSQL database share the work: each task is handed over and tracked
/// by one node at a time, under load and through a kill, and a live node keeps its own however slow.
/// (CrossNodeTests has the rest of the story, in a class of its own so the two can run side by side.)
/// </summary>
[TakesAbout(110)]
public sealed class WorkSharingTests(ITestOutputHelper output)
{
    private const decimal Cost = 3.6m; // seedance-2.0, 480p, 4 s

    [PostgresPassFact]
    public async Task FourHundredTasksThroughThreeNodesWithOneKilledMidwayAllEndSubmittedOnceChargedOnceAndCalledBack()
    {
        const int total = 400, keyCount = 5, parallel = 12;
        var watch = Stopwatch.StartNew();
        await ArkEmulator.PrerenderMediaAsync();
        await using var ark = await ArkEmulator.StartAsync();
        ark.Timing.QueuedFor = TimeSpan.FromSeconds(1);
        ark.Timing.RunningFor = TimeSpan.FromSeconds(2); // long enough that the killed node holds work in flight
        await using var receiver = await WebhookReceiver.StartAsync();
        // Posters are ThumbnailTests' subject: here they would be 400 ffmpeg runs, each after a download from the bucket.
        await using var cluster = await ServerCluster.StartAsync(3, ark, leaseSeconds: 3, new() { ["Seedance__Tasks__Thumbnails"] = "false" });
        var keys = new List<(string ApiKey, long KeyId)>();
        for (var k = 0; k < keyCount; k++) keys.Add(await cluster.CreateKeyAsync($"tenant-{k}", 10_000m, maxConcurrent: 40, maxPending: total));
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(150) };
        var client = new SpreadClient(cluster, http);

        var tasks = new ConcurrentDictionary<string, (long KeyId, int Index)>();
        var cancelled = new ConcurrentBag<string>();
        var submittedCount = 0;
        var heldByKilledNode = 0;
        var killer = Task.Run(async () =>
        {
            while (Volatile.Read(ref submittedCount) < total / 2) await Task.Delay(20);
            heldByKilledNode = (await cluster.LeaseOwnersAsync()).Count(o => o.Value == ServerCluster.NodeId(2));
            await cluster.KillAsync(2);
            output.WriteLine($"{watch.Elapsed.TotalSeconds:0.0} s: node-c killed holding {heldByKilledNode} tasks");
            await Task.Delay(2000);
            await cluster.StartNodeAsync(2);
            output.WriteLine($"{watch.Elapsed.TotalSeconds:0.0} s: node-c started again");
        });

        await Parallel.ForEachAsync(Enumerable.Range(0, total), new ParallelOptions { MaxDegreeOfParallelism = parallel }, async (i, _) =>
        {
            var (apiKey, keyId) = keys[i % keyCount];
            var prompt = $"Shot {i} of a harbour at dawn" + (i % 20 == 7 ? " [ark:fail=OutputVideoSensitiveContentDetected]" : "");
            var body = new Dictionary<string, object>
            {
                ["content"] = new[] { new { type = "text", text = prompt } }, ["duration"] = 4, ["resolution"] = "480p", ["callback_url"] = receiver.Url,
            };
            // Through the node of its turn; a node that does not answer is passed over, with the same Idempotency-Key.
            var submitted = await client.SendAsync(i, HttpMethod.Post, "/api/v1/video/task", apiKey, body, idempotencyKey: $"shot-{i}");
            submitted.AssertOk();
            var taskId = submitted.Result!["task_id"]!.GetValue<string>();
            tasks[taskId] = (keyId, i);
            Interlocked.Increment(ref submittedCount);

            (await client.SendAsync(i + 1, HttpMethod.Get, $"/api/v1/video/task/{taskId}", apiKey)).AssertOk();
            if (i % 10 == 3)
            {
                var cancel = await client.SendAsync(i + 2, HttpMethod.Post, $"/api/v1/video/task/{taskId}/cancel", apiKey);
                if (cancel.Status == 200) cancelled.Add(taskId);
                else cancel.AssertError(400, "TASK_CANCEL_NOT_ALLOWED");
            }
        });
        await killer;
        var submittedIn = watch.Elapsed;

        // Every task ends: long-polls spread over the nodes.
        var final = new ConcurrentDictionary<string, JsonNode>();
        await Parallel.ForEachAsync(tasks, new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (entry, _) =>
        {
            var apiKey = keys.Single(k => k.KeyId == entry.Value.KeyId).ApiKey;
            for (var round = 0; round < 20; round++)
            {
                var task = await client.SendAsync(entry.Value.Index + round, HttpMethod.Get, $"/api/v1/video/task/{entry.Key}?wait=30", apiKey);
                task.AssertOk();
                if (ServerProbes.Terminal.Contains(task.Result!.Status()))
                {
                    final[entry.Key] = task.Result!;
                    return;
                }
            }
            Assert.Fail($"Task {entry.Key} did not end");
        });
        var endedIn = watch.Elapsed;
        await ServerProbes.WaitUntilAsync(async () =>
            (long)(await cluster.QueryAsync("SELECT count(*) AS n FROM webhook_deliveries WHERE status <> 'delivered'"))[0]["n"]! == 0,
            "every callback delivered", seconds: 300);

        // Submitted upstream once: never twice, and exactly once for every completed task.
        Assert.Equal(total, tasks.Count);
        // (Each prompt names its submission: "Shot {i} ...".)
        var creates = ark.CreateBodies
            .Select(b => int.Parse(JsonNode.Parse(b)!["content"]![0]!["text"]!.GetValue<string>().Split(' ')[1]))
            .GroupBy(i => i).ToDictionary(g => g.Key, g => g.Count());
        Assert.All(creates, c => Assert.True(c.Value == 1, $"submission {c.Key} was handed upstream {c.Value} times"));
        var byStatus = final.GroupBy(f => f.Value.Status()).ToDictionary(g => g.Key, g => g.Select(f => f.Key).ToList());
        foreach (var id in byStatus.GetValueOrDefault("completed", []))
            Assert.True(creates.ContainsKey(tasks[id].Index), $"completed task {id} was never handed upstream");
        Assert.All(cancelled, id => Assert.Equal("cancelled", final[id].Status()));

        // Charged once: per task exactly one reserve, then one capture (completed) or one release (anything else).
        var ledger = (await cluster.QueryAsync("SELECT task_id, kind, amount FROM credit_ledger WHERE task_id IS NOT NULL"))
            .GroupBy(r => (string)r["task_id"]!).ToDictionary(g => g.Key, g => g.Select(r => ((string)r["kind"]!, (long)r["amount"]!)).OrderBy(m => m.Item1).ToList());
        foreach (var (id, task) in final)
        {
            var ending = task.Status() == "completed" ? "capture" : "release";
            Assert.Equal([(ending, 360L), ("reserve", 360L)], ledger[id].OrderBy(m => m.Item1 == "reserve").ToList());
        }
        Assert.Equal(total, ledger.Count);

        // The invariant per key, by the API and in the database.
        foreach (var (apiKey, keyId) in keys)
        {
            var figures = CreditFigures.Of((await client.SendAsync((int)keyId, HttpMethod.Get, "/api/v1/video/balance", apiKey)).Result!);
            figures.AssertBalanced();
            var completed = final.Count(f => tasks[f.Key].KeyId == keyId && f.Value.Status() == "completed");
            Assert.Equal((10_000m, Cost * completed, 0m), (figures.Total, figures.Used, figures.Reserved));
            var row = (await cluster.QueryAsync("SELECT total_credits, used_credits, reserved_credits FROM api_keys WHERE id = @id", ("id", keyId))).Single();
            Assert.Equal((1_000_000L, 360L * completed, 0L), ((long)row["total_credits"]!, (long)row["used_credits"]!, (long)row["reserved_credits"]!));
        }

        // Every callback delivered, carrying the task as it ended.
        var deliveries = await cluster.QueryAsync("SELECT task_id, webhook_id, status FROM webhook_deliveries");
        Assert.Equal(total, deliveries.Count);
        var received = receiver.Received.GroupBy(r => r.Id).ToDictionary(g => g.Key, g => g.ToList());
        foreach (var delivery in deliveries)
        {
            var taskId = (string)delivery["task_id"]!;
            Assert.Equal("delivered", (string)delivery["status"]!);
            var body = JsonNode.Parse(received[(string)delivery["webhook_id"]!].First().Body)!;
            Assert.Equal((taskId, final[taskId].Status()), (body["task_id"]!.GetValue<string>(), body.Status()));
        }

        var interrupted = final.Count(f => f.Value["error_message"]?.GetValue<string>() == "Task submission was interrupted, please retry");
        output.WriteLine($"{total} tasks: {string.Join(", ", byStatus.Select(s => $"{s.Value.Count} {s.Key}"))}; " +
                         $"{cancelled.Count} cancels accepted; {interrupted} hand-overs interrupted by the kill; node-c held {heldByKilledNode} tasks when killed; " +
                         $"{receiver.Received.Count} callback POSTs for {deliveries.Count} callbacks; submitted in {submittedIn.TotalSeconds:0.0} s, " +
                         $"all ended in {endedIn.TotalSeconds:0.0} s, callbacks done in {watch.Elapsed.TotalSeconds:0.0} s");
        Assert.True(heldByKilledNode > 0, "the killed node held no work, so nothing was taken over");
        Assert.True(byStatus.GetValueOrDefault("completed", []).Count > total / 2, "most tasks complete");
    }

    [PostgresPassFact]
    public async Task ANodeThatKeepsHeartbeatingKeepsItsTasksWhileItsUpstreamCallsTakeLongerThanTheLease()
    {
        await using var ark = await ArkEmulator.StartAsync();
        await using var cluster = await ServerCluster.StartAsync(2, ark, leaseSeconds: 1.5, new Dictionary<string, string>
        {
            ["Seedance__Channels__0__TimeoutSeconds"] = "30",
        });
        var (apiKey, _) = await cluster.CreateKeyAsync("slow", 1000m, maxConcurrent: 10, maxPending: 10);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(150) };
        var client = new SpreadClient(cluster, http);
        ark.Faults.Latency = TimeSpan.FromSeconds(4.5); // every create, check and download takes three lease times

        var ids = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            var response = await client.SendAsync(i, HttpMethod.Post, "/api/v1/video/task", apiKey,
                new { content = new[] { new { type = "text", text = $"A slow pan {i}" } }, duration = 4, resolution = "480p" });
            response.AssertOk();
            ids.Add(response.Result!["task_id"]!.GetValue<string>());
        }

        // Until every task ends, whoever holds a task holds it to the end.
        var owners = ids.ToDictionary(id => id, _ => new HashSet<string>());
        var seen = ids.ToDictionary(id => id, _ => new List<string>()); // what each poll saw of the task, for a failure's message
        while (true)
        {
            var held = await cluster.QueryAsync("SELECT task_id, status, lease_owner FROM video_tasks");
            foreach (var row in held)
            {
                var (id, status, owner) = ((string)row["task_id"]!, (string)row["status"]!, (string?)row["lease_owner"]);
                if (owner is not null && VideoTaskStatus.NonTerminal.Contains(status)) owners[id].Add(owner);
                var state = $"{status}@{owner ?? "-"}";
                if (seen[id].LastOrDefault() != state) seen[id].Add(state);
            }
            if (held.All(r => VideoTaskStatus.IsTerminal((string)r["status"]!))) break;
            await Task.Delay(100);
        }
        foreach (var id in ids)
        {
            Assert.True(owners[id].Count == 1, $"task {id} was held by {string.Join(", ", owners[id])}; seen: {string.Join(" > ", seen[id])}");
            Assert.Equal("completed", (await client.SendAsync(0, HttpMethod.Get, $"/api/v1/video/task/{id}", apiKey)).Result!.Status());
        }
        // Nobody else handed it over or copied its result beside the holder.
        Assert.Equal(ids.Count, ark.CreateCalls);
        var downloads = ark.Requests.Where(r => r.Method == "GET" && r.Path.StartsWith("/results/")).Select(r => r.Path.Split('?')[0]).ToList();
        Assert.Equal(ids.Count, downloads.Count(d => d.EndsWith("/video.mp4")));
        Assert.Equal(downloads.Count, downloads.Distinct().Count());
    }
}
