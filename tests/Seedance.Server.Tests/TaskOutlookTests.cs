using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Seedance.Server.Data;
using Seedance.Server.Tests.Support;

namespace Seedance.Server.Tests;

/// <summary>
/// Where a task stands, through HTTP: a pending task's place in its key's line, and the estimates of when it finishes and
/// how far it has got, which this server makes only from the completions it measured. One server for the class (each
/// test keeps to its own keys, and to a kind of task (resolution, duration) no other test of the class completes).
/// </summary>
public sealed class TaskOutlookTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private RunningServer Server => fixture.Server;

    [Fact]
    public async Task PendingTasksKnowTheirExactPlaceInTheKeysLineAndMoveUpAsTasksAreHandedOver()
    {
        using var client = await Server.CreateKeyAsync(credits: 100, maxConcurrent: 1);
        var first = await client.SubmitTextAsync("Holds the only slot for a while [sandbox:delay=3]");
        await client.WaitForAsync(first, "queued", "processing");
        var waiting = new List<string>();
        for (var i = 0; i < 3; i++) waiting.Add(await client.SubmitTextAsync($"Waits its turn {i} [sandbox:stall]"));

        await AssertPlacesAsync(client, waiting, [0, 1, 2]);
        Assert.Null((await client.GetTaskAsync(first)).Result!["queue_position"]);

        await client.WaitForAsync(first, "completed");
        await client.WaitForAsync(waiting[0], "queued", "processing"); // handed over: the others move up
        Assert.Null((await client.GetTaskAsync(waiting[0])).Result!["queue_position"]);
        await AssertPlacesAsync(client, waiting[1..], [0, 1]);

        (await client.CancelAsync(waiting[1])).AssertOk();
        await AssertPlacesAsync(client, waiting[2..], [0]);
    }

    /// <summary>The places as a task's GET, the list and the batch read show them.</summary>
    private static async Task AssertPlacesAsync(ApiClient client, List<string> ids, int[] places)
    {
        foreach (var (id, place) in ids.Zip(places))
        {
            var task = (await client.GetTaskAsync(id)).Result!;
            Assert.Equal("pending", task.Status());
            Assert.Equal(place, task["queue_position"]!.GetValue<int>());
        }
        var listed = (await client.ListAsync("?status=pending")).Result!["data"]!.AsArray();
        Assert.Equal(places.AsEnumerable().Reverse(), listed.Select(t => t!["queue_position"]!.GetValue<int>())); // newest first
        var batch = (await client.ListAsync($"?task_ids={string.Join(',', ids)}")).Result!["data"]!.AsArray();
        Assert.Equal(places, batch.Select(t => t!["queue_position"]!.GetValue<int>()));
    }

    [Fact]
    public async Task EstimatesAppearOnlyOnceTheServerHasMeasuredCompletionsOfThatKindAndComeFromThem()
    {
        using var client = await Server.CreateKeyAsync(credits: 1000, maxConcurrent: 1);
        var running = await client.SubmitTextAsync("Never ends [sandbox:stall]", duration: 6, resolution: "720p");
        await client.WaitForAsync(running, "processing");
        var before = (await client.GetTaskAsync(running)).Result!;
        Assert.Null(before["estimated_finish_at"]);
        Assert.Null(before["progress"]);
        Assert.Null(before["queue_position"]);

        using var other = await Server.CreateKeyAsync(credits: 1000);
        var measured = new List<string>();
        for (var i = 0; i < 3; i++) measured.Add(await other.SubmitTextAsync($"A short film {i}", duration: 6, resolution: "720p"));
        foreach (var id in measured) Assert.Equal("completed", (await other.WaitForAsync(id)).Status());
        var rows = (await Server.TaskRowsAsync(other.KeyId)).Where(t => measured.Contains(t.TaskId)).ToList();
        var median = Median(rows.Select(t => (t.FinishedAt!.Value - t.QueuedAt!.Value).TotalSeconds).ToList());
        var queuedAt = (await Server.TaskRowsAsync(client.KeyId)).Single(t => t.TaskId == running).QueuedAt!.Value;

        var from = DateTime.UtcNow;
        var now = (await client.GetTaskAsync(running)).Result!;
        var to = DateTime.UtcNow;
        // The median run after its hand-over, or (overdue) any moment now; in whole seconds.
        AssertTimeBetween(Later(queuedAt.AddSeconds(median), from), Later(queuedAt.AddSeconds(median), to), now["estimated_finish_at"]);
        Assert.InRange(now["progress"]!.GetValue<int>(), 0, 99);

        // A task waiting for the key's one slot: half a run for the running task to free it (on average; a run of any kind,
        // the median of every completion here), then its own run.
        var every = Median(await Server.QueryAsync(db => db.Tasks.AsNoTracking().Where(t => t.Status == VideoTaskStatus.Completed && t.QueuedAt != null)
            .Select(t => (t.FinishedAt!.Value - t.QueuedAt!.Value).TotalSeconds).ToListAsync()));
        from = DateTime.UtcNow;
        var pending = (await client.GetTaskAsync(await client.SubmitTextAsync("Waits", duration: 6, resolution: "720p"))).Result!;
        to = DateTime.UtcNow;
        Assert.Equal("pending", pending.Status());
        Assert.Equal(0, pending["queue_position"]!.GetValue<int>());
        Assert.Equal(0, pending["progress"]!.GetValue<int>());
        AssertTimeBetween(from.AddSeconds(every / 2 + median), to.AddSeconds(every / 2 + median), pending["estimated_finish_at"]);
    }

    private static double Median(List<double> values)
    {
        values.Sort();
        return values.Count % 2 == 1 ? values[values.Count / 2] : (values[values.Count / 2 - 1] + values[values.Count / 2]) / 2;
    }

    private static DateTime Later(DateTime a, DateTime b) => a > b ? a : b;

    private static void AssertTimeBetween(DateTime from, DateTime to, JsonNode? shown)
    {
        var at = DateTime.Parse(shown!.GetValue<string>(), CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal);
        Assert.InRange(at, from.AddSeconds(-1), to); // shown in whole seconds, cut
    }
}
