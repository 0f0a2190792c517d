using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Headers;
using Microsoft.AspNetCore.Http;
using Seedance.Server.Tests.Support;

namespace Seedance.Server.Tests.Faults;

/// <summary>
/// The S3 store refusing (503) or not answering, through a loopback proxy in front of the real S3-compatible store of
/// <c>./test</c> that passes requests on until told to misbehave: the server starts on a healthy store, then loses it.
/// </summary>
[TakesAbout(25)]
public sealed class StoreOutageTests
{
    private enum Behaviour { Pass, Refuse, Hang }

    /// <summary>The proxy: passes requests on to the store (Host kept, so signatures hold), or refuses them, or holds them.</summary>
    private sealed class StoreProxy : IAsyncDisposable
    {
        private static readonly HttpClient Forward = new(new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false });
        private static readonly HashSet<string> Hop = new(StringComparer.OrdinalIgnoreCase) { "Host", "Connection", "Transfer-Encoding", "Expect", "Keep-Alive" };
        private LoopbackServer _server = null!;
        private volatile Behaviour _behaviour;

        public Behaviour Behaviour { get => _behaviour; set => _behaviour = value; }
        public string ServiceUrl => _server.BaseUrl;
        /// <summary>Requests not passed on, by method and path.</summary>
        public ConcurrentQueue<string> Misbehaved { get; } = new();

        public static async Task<StoreProxy> StartAsync(string target)
        {
            var proxy = new StoreProxy();
            proxy._server = await LoopbackServer.StartAsync(ctx => proxy.HandleAsync(ctx, target.TrimEnd('/')));
            return proxy;
        }

