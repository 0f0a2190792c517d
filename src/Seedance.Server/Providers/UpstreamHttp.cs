using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;
using Seedance.Server.Callbacks;
using Seedance.Server.Infrastructure;

namespace Seedance.Server.Providers;

/// <summary>What the HTTP providers share: the channel's client, the failure mapping, result downloads.</summary>
public static class UpstreamHttp
{

    /// <summary>
    /// The channel's API client. Its answers are read whole within the channel's time limit (<c>TimeoutSeconds</c>), and
    /// at most <see cref="UpstreamOptions.MaxAnswerBytes"/> of them: a huge or endless answer fails the call.
    /// </summary>
    public static HttpClient CreateClient(ChannelOptions channel, UpstreamOptions limits) => new(new SocketsHttpHandler
    {
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        MaxConnectionsPerServer = Math.Max(16, channel.MaxParallelPolls * 2),
    })
    {
        BaseAddress = new Uri(channel.BaseUrl!.TrimEnd('/') + "/"),
        Timeout = TimeSpan.FromSeconds(channel.TimeoutSeconds),
        MaxResponseContentBufferSize = limits.MaxAnswerBytes,
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
            catch (HttpRequestException e) when (e.HttpRequestError == HttpRequestError.ConfigurationLimitExceeded)
            {
                throw ProviderException.Transient($"Channel {channel} answered more than {http.MaxResponseContentBufferSize} bytes (Seedance:Upstream:MaxAnswerBytes)", e);
            }
            catch (HttpRequestException e) { throw ProviderException.Transient($"Channel {channel} unreachable: {e.Message}", e); }
        }
    }

    /// <summary>
    /// The client for addresses the upstream hands out (result links, presigned uploads): without the
    /// channel's credentials, and refusing private destinations unless the channel allows them.
    /// </summary>
    public static HttpClient CreateLinkClient(ChannelOptions channel, UpstreamOptions limits) =>
        SafeHttp.CreateClient(channel.AllowPrivateNetworks, TimeSpan.FromSeconds(limits.ResultDownloadSeconds));

    /// <summary>
    /// Copies a result file into <paramref name="destination"/>, within <see cref="UpstreamOptions.ResultDownloadSeconds"/>
    /// for the whole copy (the client's own time limit ends with the answer's headers) and at most
    /// <see cref="UpstreamOptions.MaxResultBytes"/>: a link that announces more, or sends more, fails at once.
    /// </summary>
    public static async Task DownloadAsync(HttpClient links, string url, Stream destination, UpstreamOptions limits, CancellationToken ct)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(TimeSpan.FromSeconds(limits.ResultDownloadSeconds));
        try
        {
            using var response = await links.GetAsync(new Uri(url, UriKind.Absolute), HttpCompletionOption.ResponseHeadersRead, deadline.Token);
            if (!response.IsSuccessStatusCode) throw new HttpRequestException($"Result link answered {(int)response.StatusCode}", null, response.StatusCode);
            if (response.Content.Headers.ContentLength > limits.MaxResultBytes)
                throw ResultTooLargeException.Announced(response.Content.Headers.ContentLength.Value, limits.MaxResultBytes);
            await using var body = await response.Content.ReadAsStreamAsync(deadline.Token);
            var buffer = new byte[81920];
            long total = 0;
            int read;
            while ((read = await body.ReadAsync(buffer, deadline.Token)) > 0)
            {
                total += read;
                if (total > limits.MaxResultBytes) throw ResultTooLargeException.Sent(limits.MaxResultBytes);
                await destination.WriteAsync(buffer.AsMemory(0, read), deadline.Token);
            }
        }
        catch (OperationCanceledException e) when (deadline.IsCancellationRequested && !ct.IsCancellationRequested)
        {
            throw new TimeoutException($"The result download took longer than {limits.ResultDownloadSeconds} s (Seedance:Upstream:ResultDownloadSeconds)", e);
        }
    }
}

/// <summary>A result file larger than <see cref="UpstreamOptions.MaxResultBytes"/>: trying again would only fetch it again.</summary>
public sealed class ResultTooLargeException(string message) : Exception(message)
{
    public static ResultTooLargeException Announced(long length, long max) =>
        new($"The result link announces {length} bytes, more than {max} (Seedance:Upstream:MaxResultBytes)");

    public static ResultTooLargeException Sent(long max) => new($"The result link sent more than {max} bytes (Seedance:Upstream:MaxResultBytes)");
}
