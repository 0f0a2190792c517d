using Seedance.Server.Data;
using Seedance.Server.Tests.Support;

namespace Seedance.Server.Tests;

/// <summary>The failures a task can meet after it was accepted, driven by the sandbox's test directives.</summary>
public sealed class UpstreamFailureTests
{
    private const decimal Cost = 3.6m; // seedance-2.0, 480p, 4 s

    [Fact]
    public async Task AnUpstreamThatKeepsRefusingTheHandOverFailsTheTaskWithTaskSubmitFailedUncharged()
    {
        // The second attempt comes 2 s after the first: the clock is moved on to it rather than waited out.
        var clock = new JumpingClock();
        await using var server = await RunningServer.StartAsync(new() { ["Seedance:Tasks:MaxSubmitAttempts"] = "2", ["Seedance:Node:LeaseSeconds"] = "3600" },
            services: clock.Use);
        using var client = await server.CreateKeyAsync(credits: 10);

        var taskId = await client.SubmitTextAsync("A harbour at night [sandbox:busy]");
        await server.SkipRetryWaitsUntilAsync(clock, client.KeyId, async () => IsTerminal(await client.GetTaskAsync(taskId)), "the task to fail");
        var task = await client.WaitForAsync(taskId);

        Assert.Equal("failed", task.Status());
        Assert.Equal("TASK_SUBMIT_FAILED", task["error_code"]!.GetValue<string>());
        Assert.Equal(new CreditFigures(10m, 0m, 0m, 10m), await client.CreditsAsync());
        var rows = await server.TaskRowsAsync(client.KeyId);
        Assert.Equal(2, rows.Single().DispatchAttempts + 1);
        Assert.Null(rows.Single().UpstreamTaskId);
        Assert.Equal([(LedgerKind.Reserve, Cost), (LedgerKind.Release, Cost)],
            (await server.LedgerRowsAsync(client.KeyId)).Where(l => l.TaskId == taskId).Select(l => (l.Kind, l.Amount)));
    }

    [Fact]
    public async Task AResultThatCannotBeCopiedAfterRetriesFailsTheTaskWithVideoDownloadFailedUncharged()
    {
        await using var server = await RunningServer.StartAsync();
        using var client = await server.CreateKeyAsync(credits: 10);

        var taskId = await client.SubmitTextAsync("A lantern festival [sandbox:lose_result]");
        var task = await client.WaitForAsync(taskId);

        Assert.Equal("failed", task.Status());
        Assert.Equal("VIDEO_DOWNLOAD_FAILED", task["error_code"]!.GetValue<string>());
        Assert.Null(task["video_url"]);
        Assert.Equal(new CreditFigures(10m, 0m, 0m, 10m), await client.CreditsAsync());
        Assert.True((await server.StoredFilesAsync($"results/{taskId}/")).Count == 0, "no partial result is kept");
    }

    [Fact]
    public async Task AFailDirectiveNamingNoDocumentedCodeFailsWithInternalError()
    {
        await using var server = await RunningServer.StartAsync();
        using var client = await server.CreateKeyAsync(credits: 10);

        var task = await client.WaitForAsync(await client.SubmitTextAsync("A desert road [sandbox:fail=NOT_A_CODE]"));

        Assert.Equal("failed", task.Status());
        Assert.Equal("INTERNAL_ERROR", task["error_code"]!.GetValue<string>());
        Assert.Contains("NOT_A_CODE", task["error_message"]!.GetValue<string>());
    }

    [Fact]
    public async Task AnIdleKeyWithNoBacklogAllowanceStillStartsAsManyTasksAsItsConcurrencyLimit()
    {
        await using var server = await RunningServer.StartAsync(new() { ["Seedance:Tasks:DispatchIntervalSeconds"] = "30" });
        using var client = await server.CreateKeyAsync(credits: 100, maxConcurrent: 3, maxPending: 0);

        // The dispatcher is idle for 30 s: all three wait as pending, yet none is over the concurrency limit.
        for (var i = 0; i < 3; i++) await client.SubmitTextAsync($"Task {i} [sandbox:stall]");
        var fourth = await client.SubmitAsync(new { content = new[] { new { type = "text", text = "One too many" } } });

        fourth.AssertError(429, "CONCURRENCY_LIMIT_REACHED");
        Assert.Equal(3, (await server.TaskRowsAsync(client.KeyId)).Count);
        Assert.Equal(3 * Cost, (await client.CreditsAsync()).Reserved);
    }

    [Fact]
    public async Task AResultLinkAnswersHeadWithItsLengthAndType()
    {
        await using var server = await RunningServer.StartAsync();
        using var client = await server.CreateKeyAsync(credits: 10);
        var task = await client.WaitForAsync(await client.SubmitTextAsync("A quiet lake"));
        var url = task["video_url"]!.GetValue<string>();

        using var http = new HttpClient();
        var head = await http.SendAsync(new HttpRequestMessage(HttpMethod.Head, url));
        var body = await http.GetByteArrayAsync(url);
        if (server.Bucket is not null)
        {
            // An S3 presigned link is signed for GET alone (the method is part of the signature): the store refuses HEAD, as S3 does.
            Assert.Equal(System.Net.HttpStatusCode.Forbidden, head.StatusCode);
            return;
        }

        Assert.Equal(System.Net.HttpStatusCode.OK, head.StatusCode);
        Assert.Equal("video/mp4", head.Content.Headers.ContentType!.MediaType);
        Assert.Equal(body.Length, head.Content.Headers.ContentLength);
    }

    private static bool IsTerminal(ApiResponse task) => ServerProbes.Terminal.Contains(task.Result!.Status());
}
