using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Seedance.Client.Tests.Support;

/// <summary>
/// A real HTTP server on loopback in front of the real API server: it forwards every request, and lets a
/// test replace the answer to some (answer 429 to the first create after forwarding it, hide the live status).
/// </summary>
public sealed class Proxy : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly HttpClient _upstream = new() { Timeout = Timeout.InfiniteTimeSpan };

    private Proxy(WebApplication app, string baseUrl)
    {
        _app = app;
        BaseUrl = baseUrl;
    }

    public string BaseUrl { get; }

    /// <summary>Every request seen: method, path and query, headers, when it arrived.</summary>
    public ConcurrentQueue<Seen> Requests { get; } = new();

    /// <summary>Decides the answer: return null to forward the upstream's answer, or a replacement (status, headers, body).</summary>
    public Func<Seen, int, Replacement?> Override { get; set; } = (_, _) => null;

    /// <summary>True to leave the upstream's answer unsent when <see cref="Override"/> replaces it after forwarding.</summary>
    public Func<Seen, bool> ForwardBeforeOverride { get; set; } = _ => true;

    /// <summary>Changes the path and query forwarded upstream.</summary>
    public Func<string, string> RewritePath { get; set; } = path => path;

    public sealed record Seen(string Method, string PathAndQuery, IReadOnlyDictionary<string, string> Headers, TimeSpan At);

    public sealed record Replacement(int Status, string Body, IReadOnlyDictionary<string, string>? Headers = null);

    public static async Task<Proxy> StartAsync(string upstream)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        Proxy? proxy = null;
        var clock = Stopwatch.StartNew();
        var count = 0;
        app.Run(async context => await proxy!.HandleAsync(context, upstream, clock.Elapsed, Interlocked.Increment(ref count)));
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        proxy = new Proxy(app, address);
        return proxy;
    }

    private async Task HandleAsync(HttpContext context, string upstream, TimeSpan at, int number)
    {
        var request = context.Request;
        var seen = new Seen(request.Method, request.Path + request.QueryString,
            request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase), at);
        Requests.Enqueue(seen);

        using var body = new MemoryStream();
        await request.Body.CopyToAsync(body, context.RequestAborted);
        var replacement = Override(seen, number);
        if (replacement is not null && !ForwardBeforeOverride(seen))
        {
            await WriteAsync(context, replacement);
            return;
        }

        using var forward = new HttpRequestMessage(new HttpMethod(request.Method), upstream.TrimEnd('/') + RewritePath(seen.PathAndQuery));
        if (body.Length > 0 || request.ContentType is not null) forward.Content = new ByteArrayContent(body.ToArray());
        foreach (var (name, value) in request.Headers)
        {
            if (name is "Host" or "Content-Length" or "Transfer-Encoding" or "Connection" or "Expect") continue;
            if (!forward.Headers.TryAddWithoutValidation(name, value.ToArray())) forward.Content?.Headers.TryAddWithoutValidation(name, value.ToArray());
        }
        using var response = await _upstream.SendAsync(forward, HttpCompletionOption.ResponseHeadersRead, context.RequestAborted);
        if (replacement is not null)
        {
            await WriteAsync(context, replacement); // the upstream did the work; its answer is lost on the way back
            return;
        }
        context.Response.StatusCode = (int)response.StatusCode;
        foreach (var (name, values) in response.Headers.Concat(response.Content.Headers))
            if (name is not ("Transfer-Encoding" or "Connection")) context.Response.Headers[name] = values.ToArray();
        await using var stream = await response.Content.ReadAsStreamAsync(context.RequestAborted);
        await stream.CopyToAsync(context.Response.Body, context.RequestAborted);
    }

    private static async Task WriteAsync(HttpContext context, Replacement replacement)
    {
        context.Response.StatusCode = replacement.Status;
        context.Response.ContentType = "application/json";
        foreach (var (name, value) in replacement.Headers ?? new Dictionary<string, string>()) context.Response.Headers[name] = value;
        await context.Response.WriteAsync(replacement.Body);
    }

    public async ValueTask DisposeAsync()
    {
        _upstream.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
