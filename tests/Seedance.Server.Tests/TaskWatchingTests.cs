using System.Diagnostics;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Seedance.Server.Tests.Support;

namespace Seedance.Server.Tests;

/// <summary>Waiting for a task without polling: long-poll and server-sent events.</summary>
[TakesAbout(45)]
public sealed class TaskWatchingTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private RunningServer Server => fixture.Server;

    [Fact]
    public async Task AKeyHoldsAtMostItsNumberOfOpenLongPollsAndEventStreamsAndOneMoreIsRefusedWith429UntilOneEnds()
    {
        await using var server = await RunningServer.StartAsync(new() { ["Seedance:Keys:MaxOpenWatches"] = "2" });
        using var client = await server.CreateKeyAsync(credits: 100);
        using var other = await server.CreateKeyAsync(credits: 100, name: "other");
        var id = await client.SubmitTextAsync(ServerFixture.Stalled);
        var otherId = await other.SubmitTextAsync(ServerFixture.Stalled);
        var watches = server.Services.GetRequiredService<Seedance.Server.Tasks.WatchLimit>();

        using var ending = new CancellationTokenSource();
        var first = client.Http.GetAsync($"/api/v1/video/task/{id}?wait=60", ending.Token);
        var stream = await client.Http.SendAsync(new HttpRequestMessage(HttpMethod.Get, $"/api/v1/video/task/{id}/events"), HttpCompletionOption.ResponseHeadersRead);
        await ServerProbes.WaitUntilAsync(() => Task.FromResult(watches.OpenFor(client.KeyId) == 2), "both watches open");

        var refusedPoll = await ApiResponse.From(await client.Http.GetAsync($"/api/v1/video/task/{id}?wait=5"));
        var refusedStream = await ApiResponse.From(await client.Http.GetAsync($"/api/v1/video/task/{id}/events"));
        var plainPoll = await client.GetTaskAsync(id); // a poll without wait holds nothing open
        var othersPoll = other.Http.GetAsync($"/api/v1/video/task/{otherId}?wait=1");

        foreach (var refused in new[] { refusedPoll, refusedStream })
        {
            refused.AssertError(429, "RATE_LIMIT_EXCEEDED");
            Assert.Equal("Rate limit exceeded: at most 2 long-polls and event streams may be open at once for this key", refused.Message);
            Assert.Equal("1", refused.Raw.Headers.GetValues("Retry-After").Single());
        }
        plainPoll.AssertOk();
        (await ApiResponse.From(await othersPoll)).AssertOk();

        await ending.CancelAsync(); // the first long-poll's client goes away: its place is given back
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first);
        await ServerProbes.WaitUntilAsync(() => Task.FromResult(watches.OpenFor(client.KeyId) == 1), "the ended long-poll's place given back");
        (await ApiResponse.From(await client.Http.GetAsync($"/api/v1/video/task/{id}?wait=1"))).AssertOk();
        stream.Dispose();
        await ServerProbes.WaitUntilAsync(() => Task.FromResult(watches.OpenFor(client.KeyId) == 0), "the closed stream's place given back");
    }

    [Fact]
    public async Task ALongPollAnswersWhenTheTaskCompletesNotWhenTheWaitEnds()
    {
        using var client = await Server.CreateKeyAsync(credits: 100);
        var id = await client.SubmitTextAsync("A slow sunrise [sandbox:delay=2]");

        var clock = Stopwatch.StartNew();
        var response = await ApiResponse.From(await client.Http.GetAsync($"/api/v1/video/task/{id}?wait=50"));
        clock.Stop();

        response.AssertOk();
        Assert.Equal("completed", response.Result!.Status());
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(50), "answered at completion, not at the end of the wait");
    }

    [Fact]
    public async Task ALongPollOnATaskThatDoesNotFinishAnswersWithItsStatusWhenTheWaitEnds()
    {
        using var client = await Server.CreateKeyAsync(credits: 100);
        var id = await client.SubmitTextAsync(ServerFixture.Stalled);

        var response = await ApiResponse.From(await client.Http.GetAsync($"/api/v1/video/task/{id}?wait=1"));

        response.AssertOk();
        Assert.Contains(response.Result!.Status(), new[] { "pending", "queued", "processing" });
    }

    [Fact]
    public async Task ALongPollWhoseChangeWasNeverHeardAnswersWithTheTaskAsItIsWhenTheWaitEnds()
    {
        using var client = await Server.CreateKeyAsync(credits: 100);
        var id = await client.SubmitTextAsync(ServerFixture.Stalled);
        await client.WaitForAsync(id, "queued", "processing");
        // As a change made on another node whose signal was lost: in the database, with no event in this process.
        await Server.WriteDirectlyAsync(db => db.Tasks.Where(t => t.TaskId == id)
            .ExecuteUpdateAsync(s => s.SetProperty(t => t.ErrorMessage, "changed elsewhere")));

        var response = await ApiResponse.From(await client.Http.GetAsync($"/api/v1/video/task/{id}?wait=1"));

        response.AssertOk();
        Assert.Equal("changed elsewhere", response.Result!["error_message"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("61")]
    [InlineData("-1")]
    [InlineData("soon")]
    [InlineData("1.5")]
    public async Task AWaitOutsideZeroToSixtySecondsIsRefused(string wait)
    {
        using var client = await Server.CreateKeyAsync(credits: 100);
        var id = await client.SubmitTextAsync(ServerFixture.Stalled);

        (await ApiResponse.From(await client.Http.GetAsync($"/api/v1/video/task/{id}?wait={wait}")))
            .AssertError(400, "INVALID_PARAMETER", "wait must be an integer of seconds from 0 to 60");
    }

    [Fact]
    public async Task AnotherKeysTaskCanBeNeitherLongPolledNorStreamed()
    {
        using var owner = await Server.CreateKeyAsync(credits: 100);
        using var stranger = await Server.CreateKeyAsync(credits: 100);
        var id = await owner.SubmitTextAsync(ServerFixture.Stalled);

        (await ApiResponse.From(await stranger.Http.GetAsync($"/api/v1/video/task/{id}?wait=1"))).AssertError(404, "TASK_NOT_FOUND");
        (await ApiResponse.From(await stranger.Http.GetAsync($"/api/v1/video/task/{id}/events"))).AssertError(404, "TASK_NOT_FOUND");
    }

    [Fact]
    public async Task TheEventStreamDeliversEachStatusChangeInOrderAndEndsAfterTheTerminalOne()
    {
        using var client = await Server.CreateKeyAsync(credits: 100);
        var id = await client.SubmitTextAsync("Clouds gather [sandbox:delay=2]");

        var events = (await ReadStreamAsync(client, id)).Where(e => e.Event == "status").ToList();

        Assert.Equal(events.Select(e => e.Id).Order(), events.Select(e => e.Id));
        Assert.Equal(events.Count, events.Select(e => e.Id).Distinct().Count());
        Assert.Contains("processing", events.Select(e => e.Data.Status()));
        Assert.Equal("completed", events[^1].Data.Status());
        Assert.NotNull(events[^1].Data["video_url"]?.GetValue<string>());
        Assert.Equal(4, events[^1].Id);
    }

    [Fact]
    public async Task AReconnectWithLastEventIdResumesAfterWhatTheClientHasSeen()
    {
        using var client = await Server.CreateKeyAsync(credits: 100);
        var id = await client.SubmitTextAsync("Rain on glass");
        await client.WaitForAsync(id);

        var afterProcessing = await ReadStreamAsync(client, id, lastEventId: "3");
        var afterEnd = await ReadStreamAsync(client, id, lastEventId: "4");

        Assert.Equal([4], afterProcessing.Select(e => e.Id ?? 0));
        Assert.Equal("completed", afterProcessing[0].Data.Status());
        Assert.Empty(afterEnd);
    }

    [Fact]
    public async Task TheEventStreamCarriesWhereTheTaskStandsAndItsProgressEveryFiveSecondsWhileProcessing()
    {
        using var client = await Server.CreateKeyAsync(credits: 100);
        // A history of this kind of task (480p, 4 s) on this server, so there is something to estimate from.
        var quick = new List<string>();
        for (var i = 0; i < 3; i++) quick.Add(await client.SubmitTextAsync($"A quick one {i}"));
        foreach (var done in quick) await client.WaitForAsync(done);
        var id = await client.SubmitTextAsync("A long take [sandbox:delay=10]");

        var events = await ReadStreamAsync(client, id);

        string[] fields = ["queue_position", "estimated_finish_at", "progress"];
        Assert.All(events, e => Assert.All(fields, f => Assert.True(e.Data.AsObject().ContainsKey(f), $"{e.Event} event without {f}")));
        var processing = Assert.Single(events, e => e.Event == "status" && e.Data.Status() == "processing");
        Assert.NotNull(processing.Data["estimated_finish_at"]);
        var progress = events.SkipWhile(e => e != processing).Where(e => e.Event == "progress").ToList();
        Assert.NotEmpty(progress); // about 9 s of processing: one every 5 s
        Assert.All(progress, e => Assert.Null(e.Id));
        Assert.All(progress, e => Assert.Equal("processing", e.Data.Status()));
        var shown = events.Select(e => e.Data["progress"]?.GetValue<int>()).OfType<int>().ToList();
        Assert.Equal(shown.Order(), shown);
        Assert.All(events.Where(e => e.Data.Status() != "completed"), e => Assert.True(e.Data["progress"]?.GetValue<int>() is null or < 100));
        Assert.Equal(100, events[^1].Data["progress"]!.GetValue<int>());
        Assert.Equal("completed", events[^1].Data.Status());
    }

    /// <summary>An event of the stream: a status change has an id, a progress event none.</summary>
    private sealed record StreamEvent(int? Id, string Event, JsonNode Data);

    private static async Task<List<StreamEvent>> ReadStreamAsync(ApiClient client, string taskId, string? lastEventId = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/v1/video/task/{taskId}/events");
        if (lastEventId is not null) request.Headers.Add("Last-Event-ID", lastEventId);
        using var response = await client.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType!.MediaType);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        var events = new List<StreamEvent>();
        int? id = null;
        string? name = null;
        while (await reader.ReadLineAsync() is { } line)
        {
            if (line.StartsWith("id: ")) id = int.Parse(line[4..]);
            else if (line.StartsWith("event: ")) name = line[7..];
            else if (line.StartsWith("data: "))
            {
                events.Add(new StreamEvent(id, name!, JsonNode.Parse(line[6..])!));
                (id, name) = (null, null);
            }
        }
        return events;
    }
}
