using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using Seedance.Server.Infrastructure;

namespace Seedance.Server.Infrastructure;

/// <summary>Who this server process is among the nodes sharing the database, and how long its leases last.</summary>
public sealed class NodeIdentity(IOptions<SeedanceOptions> options)
{
    /// <summary>The configured id, or the host name with a random suffix: a restarted process is a new node unless configured otherwise.</summary>
    public string Id { get; } = options.Value.Node.Id is { Length: > 0 } id
        ? id
        : $"{Truncate(Environment.MachineName, 48)}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))}";

    public TimeSpan Lease { get; } = TimeSpan.FromSeconds(options.Value.Node.LeaseSeconds);

    /// <summary>Leases are renewed three times per lease time, so one late heartbeat never costs a live node its work.</summary>
    public TimeSpan HeartbeatInterval => Lease / 3;

    private static string Truncate(string text, int length) => text.Length <= length ? text : text[..length];
}
