using System.Net;
using Seedance.Server.Callbacks;

namespace Seedance.Server.Tests.Unit;

/// <summary>
/// Which addresses and names a callback may not reach, and why: each refused range at its edges, the
/// public addresses just outside them, and IPv6 forms that carry an IPv4 address inside.
/// </summary>
public sealed class PrivateNetworksTests
{
    [Theory]
    [InlineData("0.0.0.0", "unspecified")]
    [InlineData("0.255.255.255", "unspecified")]
    [InlineData("10.0.0.0", "private")]
    [InlineData("10.255.255.255", "private")]
    [InlineData("100.64.0.0", "shared (CGNAT)")]
    [InlineData("100.127.255.255", "shared (CGNAT)")]
    [InlineData("100.100.100.200", "cloud metadata")]
    [InlineData("127.0.0.0", "loopback")]
    [InlineData("127.255.255.255", "loopback")]
    [InlineData("169.254.0.0", "link-local")]
    [InlineData("169.254.255.255", "link-local")]
    [InlineData("169.254.169.254", "cloud metadata")]
    [InlineData("172.16.0.0", "private")]
    [InlineData("172.31.255.255", "private")]
    [InlineData("192.0.0.0", "reserved")]
    [InlineData("192.0.0.192", "cloud metadata")]
    [InlineData("192.0.2.1", "reserved")]
    [InlineData("192.168.0.0", "private")]
    [InlineData("192.168.255.255", "private")]
    [InlineData("198.18.0.0", "reserved")]
    [InlineData("198.19.255.255", "reserved")]
    [InlineData("198.51.100.7", "reserved")]
    [InlineData("203.0.113.7", "reserved")]
    [InlineData("224.0.0.0", "multicast")]
    [InlineData("239.255.255.255", "multicast")]
    [InlineData("240.0.0.0", "reserved")]
    [InlineData("255.255.255.254", "reserved")]
    [InlineData("255.255.255.255", "broadcast")]
    public void EveryRefusedIPv4RangeIsRefusedToItsEdgesWithItsReason(string address, string reason) =>
        Assert.Equal(reason, PrivateNetworks.Classify(IPAddress.Parse(address)));

    [Theory]
    [InlineData("1.0.0.0")]
    [InlineData("9.255.255.255")]
    [InlineData("11.0.0.0")]
    [InlineData("100.63.255.255")]
    [InlineData("100.128.0.0")]
    [InlineData("126.255.255.255")]
    [InlineData("128.0.0.0")]
    [InlineData("169.253.255.255")]
    [InlineData("169.255.0.0")]
    [InlineData("172.15.255.255")]
    [InlineData("172.32.0.0")]
    [InlineData("192.0.1.0")]
    [InlineData("192.0.3.0")]
    [InlineData("192.167.255.255")]
    [InlineData("192.169.0.0")]
    [InlineData("198.17.255.255")]
    [InlineData("198.20.0.0")]
    [InlineData("223.255.255.255")]
    [InlineData("8.8.8.8")]
    [InlineData("93.184.216.34")]
    public void TheIPv4AddressesJustOutsideEachRangeArePublic(string address) =>
        Assert.Null(PrivateNetworks.Classify(IPAddress.Parse(address)));

    [Theory]
    [InlineData("::", "unspecified")]
    [InlineData("::1", "loopback")]
    [InlineData("fd00:ec2::254", "cloud metadata")]
    [InlineData("fc00::", "private")]
    [InlineData("fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "private")]
    [InlineData("fe80::1", "link-local")]
    [InlineData("febf:ffff::1", "link-local")]
    [InlineData("fec0::1", "private")]
    [InlineData("ff02::1", "multicast")]
    [InlineData("2001:db8::1", "reserved")]
    [InlineData("100::1", "reserved")]
    [InlineData("64:ff9b:1::1", "private")]
    public void EveryRefusedIPv6RangeIsRefusedWithItsReason(string address, string reason) =>
        Assert.Equal(reason, PrivateNetworks.Classify(IPAddress.Parse(address)));

    [Theory]
    [InlineData("::ffff:127.0.0.1", "loopback")]           // IPv4-mapped
    [InlineData("::ffff:192.168.1.1", "private")]
    [InlineData("::127.0.0.1", "loopback")]                // IPv4-compatible
    [InlineData("::ffff:0:10.0.0.1", "private")]           // IPv4-translated
    [InlineData("64:ff9b::a9fe:a9fe", "cloud metadata")]   // NAT64 around 169.254.169.254
    [InlineData("2002:7f00:1::1", "loopback")]             // 6to4 around 127.0.0.1
    [InlineData("2002:c0a8:101::1", "private")]            // 6to4 around 192.168.1.1
    [InlineData("2001:0:4136:e378:8000:63bf:80ff:fffe", "loopback")] // Teredo, client 127.0.0.1 (inverted)
    [InlineData("2001:0:a00:1::1", "private")]             // Teredo, server 10.0.0.1
    public void AnIPv6FormCarryingARefusedIPv4AddressIsRefusedForThatAddress(string address, string reason) =>
        Assert.Equal(reason, PrivateNetworks.Classify(IPAddress.Parse(address)));

    [Theory]
    [InlineData("2606:4700:4700::1111")]
    [InlineData("::ffff:8.8.8.8")]
    [InlineData("64:ff9b::808:808")]
    [InlineData("2002:808:808::1")]
    [InlineData("fbff:ffff::1")]
    [InlineData("fe00::1")]
    public void PublicIPv6AddressesAndFormsCarryingAPublicIPv4AddressArePublic(string address) =>
        Assert.Null(PrivateNetworks.Classify(IPAddress.Parse(address)));

    [Theory]
    [InlineData("metadata", "cloud metadata")]
    [InlineData("metadata.google.internal", "cloud metadata")]
    [InlineData("METADATA.GOOGLE.INTERNAL.", "cloud metadata")]
    [InlineData("metadata.goog", "cloud metadata")]
    [InlineData("instance-data", "cloud metadata")]
    [InlineData("instance-data.ec2.internal", "cloud metadata")]
    public void CloudMetadataNamesAreRefusedWithoutAsking(string host, string reason)
    {
        Assert.Equal(reason, PrivateNetworks.ClassifyName(host, includeLocalhost: false));
        Assert.Equal(reason, PrivateNetworks.ClassifyName(host, includeLocalhost: true));
    }

    [Theory]
    [InlineData("localhost")]
    [InlineData("LOCALHOST.")]
    [InlineData("hooks.localhost")]
    public void LocalhostIsRefusedByNameOnlyWhenAsked(string host)
    {
        Assert.Equal("loopback", PrivateNetworks.ClassifyName(host, includeLocalhost: true));
        Assert.Null(PrivateNetworks.ClassifyName(host, includeLocalhost: false)); // at connection time its DNS answer decides
    }

    [Theory]
    [InlineData("example.com")]
    [InlineData("metadata.example.com")]
    [InlineData("localhost.example.com")]
    [InlineData("mylocalhost")]
    public void OtherNamesAreLeftToTheirDnsAnswers(string host) => Assert.Null(PrivateNetworks.ClassifyName(host, includeLocalhost: true));
}
