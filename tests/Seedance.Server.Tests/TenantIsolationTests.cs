using System.Net;
using System.Net.Http.Headers;
using Seedance.Server.Storage;
using Seedance.Server.Tests.Support;

namespace Seedance.Server.Tests;

/// <summary>One key's tasks, uploads and files are invisible to every other key; result links are signed.</summary>
public sealed class TenantIsolationTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private RunningServer Server => fixture.Server;

    private static Dictionary<string, object> StalledBody() => new()
    {
        ["content"] = new[] { new { type = "text", text = ServerFixture.Stalled } }, ["resolution"] = "480p", ["duration"] = 4,
    };

    [Fact]
    public async Task AnotherKeyCannotReadATaskItDidNotCreate()
    {
        using var a = await Server.CreateKeyAsync(name: "a");
        using var b = await Server.CreateKeyAsync(name: "b");
        var taskId = await a.SubmitTextAsync(ServerFixture.Stalled);

        (await b.GetTaskAsync(taskId)).AssertError(404, "TASK_NOT_FOUND", "Task not found");
        (await a.GetTaskAsync(taskId)).AssertOk();
    }

    [Fact]
    public async Task ABatchReadAnswersTheCallersTasksAmongTheIdsInTheirOrderAndAnotherKeysOrUnknownIdsAreSimplyAbsent()
    {
        using var a = await Server.CreateKeyAsync(name: "a");
        using var b = await Server.CreateKeyAsync(name: "b");
        var first = await a.SubmitTextAsync(ServerFixture.Stalled);
        var failed = await a.SubmitTextAsync("A lighthouse at dusk [sandbox:fail=CONTENT_MODERATION_FAILED]");
        await a.WaitForAsync(failed);
        var others = await b.SubmitTextAsync(ServerFixture.Stalled);
        var unknown = Guid.NewGuid().ToString("N");

        var batch = await a.ListAsync($"?task_ids={failed},{others},{unknown}&task_ids={first},{failed}");
        batch.AssertOk();
        var listed = await a.ListAsync("?page_size=100");
        Assert.Equal([failed, first], batch.Result!["data"]!.AsArray().Select(t => t!["task_id"]!.GetValue<string>()));
        Assert.Equal((2, 1, 4), (batch.Result!["total"]!.GetValue<int>(), batch.Result!["page"]!.GetValue<int>(), batch.Result!["page_size"]!.GetValue<int>()));
        // The same item shape as the list's.
        var item = batch.Result!["data"]![0]!.AsObject();
        var same = listed.Result!["data"]!.AsArray().Single(t => t!["task_id"]!.GetValue<string>() == failed)!.AsObject();
        Assert.Equal(same.Select(p => p.Key), item.Select(p => p.Key));
        Assert.Equal(("failed", "CONTENT_MODERATION_FAILED"), (item["status"]!.GetValue<string>(), item["error_code"]!.GetValue<string>()));

        // With a status filter; and the other key sees only its own.
        Assert.Equal([failed], (await a.ListAsync($"?task_ids={first},{failed}&status=failed")).Result!["data"]!.AsArray()
            .Select(t => t!["task_id"]!.GetValue<string>()));
        var theirs = await b.ListAsync($"?task_ids={first},{failed},{others}");
        Assert.Equal([others], theirs.Result!["data"]!.AsArray().Select(t => t!["task_id"]!.GetValue<string>()));
    }

    [Theory]
    [InlineData("?task_ids=a,,b", "empty items")]
    [InlineData("?task_ids=a%20b", "'a b' is not a task id")]
    [InlineData("?task_ids=abc&page=2", "task_ids cannot be combined with page or page_size")]
    [InlineData("?task_ids=abc&status=done", "status must be one of")]
    public async Task ABatchReadWithABadTaskIdsListIsRefusedNamingTheRule(string query, string message)
    {
        using var a = await Server.CreateKeyAsync(name: "a");
        var refused = await a.ListAsync(query);
        refused.AssertError(400, "INVALID_PARAMETER", message);
    }

    [Fact]
    public async Task ABatchReadOfMoreThanAHundredIdsIsRefused()
    {
        using var a = await Server.CreateKeyAsync(name: "a");
        var refused = await a.ListAsync("?task_ids=" + string.Join(',', Enumerable.Range(0, 101).Select(i => $"t{i}")));
        refused.AssertError(400, "INVALID_PARAMETER", "at most 100 task ids (got 101)");
    }

    [Fact]
    public async Task AFinishedTaskItsOwnerKeepsPollingReadsTheSameAndStaysInvisibleToAnotherKey()
    {
        using var a = await Server.CreateKeyAsync(name: "a");
        using var b = await Server.CreateKeyAsync(name: "b");
        var taskId = await a.SubmitTextAsync("A lighthouse at dusk [sandbox:fail=CONTENT_MODERATION_FAILED]");
        var finished = await a.WaitForAsync(taskId);

        for (var i = 0; i < 3; i++)
        {
            var again = await a.GetTaskAsync(taskId);
            again.AssertOk();
            Assert.Equal(finished.ToJsonString(), again.Result!.ToJsonString());
            (await b.GetTaskAsync(taskId)).AssertError(404, "TASK_NOT_FOUND", "Task not found");
        }
    }

    [Fact]
    public async Task AnotherKeyCannotCancelATaskItDidNotCreate()
    {
        using var a = await Server.CreateKeyAsync(name: "a");
        using var b = await Server.CreateKeyAsync(name: "b");
        var taskId = await a.SubmitTextAsync(ServerFixture.Stalled);

        (await b.CancelAsync(taskId)).AssertError(404, "TASK_NOT_FOUND", "Task not found");
        var task = await a.GetTaskAsync(taskId);
        Assert.NotEqual("cancelled", task.Result!["status"]!.GetValue<string>());
        var balance = await a.BalanceAsync();
        Assert.Equal(3.6m, balance.Result!["reserved_credits"]!.GetValue<decimal>());
    }

    [Fact]
    public async Task AnotherKeysListAndBalanceShowNoneOfTheFirstKeysTasks()
    {
        using var a = await Server.CreateKeyAsync(name: "a", credits: 50);
        using var b = await Server.CreateKeyAsync(name: "b", credits: 50);
        var first = await a.SubmitTextAsync(ServerFixture.Stalled);
        var second = await a.SubmitTextAsync(ServerFixture.Stalled);
        var own = await b.SubmitTextAsync(ServerFixture.Stalled);

        var listA = await a.ListAsync();
        Assert.Equal(2, listA.Result!["total"]!.GetValue<int>());
        Assert.Equal([second, first], listA.Result!["data"]!.AsArray().Select(t => t!["task_id"]!.GetValue<string>()));

        var listB = await b.ListAsync();
        Assert.Equal(1, listB.Result!["total"]!.GetValue<int>());
        Assert.Equal([own], listB.Result!["data"]!.AsArray().Select(t => t!["task_id"]!.GetValue<string>()));
        foreach (var status in new[] { "pending", "queued", "processing" })
        {
            var filtered = await b.ListAsync($"?status={status}");
            Assert.DoesNotContain(filtered.Result!["data"]!.AsArray(), t => t!["task_id"]!.GetValue<string>() is var id && (id == first || id == second));
        }

        var balanceB = await b.BalanceAsync();
        Assert.Equal(3.6m, balanceB.Result!["reserved_credits"]!.GetValue<decimal>());
        Assert.Equal(46.4m, balanceB.Result!["remain_credits"]!.GetValue<decimal>());
    }

    [Fact]
    public async Task AnotherKeyCannotReferenceAFileItDidNotUpload()
    {
        using var a = await Server.CreateKeyAsync(name: "a");
        using var b = await Server.CreateKeyAsync(name: "b");
        var filePath = await a.UploadAsync("scene.png", "image/png", await Media.PngAsync());

        foreach (object value in new object[] { filePath, new { url = filePath } })
        {
            var body = StalledBody();
            body["content"] = new object[] { new { type = "image_url", image_url = value }, new { type = "text", text = ServerFixture.Stalled } };
            var refused = await b.SubmitAsync(body);
            refused.AssertError(400, "INVALID_PARAMETER", $"'{filePath}' is not a file uploaded with this API key");
        }
        var balance = await b.BalanceAsync();
        Assert.Equal(0m, balance.Result!["reserved_credits"]!.GetValue<decimal>());
        Assert.Equal(0, (await b.ListAsync()).Result!["total"]!.GetValue<int>());

        // The owner can still use it: the refused reference did not lock or consume it.
        var ownBody = StalledBody();
        ownBody["content"] = new object[] { new { type = "image_url", image_url = filePath }, new { type = "text", text = ServerFixture.Stalled } };
        (await a.SubmitAsync(ownBody)).AssertOk();
    }

    [Fact]
    public async Task TheSameIdempotencyKeyOnTwoApiKeysCreatesTwoTasks()
    {
        using var a = await Server.CreateKeyAsync(name: "a");
        using var b = await Server.CreateKeyAsync(name: "b");
        var first = await a.SubmitAsync(StalledBody(), idempotencyKey: "order-42");
        var second = await b.SubmitAsync(StalledBody(), idempotencyKey: "order-42");
        first.AssertOk();
        second.AssertOk();
        var taskA = first.Result!["task_id"]!.GetValue<string>();
        var taskB = second.Result!["task_id"]!.GetValue<string>();
        Assert.NotEqual(taskA, taskB);
        (await b.GetTaskAsync(taskB)).AssertOk();
        (await b.GetTaskAsync(taskA)).AssertError(404, "TASK_NOT_FOUND");
    }

    [Fact]
    public async Task ResultDownloadLinksAreSignedAndRefuseAnyChange()
    {
        using var a = await Server.CreateKeyAsync(name: "a");
        var taskId = await a.SubmitTextAsync("A paper boat on a pond", extra: new() { ["return_last_frame"] = true });
        var task = await a.WaitForAsync(taskId);
        Assert.Equal("completed", task["status"]!.GetValue<string>());
        var videoUrl = task["video_url"]!.GetValue<string>();
        var lastFrameUrl = task["last_frame_url"]!.GetValue<string>();

        using var anonymous = new HttpClient();
        var video = await anonymous.GetAsync(videoUrl);
        Assert.Equal(HttpStatusCode.OK, video.StatusCode);
        Assert.Equal("video/mp4", video.Content.Headers.ContentType!.MediaType);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync(lastFrameUrl)).StatusCode);
        var thumbnailUrl = task["thumbnail_url"]!.GetValue<string>();
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync(thumbnailUrl)).StatusCode);

        var tampered = videoUrl[..^1] + (videoUrl[^1] == 'A' ? 'B' : 'A');
        await AssertDeniedAsync(anonymous, tampered);
        await AssertDeniedAsync(anonymous, new Uri(videoUrl).GetLeftPart(UriPartial.Path));
        // The video's signature does not open the last frame beside it.
        await AssertDeniedAsync(anonymous, new Uri(lastFrameUrl).GetLeftPart(UriPartial.Path) + new Uri(videoUrl).Query);
        await AssertDeniedAsync(anonymous, new Uri(thumbnailUrl).GetLeftPart(UriPartial.Path) + new Uri(videoUrl).Query);
        await AssertDeniedAsync(anonymous, new Uri(thumbnailUrl).GetLeftPart(UriPartial.Path));

        if (Server.Bucket is not null) return; // the bucket's presigned links expire as S3StorageTests shows; the rest is this server's own signing
        var signer = Server.Services.GetRequiredService<UrlSigner>();
        var path = new Uri(videoUrl).AbsolutePath;
        var expired = $"{Server.BaseUrl}{path}?{signer.Sign("GET", path, DateTimeOffset.UtcNow.AddSeconds(-5))}";
        await AssertDeniedAsync(anonymous, expired);
    }

    [Fact]
    public async Task ResultDownloadsServeByteRanges()
    {
        using var a = await Server.CreateKeyAsync(name: "a");
        var taskId = await a.SubmitTextAsync("A kite over a beach");
        var task = await a.WaitForAsync(taskId);
        Assert.Equal("completed", task["status"]!.GetValue<string>());

        using var anonymous = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, task["video_url"]!.GetValue<string>());
        request.Headers.Range = new RangeHeaderValue(0, 7);
        var response = await anonymous.SendAsync(request);
        Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
        var head = await response.Content.ReadAsByteArrayAsync();
        Assert.Equal(8, head.Length);
        Assert.Equal("ftyp"u8.ToArray(), head[4..8]);
    }

    private async Task AssertDeniedAsync(HttpClient http, string url)
    {
        if (Server.Bucket is not null)
        {
            Assert.Equal(HttpStatusCode.Forbidden, (await http.GetAsync(url)).StatusCode); // the store's own AccessDenied / SignatureDoesNotMatch
            return;
        }
        var response = await ApiResponse.From(await http.GetAsync(url));
        response.AssertError(403, "ACCESS_DENIED");
    }
}
