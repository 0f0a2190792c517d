using System.Collections.Concurrent;
using System.Net;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Seedance.Server.Tests.Ark;

/// <summary>
/// A callback endpoint for the emulator's callbacks: records every POST and answers with what
/// <see cref="Answer"/> says for it (a status code, or 0 to hang until the sender gives up).
/// </summary>
public sealed class CallbackReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<JsonObject> _received = new();
    private readonly CancellationTokenSource _stopping = new();

    private CallbackReceiver(WebApplication app) => _app = app;

    public string Url { get; private set; } = "";
    /// <summary>Given the body and how many posts came before it, the status to answer (0: hang). Default 200.</summary>
    public Func<JsonObject, int, int> Answer { get; set; } = (_, _) => 200;
    public IReadOnlyList<JsonObject> Received => _received.ToList();

    public static async Task<CallbackReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var receiver = new CallbackReceiver(app);
        app.MapPost("/callback", receiver.HandleAsync);
        await app.StartAsync();
        receiver.Url = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First() + "/callback";
        return receiver;
    }

    private async Task HandleAsync(HttpContext ctx)
    {
        var body = (await JsonNode.ParseAsync(ctx.Request.Body))!.AsObject();
        var before = _received.Count;
        _received.Enqueue(body);
        var status = Answer(body, before);
        if (status == 0)
        {
            using var cancel = CancellationTokenSource.CreateLinkedTokenSource(ctx.RequestAborted, _stopping.Token);
            try { await Task.Delay(Timeout.Infinite, cancel.Token); } catch (OperationCanceledException) { }
            return;
        }
        ctx.Response.StatusCode = status;
    }

    public async ValueTask DisposeAsync()
    {
        _stopping.Cancel();
        await _app.StopAsync();
        await _app.DisposeAsync();
        _stopping.Dispose();
    }
}
