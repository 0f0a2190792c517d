using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Seedance.Server.Callbacks;

/// <summary>
/// The addresses and host names a callback must not reach unless the operator allows private networks:
/// everything that is not an ordinary public unicast address (IANA special-purpose registries), cloud
/// metadata endpoints, and IPv6 forms that carry such an IPv4 address inside.
/// </summary>
internal static class PrivateNetworks
{
    private static readonly (uint Network, int Prefix, string Reason)[] V4 =
    [
        (V4Of(169, 254, 169, 254), 32, "cloud metadata"),
        (V4Of(100, 100, 100, 200), 32, "cloud metadata"),
        (V4Of(192, 0, 0, 192), 32, "cloud metadata"),
        (V4Of(255, 255, 255, 255), 32, "broadcast"),
        (V4Of(0, 0, 0, 0), 8, "unspecified"),
        (V4Of(10, 0, 0, 0), 8, "private"),
        (V4Of(100, 64, 0, 0), 10, "shared (CGNAT)"),
        (V4Of(127, 0, 0, 0), 8, "loopback"),
        (V4Of(169, 254, 0, 0), 16, "link-local"),
        (V4Of(172, 16, 0, 0), 12, "private"),
        (V4Of(192, 0, 0, 0), 24, "reserved"),
        (V4Of(192, 0, 2, 0), 24, "reserved"),
        (V4Of(192, 168, 0, 0), 16, "private"),
        (V4Of(198, 18, 0, 0), 15, "reserved"),
        (V4Of(198, 51, 100, 0), 24, "reserved"),
        (V4Of(203, 0, 113, 0), 24, "reserved"),
        (V4Of(224, 0, 0, 0), 4, "multicast"),
        (V4Of(240, 0, 0, 0), 4, "reserved"),
    ];

    private static readonly (UInt128 Network, int Prefix, string Reason)[] V6 =
    [
        (V6Of("::"), 128, "unspecified"),
        (V6Of("::1"), 128, "loopback"),
        (V6Of("fd00:ec2::254"), 128, "cloud metadata"),
        (V6Of("64:ff9b:1::"), 48, "private"),
        (V6Of("100::"), 64, "reserved"),
        (V6Of("2001:db8::"), 32, "reserved"),
        (V6Of("fc00::"), 7, "private"),
        (V6Of("fe80::"), 10, "link-local"),
        (V6Of("fec0::"), 10, "private"),
        (V6Of("ff00::"), 8, "multicast"),
    ];

    private static readonly HashSet<string> MetadataHosts = new(StringComparer.OrdinalIgnoreCase)
    {
        "metadata", "metadata.google.internal", "metadata.goog", "instance-data", "instance-data.ec2.internal",
    };

    /// <summary>Why <paramref name="address"/> is refused ("loopback", "private", ...), or null when it is public.</summary>
    public static string? Classify(IPAddress address) => address.AddressFamily switch
    {
        AddressFamily.InterNetwork => ClassifyV4(BinaryPrimitives.ReadUInt32BigEndian(address.GetAddressBytes())),
        AddressFamily.InterNetworkV6 => ClassifyV6(BinaryPrimitives.ReadUInt128BigEndian(address.GetAddressBytes())),
        _ => "not an IP address",
    };

    /// <summary>Why a host name is refused without asking DNS (metadata names; <c>localhost</c> when <paramref name="includeLocalhost"/>).</summary>
    public static string? ClassifyName(string host, bool includeLocalhost)
    {
        var name = host.TrimEnd('.');
        if (MetadataHosts.Contains(name)) return "cloud metadata";
        if (includeLocalhost && (name.Equals("localhost", StringComparison.OrdinalIgnoreCase)
            || name.EndsWith(".localhost", StringComparison.OrdinalIgnoreCase))) return "loopback";
        return null;
    }

    private static string? ClassifyV4(uint a)
    {
        foreach (var (network, prefix, reason) in V4)
            if ((a >> (32 - prefix)) == (network >> (32 - prefix))) return reason;
        return null;
    }

    private static string? ClassifyV6(UInt128 a)
    {
        foreach (var (network, prefix, reason) in V6)
            if ((a >> (128 - prefix)) == (network >> (128 - prefix))) return reason;

        var high96 = a >> 32;
        var low32 = (uint)a;
        // IPv4-compatible (::a.b.c.d), IPv4-mapped (::ffff:a.b.c.d), IPv4-translated (::ffff:0:a.b.c.d), NAT64 (64:ff9b::a.b.c.d).
        if (high96 == 0 || high96 == 0xffff || high96 == 0xffff_0000 || high96 == V6Of("64:ff9b::") >> 32)
            return ClassifyV4(low32);
        // 6to4 (2002:AABB:CCDD::/48) carries its IPv4 address in bits 16-47.
        if (a >> 112 == 0x2002) return ClassifyV4((uint)(a >> 80));
        // Teredo (2001:0::/32): server IPv4 in bits 32-63, client IPv4 inverted in the last 32.
        if (a >> 96 == 0x2001_0000) return ClassifyV4((uint)(a >> 64)) ?? ClassifyV4(~low32);
        return null;
    }

    private static uint V4Of(byte a, byte b, byte c, byte d) => (uint)(a << 24 | b << 16 | c << 8 | d);

    private static UInt128 V6Of(string text) => BinaryPrimitives.ReadUInt128BigEndian(IPAddress.Parse(text).GetAddressBytes());
}
