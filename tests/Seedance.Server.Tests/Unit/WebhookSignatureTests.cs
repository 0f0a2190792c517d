using System.Security.Cryptography;
using System.Text;
using Seedance.Server.Callbacks;
using Seedance.Server.Data;

namespace Seedance.Server.Tests.Unit;

/// <summary>Standard Webhooks signing, checked against the specification's test vector and an HMAC written here from the specification.</summary>
public sealed class WebhookSignatureTests
{
    private const string VectorSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    private const string VectorId = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    private const long VectorTimestamp = 1614265330;
    private const string VectorBody = """{"test": 2432232314}""";
    private const string VectorSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    /// <summary>The receiver's side, written from the specification (as the README's Python example does it).</summary>
    private static bool Verifies(string secret, string id, long timestamp, string body, string header)
    {
        var key = Convert.FromBase64String(secret["whsec_".Length..]);
        var expected = Convert.ToBase64String(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes($"{id}.{timestamp}.{body}")));
        return header.Split(' ').Any(entry => entry.Split(',', 2) is ["v1", var signature] &&
            CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(signature), Encoding.ASCII.GetBytes(expected)));
    }

    [Fact]
    public void TheSignatureMatchesTheSpecificationsTestVector()
    {
        Assert.Equal(VectorSignature, WebhookSignature.Sign(VectorSecret, VectorId, VectorTimestamp, VectorBody));
        Assert.True(Verifies(VectorSecret, VectorId, VectorTimestamp, VectorBody, VectorSignature));
    }

    [Fact]
    public void ASecretWithoutItsPrefixSignsTheSame() =>
        Assert.Equal(VectorSignature, WebhookSignature.Sign(VectorSecret["whsec_".Length..], VectorId, VectorTimestamp, VectorBody));

    [Theory]
    [InlineData("msg_other", VectorTimestamp, VectorBody)]
    [InlineData(VectorId, VectorTimestamp + 1, VectorBody)]
    [InlineData(VectorId, VectorTimestamp, """{"test": 2432232315}""")]
    [InlineData(VectorId, VectorTimestamp, """{"test":2432232314}""")]
    public void AChangedIdTimestampOrBodyNoLongerVerifies(string id, long timestamp, string body)
    {
        Assert.NotEqual(VectorSignature, WebhookSignature.Sign(VectorSecret, id, timestamp, body));
        Assert.False(Verifies(VectorSecret, id, timestamp, body, VectorSignature));
    }

    [Fact]
    public void TheHeaderCarriesOneEntryPerSecretInUseAndEitherSecretVerifiesIt()
    {
        var (fresh, previous) = (WebhookSignature.NewSecret(), WebhookSignature.NewSecret());

        var header = WebhookSignature.Header([fresh, previous], "msg_1", 1700000000, "{}");

        var entries = header.Split(' ');
        Assert.Equal([WebhookSignature.Sign(fresh, "msg_1", 1700000000, "{}"), WebhookSignature.Sign(previous, "msg_1", 1700000000, "{}")], entries);
        Assert.True(Verifies(fresh, "msg_1", 1700000000, "{}", header));
        Assert.True(Verifies(previous, "msg_1", 1700000000, "{}", header));
        Assert.False(Verifies(WebhookSignature.NewSecret(), "msg_1", 1700000000, "{}", header));
    }

    [Fact]
    public void ANewSecretIsWhsecAndTwentyFourRandomBytes()
    {
        var secrets = Enumerable.Range(0, 20).Select(_ => WebhookSignature.NewSecret()).ToList();
        Assert.All(secrets, s => Assert.StartsWith("whsec_", s));
        Assert.All(secrets, s => Assert.Equal(24, Convert.FromBase64String(s["whsec_".Length..]).Length));
        Assert.Equal(secrets.Count, secrets.Distinct().Count());
    }

    [Fact]
    public void AWebhookIdIsMsgAndAFreshUuid()
    {
        var ids = Enumerable.Range(0, 20).Select(_ => CallbackOutbox.NewWebhookId()).ToList();
        Assert.All(ids, id => Assert.Matches("^msg_[0-9a-f]{32}$", id));
        Assert.Equal(ids.Count, ids.Distinct().Count());
    }
}
