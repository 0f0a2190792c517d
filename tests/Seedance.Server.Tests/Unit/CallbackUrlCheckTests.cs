using Seedance.Server.Callbacks;

namespace Seedance.Server.Tests.Unit;

/// <summary><see cref="SafeHttp.Check"/>: the early check of a callback_url at submission, without DNS.</summary>
public sealed class CallbackUrlCheckTests
{
    /// <summary>Loopback in the notations a URL may carry it in.</summary>
    [Theory]
    [InlineData("http://127.0.0.1:8080/hook")]
    [InlineData("http://2130706433:8080/hook")]
    [InlineData("http://0x7f000001:8080/hook")]
    [InlineData("http://0x7F.0.0.1:8080/hook")]
    [InlineData("http://0177.0.0.1:8080/hook")]
    [InlineData("http://017700000001:8080/hook")]
    [InlineData("http://127.1:8080/hook")]
    [InlineData("http://0x7f.1:8080/hook")]
    [InlineData("http://127.000.000.001:8080/hook")]
    [InlineData("http://127.0.0.1./hook")]
    [InlineData("http://[::ffff:127.0.0.1]:8080/hook")]
    [InlineData("http://[::ffff:7f00:1]:8080/hook")]
    [InlineData("http://[0:0:0:0:0:ffff:127.0.0.1]:8080/hook")]
    [InlineData("http://[::1]:8080/hook")]
    [InlineData("http://[0:0:0:0:0:0:0:1]:8080/hook")]
    [InlineData("http://localhost:8080/hook")]
    [InlineData("http://localhost./hook")]
    [InlineData("http://hooks.localhost/hook")]
    [InlineData("https://LOCALHOST/hook")]
    public void LoopbackInAnyNotationIsRefusedUnlessPrivateNetworksAreAllowed(string url)
    {
        var check = SafeHttp.Check(url, allowPrivate: false);

        Assert.False(check.IsAllowed);
        Assert.Equal("callback_url points to a destination that is not allowed (loopback)", check.Error);
        Assert.Equal(CallbackUrlCheck.Allowed, SafeHttp.Check(url, allowPrivate: true));
    }

    [Theory]
    [InlineData("http://10.1/", "private")]
    [InlineData("http://0300.0250.1.1/", "private")]
    [InlineData("http://[fe80::1%25eth0]/", "link-local")]
    [InlineData("http://169.254.43518/latest/meta-data/", "cloud metadata")]
    [InlineData("http://metadata.google.internal/computeMetadata/v1/", "cloud metadata")]
    [InlineData("http://0/", "unspecified")]
    [InlineData("http://4294967295/", "broadcast")]
    [InlineData("https://100.64.0.1/", "shared (CGNAT)")]
    public void APrivateOrSpecialDestinationIsRefusedNamingWhyItIsNotAllowed(string url, string reason) =>
        Assert.Equal(CallbackUrlCheck.Refused($"callback_url points to a destination that is not allowed ({reason})"), SafeHttp.Check(url, allowPrivate: false));

    [Theory]
    [InlineData("https://example.com/hooks/seedance")]
    [InlineData("http://93.184.216.34/hook")]
    [InlineData("http://8.8.8.8:8080/")]
    [InlineData("http://100.63.255.255/")]
    [InlineData("http://100.128.0.1/")]
    [InlineData("http://172.15.255.255/")]
    [InlineData("http://172.32.0.1/")]
    [InlineData("http://192.167.255.255/")]
    [InlineData("http://169.253.255.255/")]
    [InlineData("http://223.255.255.255/")]
    [InlineData("http://[2606:4700:4700::1111]/")]
    [InlineData("http://[::ffff:8.8.8.8]/")]
    [InlineData("http://[2002:808:808::1]/")]
    [InlineData("https://hooks.example.com/")]
    public void PublicDestinationsAreAllowed(string url) => Assert.Equal(CallbackUrlCheck.Allowed, SafeHttp.Check(url, allowPrivate: false));

    [Theory]
    [InlineData("ftp://example.com/hook")]
    [InlineData("file:///etc/passwd")]
    [InlineData("/relative/hook")]
    [InlineData("javascript:alert(1)")]
    public void AUrlThatIsNotAbsoluteHttpOrHttpsIsRefusedEvenWhenPrivateNetworksAreAllowed(string url)
    {
        var refused = CallbackUrlCheck.Refused("callback_url must be an absolute http or https URL");
        Assert.Equal(refused, SafeHttp.Check(url, allowPrivate: false));
        Assert.Equal(refused, SafeHttp.Check(url, allowPrivate: true));
    }
}
