using System.Net;
using Seedance.Server.Tests.Support;

namespace Seedance.Server.Tests;

/// <summary>
/// <c>DELETE /api/v1/video/task/{task_id}</c>: a finished task's files go and every link to them answers 404 at once (on
/// local storage and in the bucket alike), the task stays listed with its cost, and the ledger does not move.
/// </summary>
public sealed class ResultDeletionTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private RunningServer Server => fixture.Server;

    [Fact]
    public async Task DeletingAFinishedTasksResultsMakesEveryLinkAnswer404AtOnceAndKeepsTheTaskItsCostAndTheLedger()
    {
        using var client = await Server.CreateKeyAsync(credits: 100);
        var taskId = await client.SubmitTextAsync("A paper boat on a pond", extra: new() { ["return_last_frame"] = true });
        var task = await client.WaitForAsync(taskId);
        Assert.Equal("completed", task.Status());
        var links = new[] { task["video_url"]!.GetValue<string>(), task["last_frame_url"]!.GetValue<string>(), task["thumbnail_url"]!.GetValue<string>() };
        using var anonymous = new HttpClient();
        foreach (var link in links) Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync(link)).StatusCode);
        (await client.GetTaskAsync(taskId)).AssertOk(); // a finished task's answer is now kept in memory: the deletion must reach it
        var ledgerBefore = (await ApiResponse.From(await Server.Admin.GetAsync($"/admin/v1/keys/{client.KeyId}/ledger"))).Result!["total"]!.GetValue<int>();

        var deleted = await ApiResponse.From(await client.Http.DeleteAsync($"/api/v1/video/task/{taskId}"));

        deleted.AssertOk();
        Assert.Equal((taskId, "completed", 3.6m), (deleted.Result!["task_id"]!.GetValue<string>(), deleted.Result.Status(), deleted.Result["credit_cost"]!.GetValue<decimal>()));
        Assert.Null(deleted.Result["video_url"]);
        Assert.Null(deleted.Result["last_frame_url"]);
        Assert.Null(deleted.Result["thumbnail_url"]);
        foreach (var link in links) Assert.Equal(HttpStatusCode.NotFound, (await anonymous.GetAsync(link)).StatusCode);
        var fetched = (await client.GetTaskAsync(taskId)).Result!;
        Assert.Equal(("completed", null, null, null), (fetched.Status(), fetched["video_url"], fetched["last_frame_url"], fetched["thumbnail_url"]));
        var listed = (await client.ListAsync()).Result!["data"]!.AsArray().Single(t => t!["task_id"]!.GetValue<string>() == taskId)!;
        Assert.Equal((3.6m, null), (listed["credit_cost"]!.GetValue<decimal>(), listed["video_url"]));
        var balance = (await client.BalanceAsync()).Result!;
        Assert.Equal((3.6m, 0m, 96.4m), (balance["used_credits"]!.GetValue<decimal>(), balance["reserved_credits"]!.GetValue<decimal>(), balance["remain_credits"]!.GetValue<decimal>()));
        Assert.Equal(ledgerBefore, (await ApiResponse.From(await Server.Admin.GetAsync($"/admin/v1/keys/{client.KeyId}/ledger"))).Result!["total"]!.GetValue<int>());
        Assert.Empty(await Server.StoredFilesAsync($"results/{taskId}/"));
        if (Server.Bucket is null) Assert.False(Directory.Exists(Path.Combine(Server.DataDir, "files", "results", taskId)), "the task's results folder goes with its files");

        // Asked again, the same answer.
        var again = await ApiResponse.From(await client.Http.DeleteAsync($"/api/v1/video/task/{taskId}"));
        again.AssertOk();
        Assert.Equal(taskId, again.Result!["task_id"]!.GetValue<string>());
    }

    [Fact]
    public async Task ATaskNotFinishedIsNotDeletedButToldToBeCancelledFirstAndAnotherKeysTaskIsNotFound()
    {
        using var owner = await Server.CreateKeyAsync(name: "owner", maxConcurrent: 1);
        using var other = await Server.CreateKeyAsync(name: "other");
        var active = await owner.SubmitTextAsync(ServerFixture.Stalled);
        await owner.WaitForAsync(active, "queued", "processing");
        var waiting = await owner.SubmitTextAsync(ServerFixture.Stalled);

        var running = await ApiResponse.From(await owner.Http.DeleteAsync($"/api/v1/video/task/{active}"));
        var pending = await ApiResponse.From(await owner.Http.DeleteAsync($"/api/v1/video/task/{waiting}"));
        var foreign = await ApiResponse.From(await other.Http.DeleteAsync($"/api/v1/video/task/{active}"));
        var unknown = await ApiResponse.From(await owner.Http.DeleteAsync("/api/v1/video/task/0123456789abcdef0123456789abcdef"));

        running.AssertError(400, "INVALID_PARAMETER");
        Assert.Matches("^Invalid parameter: task is (queued|processing): cancel it first$", running.Message);
        pending.AssertError(400, "INVALID_PARAMETER");
        Assert.Equal("Invalid parameter: task is pending: cancel it first", pending.Message);
        foreign.AssertError(404, "TASK_NOT_FOUND");
        unknown.AssertError(404, "TASK_NOT_FOUND");
        Assert.Equal("processing", (await owner.WaitForAsync(active, "processing")).Status());
        (await owner.CancelAsync(waiting)).AssertOk();
        var cancelled = await ApiResponse.From(await owner.Http.DeleteAsync($"/api/v1/video/task/{waiting}"));
        cancelled.AssertOk();
        Assert.Equal("cancelled", cancelled.Result!.Status());
    }
}
