using System.Globalization;

namespace Seedance.Server.Infrastructure;

/// <summary>The period a report covers, <c>[from, to)</c>, from the query's <c>from</c> and <c>to</c> (ISO 8601 times or dates, UTC).</summary>
public readonly record struct ReportPeriod(DateTime From, DateTime To)
{
    /// <param name="span">How far before <c>to</c> the period starts when <c>from</c> is not given.</param>
    public static ReportPeriod Parse(string? from, string? to, DateTime now, TimeSpan span)
    {
        var end = to is null ? now : Time(to, "to");
        var start = from is null ? end - span : Time(from, "from");
        if (start >= end) throw ApiError.InvalidParameter("from must be before to");
        return new ReportPeriod(start, end);
    }

    private static DateTime Time(string text, string name) =>
        DateTime.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var time)
            ? DateTime.SpecifyKind(time, DateTimeKind.Utc)
            : throw ApiError.InvalidParameter($"{name} must be an ISO 8601 time or date in UTC, e.g. 2026-12-01T00:00:00Z or 2026-12-01");

    /// <summary>A whole number in <c>[min, max]</c>, or <paramref name="fallback"/> when absent.</summary>
    public static int Int(string? text, string name, int fallback, int min, int max) =>
        text is null ? fallback
        : int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= min && n <= max ? n
        : throw ApiError.InvalidParameter($"{name} must be an integer of {min}-{max}");
}
