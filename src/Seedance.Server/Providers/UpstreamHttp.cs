using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;
using Seedance.Server.Callbacks;
using Seedance.Server.Infrastructure;

namespace Seedance.Server.Providers;

/// <summary>What the HTTP providers share: the channel's client, the failure mapping, result downloads.</summary>
public static class UpstreamHttp
{

    public static HttpClient CreateClient(ChannelOptions channel) => new(new SocketsHttpHandler
    {
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        MaxConnectionsPerServer = Math.Max(16, channel.MaxParallelPolls * 2),
    })
    {
        BaseAddress = new Uri(channel.BaseUrl!.TrimEnd('/') + "/"),
        Timeout = TimeSpan.FromSeconds(channel.TimeoutSeconds),
    };

    /// <summary>
    /// A JSON body as the official SDKs send it: serialized up front, with its <c>Content-Length</c>.
    /// (<c>JsonContent</c> streams, so its requests go chunked, which some gateways in front of upstreams refuse.)
    /// </summary>
    public static HttpContent Json(JsonNode body)
    {
        var content = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(body));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        return content;
    }

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

    /// <summary>
    /// The client for addresses the upstream hands out (result links, presigned uploads): without the
    /// channel's credentials, and refusing private destinations unless the channel allows them.
    /// </summary>
    public static HttpClient CreateLinkClient(ChannelOptions channel) => SafeHttp.CreateClient(channel.AllowPrivateNetworks, TimeSpan.FromMinutes(10));

    public static async Task DownloadAsync(HttpClient links, string url, Stream destination, CancellationToken ct)
    {
        using var response = await links.GetAsync(new Uri(url, UriKind.Absolute), HttpCompletionOption.ResponseHeadersRead, ct);
        if (!response.IsSuccessStatusCode) throw new HttpRequestException($"Result link answered {(int)response.StatusCode}", null, response.StatusCode);
        await response.Content.CopyToAsync(destination, ct);
    }
}
