using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Seedance.Server.Tests.Support;

/// <summary>An HTTP server on a free loopback port that answers every request with <paramref name="handler"/>: a stand-in that misbehaves on purpose.</summary>
public sealed class LoopbackServer(WebApplication app, string baseUrl) : IAsyncDisposable
{
    public string BaseUrl { get; } = baseUrl;

    public static async Task<LoopbackServer> StartAsync(RequestDelegate handler)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        app.Run(handler);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new LoopbackServer(app, address);
    }

    public async ValueTask DisposeAsync()
    {
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(2)); // requests held open on purpose are cut
        await app.StopAsync(stop.Token);
        await app.DisposeAsync();
    }
}
