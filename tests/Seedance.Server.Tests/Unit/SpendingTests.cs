using Seedance.Server.Data;

namespace Seedance.Server.Tests.Unit;

/// <summary>How a key's row of day and month counters reads at a given moment, and when each limit resets.</summary>
public sealed class SpendingTests
{
    private static readonly DateTime Now = new(2026, 12, 31, 23, 59, 59, DateTimeKind.Utc);

    private static ApiKey Key(int day, decimal dayCredits, int month, decimal monthCredits) => new()
    {
        Name = "k", KeyHash = [], KeyPrefix = "sk", DailyCreditLimit = 10m, MonthlyCreditLimit = 100m,
        SpendDay = day, SpendDayCredits = dayCredits, SpendMonth = month, SpendMonthCredits = monthCredits,
    };

    [Fact]
    public void CountersOfAnEarlierPeriodCountNothingAndThoseOfTheCurrentOrALaterOneCount()
    {
        var (today, month) = (Spending.DayOf(Now), Spending.MonthOf(Now));
        Assert.Equal((0m, 0m), Used(Key(today - 1, 9m, month - 1, 90m)));
        Assert.Equal((9m, 90m), Used(Key(today, 9m, month, 90m)));
        // A node whose clock runs behind another's, around midnight: the later period's spending still counts.
        Assert.Equal((9m, 90m), Used(Key(today + 1, 9m, month + 1, 90m)));
    }

    [Fact]
    public void ATaskThatFitsExactlyIsAllowedAndOneCentMoreIsRefusedNamingTheLimitThatResetsFirst()
    {
        var spending = Spending.Of(Key(Spending.DayOf(Now), 6m, Spending.MonthOf(Now), 96m), Now);
        Assert.True(spending.Allows(4m));
        Assert.Equal("Insufficient credit: the key's daily credit limit is 10, 6 used today, task costs 4.01; the limit resets at 2027-01-01T00:00:00Z",
            spending.Refusal(4.01m)!.Message);
        var noDaily = spending with { DailyLimit = null };
        Assert.Equal("Insufficient credit: the key's monthly credit limit is 100, 96 used this month, task costs 4.01; the limit resets at 2027-01-01T00:00:00Z",
            noDaily.Refusal(4.01m)!.Message);
        Assert.True((noDaily with { MonthlyLimit = null }).Allows(1_000_000m));
    }

    private static (decimal Daily, decimal Monthly) Used(ApiKey key)
    {
        var spending = Spending.Of(key, Now);
        return (spending.DailyUsed, spending.MonthlyUsed);
    }
}
