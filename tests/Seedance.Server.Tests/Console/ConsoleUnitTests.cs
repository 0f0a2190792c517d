using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Seedance.Server.WebConsole;

namespace Seedance.Server.Tests.WebConsole;

/// <summary>The console's pure logic: the sealing and life of its sessions, the sign-in throttle, the paths it returns to, the language, the chart's days.</summary>
public sealed class ConsoleUnitTests
{
    private static readonly byte[] SigningKey = RandomNumberGenerator.GetBytes(32);

    [Fact]
    public void ASessionSealedOnOneNodeOpensOnAnotherThatSharesTheSigningKey()
    {
        var sealedOnA = new DerivedDataProtectionProvider(SigningKey).CreateProtector("cookie").CreateProtector("Console").Protect(Encoding.UTF8.GetBytes("ticket"));
        var openedOnB = new DerivedDataProtectionProvider((byte[])SigningKey.Clone()).CreateProtector("cookie").CreateProtector("Console").Unprotect(sealedOnA);
        Assert.Equal("ticket", Encoding.UTF8.GetString(openedOnB));
    }

    [Fact]
    public void ASessionDoesNotOpenUnderAnotherKeyAnotherPurposeOrOnceTamperedWith()
    {
        var protector = new DerivedDataProtectionProvider(SigningKey).CreateProtector("cookie");
        var sealedTicket = protector.Protect(Encoding.UTF8.GetBytes("ticket"));
        Assert.ThrowsAny<CryptographicException>(() => new DerivedDataProtectionProvider(RandomNumberGenerator.GetBytes(32)).CreateProtector("cookie").Unprotect(sealedTicket));
        Assert.ThrowsAny<CryptographicException>(() => new DerivedDataProtectionProvider(SigningKey).CreateProtector("antiforgery").Unprotect(sealedTicket));
        var tampered = (byte[])sealedTicket.Clone();
        tampered[^1] ^= 1;
        Assert.ThrowsAny<CryptographicException>(() => protector.Unprotect(tampered));
        Assert.ThrowsAny<CryptographicException>(() => protector.Unprotect([1, 2, 3]));
        Assert.NotEqual(sealedTicket, protector.Protect(Encoding.UTF8.GetBytes("ticket"))); // a fresh nonce each time
    }

    [Fact]
    public void SignInAttemptsFromOneAddressAreRefusedPastTheLimitWhileAnotherAddressMayTry()
    {
        var limit = new SignInLimit(perMinute: 10);
        var first = Client("203.0.113.7");
        var partition = limit.GetPartition(first);
        using var limiter = partition.Factory(partition.PartitionKey);
        for (var i = 0; i < 10; i++) Assert.True(limiter.AttemptAcquire().IsAcquired, $"attempt {i + 1}");
        Assert.False(limiter.AttemptAcquire().IsAcquired);
        Assert.NotEqual(partition.PartitionKey, limit.GetPartition(Client("203.0.113.8")).PartitionKey);
        Assert.Equal(partition.PartitionKey, limit.GetPartition(Client("203.0.113.7")).PartitionKey);
    }

    [Theory]
    [InlineData("/console/tasks?status=completed", "/console/tasks?status=completed")]
    [InlineData("/console", "/console")]
    [InlineData("//evil.example/console", "/console")]
    [InlineData("https://evil.example/console", "/console")]
    [InlineData("/consolex", "/console")]
    [InlineData("/console\\..\\admin", "/console")]
    [InlineData("/api/v1/video/balance", "/console")]
    [InlineData(null, "/console")]
    public void OnlyAPathInsideTheConsoleIsReturnedTo(string? asked, string expected) => Assert.Equal(expected, ConsolePages.LocalPath(asked));

    [Theory]
    [InlineData("zh-CN,zh;q=0.9,en;q=0.8", null, "zh")]
    [InlineData("en-US,en;q=0.9,zh;q=0.8", null, "en")]
    [InlineData("zh-TW", "en", "en")]
    [InlineData("", "zh", "zh")]
    [InlineData("", null, "en")]
    public void TheLanguageIsTheSwitchsChoiceElseTheBrowsersElseEnglish(string acceptLanguage, string? chosen, string expected)
    {
        var http = new DefaultHttpContext();
        http.Request.Headers.AcceptLanguage = acceptLanguage;
        if (chosen is not null) http.Request.Headers.Cookie = $"{SignInEndpoints.LanguageCookie}={chosen}";
        Assert.Equal(expected, ConsoleText.For(http).Lang);
    }

    [Fact]
    public void EveryWordHasAChineseTranslationAndEveryCodeAMeaning()
    {
        var probe = new[] { "signin", "nav.tasks", "error.INSUFFICIENT_CREDIT", "error.FORM_EXPIRED" };
        foreach (var word in probe) Assert.NotEqual(ConsoleText.En[word], ConsoleText.Zh[word]);
        foreach (var code in Seedance.Server.Infrastructure.ErrorCodes.All.Keys.Where(c => !c.StartsWith("CHANNEL_", StringComparison.Ordinal)
            && c is not "INVALID_ADMIN_TOKEN" and not "METHOD_NOT_ALLOWED"))
            Assert.NotEqual(ConsoleText.En.Meaning("OTHER_UNKNOWN"), ConsoleText.En.Meaning(code));
    }

    [Theory]
    [InlineData("/console/tasks", "/console/tasks?notice=cancelled")]
    [InlineData("/console/tasks?page=2", "/console/tasks?page=2&notice=cancelled")]
    [InlineData("/console/tasks?page=2&notice=cancelled", "/console/tasks?page=2&notice=cancelled")]
    [InlineData("/console/tasks?notice=redelivered&status=queued", "/console/tasks?status=queued&notice=cancelled")]
    public void AFormsWayBackCarriesOneNoticeAlone(string back, string expected) => Assert.Equal(expected, CustomerPages.WithNotice(back, "cancelled"));

    [Fact]
    public void ASessionEndsSevenDaysAfterItsSignInHoweverOftenItIsUsed()
    {
        var signIn = new DateTimeOffset(2026, 12, 1, 8, 0, 0, TimeSpan.Zero);
        var properties = ConsoleSession.Properties(new FixedClock(signIn));
        Assert.True(ConsoleSession.WithinMaxLifetime(properties, signIn.AddDays(7).AddSeconds(-1)));
        Assert.False(ConsoleSession.WithinMaxLifetime(properties, signIn.AddDays(7)));
        Assert.False(ConsoleSession.WithinMaxLifetime(new Microsoft.AspNetCore.Authentication.AuthenticationProperties(), signIn)); // no time of sign-in: not a session of ours
    }

    [Fact]
    public void TheBalanceChartReadsYesterdayLiveSoThatARowDatedJustBeforeMidnightAndCommittedAfterItCounts()
    {
        var justAfterMidnight = new DateTime(2026, 12, 8, 0, 0, 5, DateTimeKind.Utc);
        Assert.Equal(new DateTime(2026, 12, 7, 0, 0, 0, DateTimeKind.Utc), DailyUsage.LiveFrom(justAfterMidnight));
        Assert.Equal(new DateTime(2026, 12, 7, 0, 0, 0, DateTimeKind.Utc), DailyUsage.LiveFrom(justAfterMidnight.AddHours(23)));
    }

    private sealed class FixedClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }

    private static DefaultHttpContext Client(string address) => new() { Connection = { RemoteIpAddress = IPAddress.Parse(address) } };
}
