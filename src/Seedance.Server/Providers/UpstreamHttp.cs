using Seedance.Server.Channels;

namespace Seedance.Server.Providers;

/// <summary>What the HTTP providers share: the channel's client, the failure mapping, result downloads.</summary>
public static class UpstreamHttp
{
    /// <summary>Result links are fetched without the channel's credentials: they are signed links, not the API.</summary>
    private static readonly HttpClient Results = new() { Timeout = TimeSpan.FromMinutes(10) };

    public static HttpClient CreateClient(ChannelOptions channel) => new(new SocketsHttpHandler
    {
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        MaxConnectionsPerServer = Math.Max(16, channel.MaxParallelPolls * 2),
    })
    {
        BaseAddress = new Uri(channel.BaseUrl!.TrimEnd('/') + "/"),
        Timeout = TimeSpan.FromSeconds(channel.TimeoutSeconds),
    };

    /// <summary>Sends, turning timeouts and connection failures into the channel's fault.</summary>
    public static async Task<HttpResponseMessage> SendAsync(HttpClient http, HttpRequestMessage request, string channel, CancellationToken ct,
        HttpCompletionOption completion = HttpCompletionOption.ResponseContentRead)
    {
        using (request)
        {
            try { return await http.SendAsync(request, completion, ct); }
            catch (TaskCanceledException e) when (!ct.IsCancellationRequested) { throw ProviderException.Transient($"Channel {channel} timed out", e); }
            catch (HttpRequestException e) { throw ProviderException.Transient($"Channel {channel} unreachable: {e.Message}", e); }
        }
    }

    public static async Task DownloadAsync(string url, Stream destination, CancellationToken ct)
    {
        using var response = await Results.GetAsync(new Uri(url, UriKind.Absolute), HttpCompletionOption.ResponseHeadersRead, ct);
        if (!response.IsSuccessStatusCode) throw new HttpRequestException($"Result link answered {(int)response.StatusCode}", null, response.StatusCode);
        await response.Content.CopyToAsync(destination, ct);
    }
}
