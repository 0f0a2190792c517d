using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Seedance.Server.Tests.Support;

/// <summary>One POST as a receiver saw it: the Standard Webhooks headers and the raw body.</summary>
public sealed record ReceivedWebhook(string Path, string Id, string Timestamp, string Signature, string Body);

/// <summary>What the receiver answers: a status (0: never answer) and extra headers.</summary>
public sealed record Reply(int Status, Dictionary<string, string>? Headers = null);

/// <summary>A customer's callback endpoint on loopback: records every POST, answers as <see cref="Answer"/> says.</summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<ReceivedWebhook> _received = new();
    private readonly CancellationTokenSource _stopping = new();

    private WebhookReceiver(WebApplication app) => _app = app;

    public string BaseUrl { get; private set; } = "";
    public string Url => BaseUrl + "/hook";
    /// <summary>Given how many POSTs to /hook came before, the reply. Default 200.</summary>
    public Func<int, Reply> Answer { get; set; } = _ => new Reply(200);
    public IReadOnlyList<ReceivedWebhook> Received => _received.Where(r => r.Path == "/hook").ToList();
    /// <summary>POSTs anywhere else (where a followed redirect would land).</summary>
    public IReadOnlyList<ReceivedWebhook> Elsewhere => _received.Where(r => r.Path != "/hook").ToList();

    public static async Task<WebhookReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var receiver = new WebhookReceiver(app);
        app.Run(receiver.HandleAsync);
        await app.StartAsync();
        receiver.BaseUrl = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return receiver;
    }

    private async Task HandleAsync(HttpContext ctx)
    {
        var body = await new StreamReader(ctx.Request.Body).ReadToEndAsync();
        var before = Received.Count;
        var seen = new ReceivedWebhook(ctx.Request.Path, ctx.Request.Headers["webhook-id"].ToString(), ctx.Request.Headers["webhook-timestamp"].ToString(),
            ctx.Request.Headers["webhook-signature"].ToString(), body);
        _received.Enqueue(seen);
        var reply = seen.Path == "/hook" ? Answer(before) : new Reply(200);
        if (reply.Status == 0)
        {
            using var cancel = CancellationTokenSource.CreateLinkedTokenSource(ctx.RequestAborted, _stopping.Token);
            try { await Task.Delay(Timeout.Infinite, cancel.Token); } catch (OperationCanceledException) { }
            return;
        }
        ctx.Response.StatusCode = reply.Status;
        foreach (var (name, value) in reply.Headers ?? []) ctx.Response.Headers[name] = value;
    }

    public async ValueTask DisposeAsync()
    {
        _stopping.Cancel();
        await _app.StopAsync();
        await _app.DisposeAsync();
        _stopping.Dispose();
    }
}
