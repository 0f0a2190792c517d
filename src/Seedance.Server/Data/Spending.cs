using Seedance.Server.Infrastructure;

namespace Seedance.Server.Data;

/// <summary>
/// A key's spending in the current UTC day and month against its limits: what its tasks submitted in the period
/// reserved or used (a released reservation no longer counts). The figures come from the key's row, which the
/// ledger's reservation keeps (<see cref="CreditLedger"/>); this type reads them and words a refusal.
/// </summary>
public readonly record struct Spending(decimal? DailyLimit, decimal DailyUsed, decimal? MonthlyLimit, decimal MonthlyUsed, DateTime Now)
{
    /// <summary>The UTC day a moment falls in, as the key's row counts days.</summary>
    public static int DayOf(DateTime utc) => DateOnly.FromDateTime(utc).DayNumber;

    /// <summary>The UTC month a moment falls in, as the key's row counts months.</summary>
    public static int MonthOf(DateTime utc) => utc.Year * 12 + utc.Month - 1;

    /// <summary>
    /// The key's spending as of <paramref name="now"/>. A counter of an earlier period counts nothing; one of a later
    /// period (a node whose clock runs behind another's, around midnight) still counts: the reservation does the same.
    /// </summary>
    public static Spending Of(ApiKey key, DateTime now) => new(
        key.DailyCreditLimit, key.SpendDay >= DayOf(now) ? key.SpendDayCredits : 0m,
        key.MonthlyCreditLimit, key.SpendMonth >= MonthOf(now) ? key.SpendMonthCredits : 0m, now);

    public DateTime DayResetsAt => Now.Date.AddDays(1);

    public DateTime MonthResetsAt => new DateTime(Now.Year, Now.Month, 1, 0, 0, 0, DateTimeKind.Utc).AddMonths(1);

    /// <summary>Whether a task costing <paramref name="cost"/> stays within both limits.</summary>
    public bool Allows(decimal cost) => Refusal(cost) is null;

    /// <summary>The refusal of a task costing <paramref name="cost"/>: the limit it would pass and when that resets; null when it fits.</summary>
    public ApiError? Refusal(decimal cost)
    {
        if (DailyLimit is { } daily && DailyUsed + cost > daily)
            return ApiError.SpendingLimit("daily", daily, DailyUsed, cost, DayResetsAt);
        if (MonthlyLimit is { } monthly && MonthlyUsed + cost > monthly)
            return ApiError.SpendingLimit("monthly", monthly, MonthlyUsed, cost, MonthResetsAt);
        return null;
    }
}
