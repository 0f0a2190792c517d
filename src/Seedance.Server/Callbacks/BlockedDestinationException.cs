using System.Net;

namespace Seedance.Server.Callbacks;

/// <summary>
/// A callback was not sent because its destination is not allowed (a private, loopback, link-local,
/// metadata or otherwise special address, by name or by what DNS answered). Nothing was connected to.
/// </summary>
public sealed class BlockedDestinationException(string host, IPAddress? address, string reason)
    : HttpRequestException(HttpRequestError.ConnectionError, Describe(host, address, reason))
{
    public string Host { get; } = host;
    /// <summary>The refused address, or null when the host name itself is refused.</summary>
    public IPAddress? Address { get; } = address;
    /// <summary>What kind of destination it is: "loopback", "private", "link-local", "cloud metadata", ...</summary>
    public string Reason { get; } = reason;

    private static string Describe(string host, IPAddress? address, string reason) =>
        address is null || host.Trim('[', ']') == address.ToString()
            ? $"destination not allowed: {host} ({reason})"
            : $"destination not allowed: {host} resolves to {address} ({reason})";
}