        private async Task HandleAsync(HttpContext ctx, string target)
        {
            switch (Behaviour)
            {
                case Behaviour.Refuse:
                    Misbehaved.Enqueue($"{ctx.Request.Method} {ctx.Request.Path}");
                    ctx.Response.StatusCode = 503;
                    ctx.Response.ContentType = "application/xml";
                    await ctx.Response.WriteAsync("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>ServiceUnavailable</Code><Message>Please reduce your request rate.</Message></Error>");
                    return;
                case Behaviour.Hang:
                    Misbehaved.Enqueue($"{ctx.Request.Method} {ctx.Request.Path}");
                    try { await Task.Delay(Timeout.Infinite, ctx.RequestAborted); } catch (OperationCanceledException) { }
                    return;
            }
            using var request = new HttpRequestMessage(new HttpMethod(ctx.Request.Method), target + ctx.Request.Path + ctx.Request.QueryString);
            request.Headers.Host = ctx.Request.Host.Value;
            if (ctx.Request.ContentLength > 0 || ctx.Request.Headers.TransferEncoding.Count > 0)
                request.Content = new StreamContent(ctx.Request.Body);
            foreach (var (name, values) in ctx.Request.Headers)
                if (!Hop.Contains(name) && !request.Headers.TryAddWithoutValidation(name, values.ToArray()))
                    request.Content?.Headers.TryAddWithoutValidation(name, values.ToArray());
            using var response = await Forward.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ctx.RequestAborted);
            ctx.Response.StatusCode = (int)response.StatusCode;
            foreach (var (name, values) in response.Headers.Concat(response.Content.Headers))
                if (!Hop.Contains(name)) ctx.Response.Headers[name] = values.ToArray();
            if (ctx.Request.Method != "HEAD") await response.Content.CopyToAsync(ctx.Response.Body, ctx.RequestAborted);
        }

        public ValueTask DisposeAsync() => _server.DisposeAsync();
    }

    private static async Task<(RunningServer Server, StoreProxy Proxy)> StartAsync()
    {
        var proxy = await StoreProxy.StartAsync(TestS3.ServiceUrl);
        var settings = await TestS3.SettingsAsync();
        settings["Seedance:Storage:ServiceUrl"] = proxy.ServiceUrl;
        settings["Seedance:Storage:TimeoutSeconds"] = "1";
        return (await RunningServer.StartAsync(settings), proxy);
    }

    private static object WithImage(string filePath) => new
    {
        content = new object[] { new { type = "text", text = ServerFixture.Stalled }, new { type = "image_url", image_url = filePath } },
        duration = 4, resolution = "480p",
    };

    [SqlitePassFact]
    public async Task WhenTheStoreRefusesOrHangsASubmissionThatReadsAnUploadAnswersServiceBusyAndNothingIsCreated()
    {
        var (server, proxy) = await StartAsync();
        await using var _ = proxy;
        await using var __ = server;
        using var client = await server.CreateKeyAsync();
        var filePath = await client.UploadAsync("first.png", "image/png", await Media.PngAsync());

        foreach (var behaviour in new[] { Behaviour.Refuse, Behaviour.Hang })
        {
            proxy.Behaviour = behaviour;
            // Presigning needs no call to the store (the link is signed here): an upload slot is still handed out.
            (await ApiResponse.From(await client.Http.PostAsync("/api/v1/video/upload/presign?filename=b.png&content_type=image/png", null))).AssertOk();

            var clock = Stopwatch.StartNew();
            var refused = await client.SubmitAsync(WithImage(filePath));
            refused.AssertError(503, "SERVICE_BUSY", "file store");
            Assert.NotNull(refused.Raw.Headers.RetryAfter);
            // A store that holds requests costs the request the store's time limit (1 s here) a try, not the SDK's 100 s:
            // 30 s is far above the few tries, and far below a hang.
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"{behaviour}: answered after {clock.Elapsed.TotalSeconds:0.0} s");
        }
        Assert.Contains(proxy.Misbehaved, r => r.Contains("first.png"));

        var balance = (await client.BalanceAsync()).Result!;
        Assert.Equal(0m, balance["reserved_credits"]!.GetValue<decimal>());
        Assert.Equal(0, (await client.ListAsync()).Result!["total"]!.GetValue<int>());

        proxy.Behaviour = Behaviour.Pass;
        (await client.SubmitAsync(WithImage(filePath))).AssertOk();
    }

    [SqlitePassFact]
    public async Task WhenTheStoreRefusesAResultCopyTheCopyIsRetriedAndTheTaskCompletesWithItsVideoOnlyOnceStored()
    {
        var (server, proxy) = await StartAsync();
        await using var _ = proxy;
        await using var __ = server;
        using var client = await server.CreateKeyAsync();
        var taskId = await client.SubmitTextAsync("A paper boat on a pond");
        proxy.Behaviour = Behaviour.Refuse;

        // The copy is tried, and tried again, while the task stays where it was: it never completes without its video, and
        // it does not fail for the store's outage either (the copy's own retries are over within about 10 s; 20 s of
        // refusals show the task waiting past them).
        var video = $"PUT /{server.Bucket}/results/{taskId}/video.mp4";
        var refusing = Stopwatch.StartNew();
        while (refusing.Elapsed < TimeSpan.FromSeconds(20) || proxy.Misbehaved.Count(r => r == video) < 2)
        {
            Assert.True(refusing.Elapsed < TimeSpan.FromSeconds(90), $"the copy was tried again within 90 s ({string.Join(", ", proxy.Misbehaved)})");
            var status = (await client.GetTaskAsync(taskId)).Result!["status"]!.GetValue<string>();
            Assert.Contains(status, new[] { "pending", "queued", "processing" });
            await Task.Delay(200);
        }
        Assert.Empty(await TestS3.KeysAsync(server.Bucket!, $"results/{taskId}/"));

        proxy.Behaviour = Behaviour.Pass;
        var done = await client.WaitForAsync(taskId);
        Assert.Equal("completed", done["status"]!.GetValue<string>());
        Assert.Contains($"results/{taskId}/video.mp4", await TestS3.KeysAsync(server.Bucket!, $"results/{taskId}/"));
        using var download = new HttpClient();
        var bytes = await download.GetByteArrayAsync(done["video_url"]!.GetValue<string>());
        Assert.Equal("ftyp"u8.ToArray(), bytes[4..8]);
    }
}
