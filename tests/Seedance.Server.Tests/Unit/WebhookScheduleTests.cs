using System.Net.Http.Headers;
using Seedance.Server.Callbacks;

namespace Seedance.Server.Tests.Unit;

/// <summary>The Standard Webhooks retry schedule, its jitter and how a receiver's Retry-After bends it.</summary>
public sealed class WebhookScheduleTests
{
    private static readonly TimeSpan[] Documented =
    [
        TimeSpan.FromSeconds(5), TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(30), TimeSpan.FromHours(2),
        TimeSpan.FromHours(5), TimeSpan.FromHours(10), TimeSpan.FromHours(10),
    ];

    private static readonly DateTimeOffset Now = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void TheScheduleIsTheSpecificationsStretchedByJitterAndALongerRetryAfterWins()
    {
        for (var made = 1; made <= Documented.Length; made++)
        {
            Assert.Equal(Documented[made - 1], WebhookSchedule.NextDelay(made, null, 0));
            var jittered = WebhookSchedule.NextDelay(made, null, 0.999)!.Value;
            Assert.InRange(jittered, Documented[made - 1], Documented[made - 1] * 1.1);
        }
        Assert.Null(WebhookSchedule.NextDelay(8, null, 0));
        Assert.Equal(TimeSpan.FromMinutes(2), WebhookSchedule.NextDelay(1, TimeSpan.FromMinutes(2), 0));
        Assert.Equal(TimeSpan.FromMinutes(5), WebhookSchedule.NextDelay(2, TimeSpan.FromSeconds(30), 0));
        Assert.Equal(WebhookSchedule.MaxRetryAfter, WebhookSchedule.NextDelay(1, TimeSpan.FromDays(30), 0));

        Assert.Equal(TimeSpan.FromSeconds(120), WebhookSchedule.RetryAfter("120", Now));
        Assert.Equal(TimeSpan.FromMinutes(10), WebhookSchedule.RetryAfter("Thu, 01 Jan 2026 12:10:00 GMT", Now));
        Assert.Null(WebhookSchedule.RetryAfter("soon", Now));
    }

    [Fact]
    public void ThereAreEightAttemptsInAll() => Assert.Equal(8, WebhookSchedule.MaxAttempts);

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(8)]
    [InlineData(9)]
    public void NoWaitIsGivenBeforeTheFirstAttemptOrAfterTheEighth(int attemptsMade) =>
        Assert.Null(WebhookSchedule.NextDelay(attemptsMade, TimeSpan.FromMinutes(1), 0.5));

    [Fact]
    public void JitterOnlyEverLengthensAWaitAndByAtMostTenPercent()
    {
        for (var made = 1; made <= Documented.Length; made++)
            foreach (var jitter in new[] { 0, 0.25, 0.5, 0.999999 })
            {
                var delay = WebhookSchedule.NextDelay(made, null, jitter)!.Value;
                Assert.Equal(Documented[made - 1] * (1 + 0.1 * jitter), delay);
            }
    }

    [Fact]
    public void ARetryAfterShorterThanTheJitteredWaitLeavesTheWaitAsItIs() =>
        Assert.Equal(TimeSpan.FromMinutes(5) * 1.05, WebhookSchedule.NextDelay(2, TimeSpan.FromMinutes(5), 0.5));

    [Fact]
    public void ARetryAfterOfExactlyTheLimitIsHonouredAndALongerOneIsCutToIt()
    {
        Assert.Equal(TimeSpan.FromHours(24), WebhookSchedule.NextDelay(7, TimeSpan.FromHours(24), 0));
        Assert.Equal(TimeSpan.FromHours(24), WebhookSchedule.NextDelay(7, TimeSpan.FromHours(24) + TimeSpan.FromSeconds(1), 0));
    }

    [Theory]
    [InlineData("0", 0)]
    [InlineData("3600", 3600)]
    [InlineData("Thu, 01 Jan 2026 13:00:00 GMT", 3600)]
    [InlineData("Thu, 01 Jan 2026 12:00:00 GMT", 0)]
    [InlineData("Thu, 01 Jan 2026 11:00:00 GMT", 0)]
    public void ARetryAfterInSecondsOrAsAnHttpDateIsAWaitFromNowAndADateInThePastIsNoWait(string value, int seconds) =>
        Assert.Equal(TimeSpan.FromSeconds(seconds), WebhookSchedule.RetryAfter(value, Now));

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("soon")]
    [InlineData("-5")]
    [InlineData("1.5")]
    public void ARetryAfterThatIsNeitherSecondsNorAnHttpDateIsIgnored(string? value) => Assert.Null(WebhookSchedule.RetryAfter(value, Now));

    [Fact]
    public void AParsedRetryAfterHeaderIsReadTheSameWay()
    {
        Assert.Equal(TimeSpan.FromSeconds(90), WebhookSchedule.RetryAfter(new RetryConditionHeaderValue(TimeSpan.FromSeconds(90)), Now));
        Assert.Equal(TimeSpan.FromMinutes(1), WebhookSchedule.RetryAfter(new RetryConditionHeaderValue(Now.AddMinutes(1)), Now));
        Assert.Null(WebhookSchedule.RetryAfter((RetryConditionHeaderValue?)null, Now));
    }
}
