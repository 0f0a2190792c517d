using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Seedance.Server.Tests.Support;

namespace Seedance.Server.Tests.Faults;

/// <summary>
/// An upstream that answers with a huge or endless body, on its API (a loopback server posing as an Ark channel) or on
/// the result link it hands out: each costs a failed call within the configured size caps and time limits.
/// </summary>
[Collection(FaultCollection.Name)]
public sealed class UpstreamBodyLimitTests
{
    /// <summary>How the fake Ark answers a hand-over, and how its result link answers.</summary>
    private sealed record Misbehaviour(string Create = "ok", string Result = "ok");

    /// <summary>The fake Ark channel: creates tasks, reports them succeeded at once with a result link on itself.</summary>
    private sealed class FakeArk(Misbehaviour misbehaviour) : IAsyncDisposable
    {
        private LoopbackServer _server = null!;
        private int _resultCalls;
        private byte[] _video = [];

        public string BaseUrl => _server.BaseUrl + "/api/v3";
        public int ResultCalls => Volatile.Read(ref _resultCalls);

        public static async Task<FakeArk> StartAsync(Misbehaviour misbehaviour)
        {
            var ark = new FakeArk(misbehaviour) { _video = await Media.Mp4Async() };
            ark._server = await LoopbackServer.StartAsync(ark.HandleAsync);
            return ark;
        }

        private async Task HandleAsync(HttpContext ctx)
        {
            var path = ctx.Request.Path.Value!;
            if (path.StartsWith("/results/"))
            {
                Interlocked.Increment(ref _resultCalls);
                await AnswerAsync(ctx, misbehaviour.Result, "video/mp4", _video);
                return;
            }
            const string tasks = "/api/v3/contents/generations/tasks";
            var task = $$$"""{"id":"cgt-1","model":"doubao-seedance-2-0-260128","status":"succeeded","content":{"video_url":"{{{_server.BaseUrl}}}/results/video.mp4"}}""";
            if (ctx.Request.Method == "POST" && path == tasks) await AnswerAsync(ctx, misbehaviour.Create, "application/json", """{"id":"cgt-1"}"""u8.ToArray());
            else if (path == tasks) await AnswerAsync(ctx, "ok", "application/json", Encoding.UTF8.GetBytes($$"""{"items":[{{task}}],"total":1}"""));
            else await AnswerAsync(ctx, "ok", "application/json", Encoding.UTF8.GetBytes(task));
        }

        /// <summary>ok: the body; huge: 64 MB at once; endless: a trickle that never ends; announced: a length of 10 GB in the headers.</summary>
        private static async Task AnswerAsync(HttpContext ctx, string how, string contentType, byte[] body)
        {
            ctx.Response.ContentType = contentType;
            var ct = ctx.RequestAborted;
            try
            {
                switch (how)
                {
                    case "ok":
                        ctx.Response.ContentLength = body.Length;
                        await ctx.Response.Body.WriteAsync(body, ct);
                        break;
                    case "huge":
                        var chunk = Encoding.ASCII.GetBytes(new string(' ', 1024 * 1024));
                        await ctx.Response.Body.WriteAsync(body.AsMemory(0, body.Length - 1), ct);
                        for (var i = 0; i < 64; i++) await ctx.Response.Body.WriteAsync(chunk, ct);
                        await ctx.Response.Body.WriteAsync(body.AsMemory(body.Length - 1), ct);
                        break;
                    case "endless":
                        await ctx.Response.Body.WriteAsync(body.AsMemory(0, body.Length / 2), ct);
                        while (true)
                        {
                            await ctx.Response.Body.WriteAsync(" "u8.ToArray(), ct);
                            await ctx.Response.Body.FlushAsync(ct);
                            await Task.Delay(100, ct);
                        }
                    case "announced":
                        ctx.Response.ContentLength = 10L * 1024 * 1024 * 1024;
                        await ctx.Response.Body.FlushAsync(ct);
                        await Task.Delay(Timeout.Infinite, ct);
                        break;
                }
            }
            catch (OperationCanceledException) { } // the server under test hung up
            catch (IOException) { }
        }

        public ValueTask DisposeAsync() => _server.DisposeAsync();
    }

