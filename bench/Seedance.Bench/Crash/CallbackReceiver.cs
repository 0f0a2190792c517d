using System.Collections.Concurrent;
using System.Net;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Seedance.Bench.Crash;

/// <summary>A customer's callback endpoint on loopback: keeps the statuses each task's callbacks carried, answers 200.</summary>
public sealed class CallbackReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, ConcurrentBag<string>> _statuses = new();
    private int _received;

    private CallbackReceiver(WebApplication app) => _app = app;

    public string Url { get; private set; } = "";
    public int Received => _received;

    /// <summary>The statuses the callbacks of <paramref name="taskId"/> carried, in no order.</summary>
    public IReadOnlyCollection<string> StatusesOf(string taskId) => _statuses.TryGetValue(taskId, out var s) ? s : [];

    public static async Task<CallbackReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var receiver = new CallbackReceiver(app);
        app.MapPost("/hook", async (HttpContext context) =>
        {
            var task = JsonNode.Parse(await new StreamReader(context.Request.Body).ReadToEndAsync());
            Interlocked.Increment(ref receiver._received);
            if (task?["task_id"]?.GetValue<string>() is { } id && task["status"]?.GetValue<string>() is { } status)
                receiver._statuses.GetOrAdd(id, _ => []).Add(status);
            return Results.Ok();
        });
        await app.StartAsync();
        receiver.Url = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First() + "/hook";
        return receiver;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
