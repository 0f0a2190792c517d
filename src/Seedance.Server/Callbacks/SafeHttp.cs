using System.Net;
using System.Net.Sockets;
using System.Runtime.ExceptionServices;

namespace Seedance.Server.Callbacks;

/// <summary>
/// The HTTP client that posts callbacks to URLs users supply. It resolves each host itself, refuses
/// destinations in private networks (see <see cref="PrivateNetworks"/>) unless the operator allows them,
/// connects to the very address it checked (no second DNS lookup, so no rebinding), and never follows
/// a redirect: the 3xx response is the answer. A refusal throws <see cref="BlockedDestinationException"/>.
/// </summary>
public static class SafeHttp
{
    public const string UserAgent = "Seedance-Webhooks/1.0";
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(15);
    /// <summary>A receiver's answer is only read for its status; a larger body fails the attempt instead of filling memory.</summary>
    public const int MaxResponseBytes = 1024 * 1024;

    internal delegate Task<IPAddress[]> HostResolver(string host, CancellationToken cancellationToken);

    public static HttpClient CreateClient(bool allowPrivateNetworks) => CreateClient(allowPrivateNetworks, DefaultTimeout);

    /// <param name="timeout">For each attempt: connecting, sending and reading the answer.</param>
    public static HttpClient CreateClient(bool allowPrivateNetworks, TimeSpan timeout) =>
        CreateClient(allowPrivateNetworks, timeout, Dns.GetHostAddressesAsync);

    internal static HttpClient CreateClient(bool allowPrivateNetworks, TimeSpan timeout, HostResolver resolve)
    {
        var sockets = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseCookies = false,
            UseProxy = false,
            PreAuthenticate = false,
            AutomaticDecompression = DecompressionMethods.None,
            ConnectTimeout = timeout,
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            ConnectCallback = (context, ct) => ConnectAsync(context.DnsEndPoint, allowPrivateNetworks, resolve, ct),
        };
        var client = new HttpClient(new RefusalUnwrapping(sockets)) { Timeout = timeout, MaxResponseContentBufferSize = MaxResponseBytes };
        client.DefaultRequestHeaders.UserAgent.ParseAdd(UserAgent);
        return client;
    }

    /// <summary>
    /// An early check for a submission, without DNS: refuses a URL that is not http(s) or whose host is a
    /// literal private address (in any notation) or a name that is always private (<c>localhost</c>, metadata).
    /// A name that merely resolves to a private address is refused later, when connecting.
    /// </summary>
    public static CallbackUrlCheck Check(string url, bool allowPrivate)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            return CallbackUrlCheck.Refused("callback_url must be an absolute http or https URL");
        if (allowPrivate) return CallbackUrlCheck.Allowed;
        var host = uri.IdnHost;
        var reason = ParseLiteral(host) is { } address ? PrivateNetworks.Classify(address)
            : host.Contains(':') ? "unreadable"
            : PrivateNetworks.ClassifyName(host, includeLocalhost: true);
        return reason is null ? CallbackUrlCheck.Allowed
            : CallbackUrlCheck.Refused($"callback_url points to a destination that is not allowed ({reason})");
    }

    private static async ValueTask<Stream> ConnectAsync(DnsEndPoint endPoint, bool allowPrivate, HostResolver resolve, CancellationToken ct)
    {
        var host = endPoint.Host;
        IPAddress[] addresses;
        if (ParseLiteral(host) is { } literal) addresses = [literal];
        else if (host.Contains(':')) throw new BlockedDestinationException(host, null, "unreadable");
        else if (!allowPrivate && PrivateNetworks.ClassifyName(host, includeLocalhost: false) is { } named)
            throw new BlockedDestinationException(host, null, named);
        else addresses = await resolve(host, ct);

        // One refused answer refuses the host: a name that mixes public and private answers is not trusted.
        if (!allowPrivate)
            foreach (var address in addresses)
                if (PrivateNetworks.Classify(address) is { } reason) throw new BlockedDestinationException(host, address, reason);

        SocketException? last = null;
        foreach (var address in addresses.Select(a => a.IsIPv4MappedToIPv6 ? a.MapToIPv4() : a))
        {
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(new IPEndPoint(address, endPoint.Port), ct);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch (Exception e)
            {
                socket.Dispose();
                if (e is not SocketException se) throw;
                last = se;
            }
        }
        throw last ?? new SocketException((int)SocketError.HostNotFound);
    }

    /// <summary>The address a host names literally, whatever the notation (.NET reads inet_aton forms: 2130706433, 0x7f.1, 0177.0.0.1).</summary>
    private static IPAddress? ParseLiteral(string host)
    {
        var text = host.StartsWith('[') && host.EndsWith(']') ? host[1..^1] : host.TrimEnd('.');
        return IPAddress.TryParse(Uri.UnescapeDataString(text), out var address) ? address : null;
    }

    /// <summary>Surfaces a refusal as itself rather than wrapped in the connection error, and keeps requests off HTTP/3 (QUIC would skip the checked connect).</summary>
    private sealed class RefusalUnwrapping(HttpMessageHandler inner) : DelegatingHandler(inner)
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            request.Version = HttpVersion.Version11;
            request.VersionPolicy = HttpVersionPolicy.RequestVersionOrLower;
            try
            {
                return await base.SendAsync(request, cancellationToken);
            }
            catch (HttpRequestException e) when (e.InnerException is BlockedDestinationException blocked)
            {
                ExceptionDispatchInfo.Throw(blocked);
                throw;
            }
        }
    }
}

/// <summary>The answer of <see cref="SafeHttp.Check"/>: allowed, or refused with a message for the user.</summary>
public readonly record struct CallbackUrlCheck(bool IsAllowed, string? Error)
{
    public static CallbackUrlCheck Allowed => new(true, null);
    public static CallbackUrlCheck Refused(string error) => new(false, error);
}