    private static async Task<RunningServer> ServerAsync(FakeArk ark, CapturedLog log, Dictionary<string, string>? extra = null)
    {
        var port = ServerProcess.FreePort();
        var settings = new Dictionary<string, string>
        {
            ["urls"] = $"http://127.0.0.1:{port}", ["Seedance:PublicBaseUrl"] = $"http://127.0.0.1:{port}",
            ["Seedance:Channels:0:Name"] = "ark-fake", ["Seedance:Channels:0:Provider"] = "ark",
            ["Seedance:Channels:0:BaseUrl"] = ark.BaseUrl, ["Seedance:Channels:0:ApiKey"] = "ark-test-key",
            ["Seedance:Channels:0:Models:seedance-2.0"] = "doubao-seedance-2-0-260128",
            ["Seedance:Channels:0:PollIntervalSeconds"] = "0.2", ["Seedance:Channels:0:TimeoutSeconds"] = "2",
            ["Seedance:Channels:0:AllowPrivateNetworks"] = "true", // the result link is on loopback
            ["Seedance:Tasks:MaxSubmitAttempts"] = "1",
        };
        foreach (var (k, v) in extra ?? []) settings[k] = v;
        return await RunningServer.StartAsync(settings, services: log.Register);
    }

    [SqlitePassTheory]
    [InlineData("huge", "more than 4194304 bytes (Seedance:Upstream:MaxAnswerBytes)")]
    [InlineData("endless", "timed out")]
    public async Task AnUpstreamAnswerThatIsHugeOrEndlessFailsTheHandOverWithinItsCapAndTimeLimit(string answer, string logged)
    {
        await using var ark = await FakeArk.StartAsync(new Misbehaviour(Create: answer));
        var log = new CapturedLog();
        await using var server = await ServerAsync(ark, log);
        using var client = await server.CreateKeyAsync();

        var taskId = await client.SubmitTextAsync("A kite over a beach");
        var failed = await client.WaitForAsync(taskId);

        Assert.Equal("failed", failed["status"]!.GetValue<string>());
        Assert.Equal("TASK_SUBMIT_FAILED", failed["error_code"]!.GetValue<string>());
        Assert.NotEmpty(log.Containing(logged, LogLevel.Warning));
        Assert.Equal(0m, (await client.BalanceAsync()).Result!["used_credits"]!.GetValue<decimal>());
    }

    [SqlitePassTheory]
    [InlineData("announced", false)]
    [InlineData("huge", false)]
    [InlineData("endless", true)]
    public async Task AResultLinkThatSendsTooMuchOrNeverEndsFailsTheTaskUnchargedWithoutAVideo(string result, bool triedAgain)
    {
        await using var ark = await FakeArk.StartAsync(new Misbehaviour(Result: result));
        var log = new CapturedLog();
        await using var server = await ServerAsync(ark, log, new()
        {
            ["Seedance:Upstream:MaxResultBytes"] = (16 * 1024 * 1024).ToString(), ["Seedance:Upstream:ResultDownloadSeconds"] = "1",
        });
        using var client = await server.CreateKeyAsync();

        var taskId = await client.SubmitTextAsync("A kite over a beach");
        var failed = await client.WaitForAsync(taskId);

        Assert.Equal("failed", failed["status"]!.GetValue<string>());
        Assert.Equal("VIDEO_DOWNLOAD_FAILED", failed["error_code"]!.GetValue<string>());
        Assert.Null(failed["video_url"]?.GetValue<string>());
        Assert.Empty(await server.StoredFilesAsync($"results/{taskId}/"));
        Assert.Equal(0m, (await client.BalanceAsync()).Result!["used_credits"]!.GetValue<decimal>());
        Assert.NotEmpty(log.Containing(result == "endless" ? "Seedance:Upstream:ResultDownloadSeconds" : "Seedance:Upstream:MaxResultBytes"));
        // A link too large is not fetched again; one too slow may be quicker on the next try.
        if (triedAgain) Assert.True(ark.ResultCalls > 1, $"{ark.ResultCalls} calls");
        else Assert.Equal(1, ark.ResultCalls);
    }
}
