using System.Globalization;
using System.Text;
using Microsoft.EntityFrameworkCore;
using Seedance.Server.Data;
using Seedance.Server.Infrastructure;

namespace Seedance.Server.Usage;

/// <summary>
/// One row of a usage report: the figures of one group (the dimensions not grouped by are null). Each figure counts
/// what happened in the period, on the day it happened: <c>tasks</c> were submitted, <c>completed</c> ... <c>expired</c>
/// ended so, <c>video_seconds</c> were completed, <c>credits</c> were captured (the ledger's captures, exactly).
/// </summary>
public sealed record UsageRow(string? Day, long? KeyId, string? Model, string? Resolution, string? Channel,
    int Tasks, int Completed, int Failed, int Cancelled, int Expired, long VideoSeconds, decimal Credits);

public sealed record UsageReportView(DateTime From, DateTime To, IReadOnlyList<string> GroupBy, IReadOnlyList<UsageRow> Rows, UsageRow Total);

/// <summary>
/// Usage per period and group, worked out by the database: three grouped queries (submissions by the day they were
/// made, ends by the day they happened, the ledger's captures by the day they were written, each by key, model,
/// resolution and channel) rolled up here to the dimensions asked for. Credits are summed from <c>credit_ledger</c>
/// itself, so a report and the ledger can never disagree.
/// </summary>
public static class UsageReport
{
    public const string Day = "day", Key = "key", Model = "model", Resolution = "resolution", Channel = "channel";
    public static readonly string[] AdminDimensions = [Day, Key, Model, Resolution, Channel];
    public static readonly string[] CustomerDimensions = [Day, Model];

    /// <summary>The dimensions of <c>group_by</c> (comma-separated), in their canonical order; refused when one is not among <paramref name="allowed"/>.</summary>
    public static IReadOnlyList<string> Dimensions(string? groupBy, string[] allowed)
    {
        if (string.IsNullOrWhiteSpace(groupBy)) return [];
        var asked = groupBy.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        foreach (var d in asked)
            if (!allowed.Contains(d)) throw ApiError.InvalidParameter($"group_by must be a comma-separated subset of {string.Join(",", allowed)}; '{d}' is not one");
        return allowed.Where(asked.Contains).ToList();
    }

    private readonly record struct Group(DateTime? Day, long? KeyId, string? Model, string? Resolution, string? Channel);

    private sealed class Figures
    {
        public int Tasks, Completed, Failed, Cancelled, Expired;
        public long VideoSeconds;
        public decimal Credits;

        public void Add(Figures other)
        {
            Tasks += other.Tasks; Completed += other.Completed; Failed += other.Failed; Cancelled += other.Cancelled; Expired += other.Expired;
            VideoSeconds += other.VideoSeconds; Credits += other.Credits;
        }
    }

    // What each grouped query returns: the dimensions a report may ask for, the figures of the group.
    private sealed record Submitted(DateTime Date, long KeyId, string Model, string Resolution, string? ChannelName, int Count);
    private sealed record Ended(DateTime Date, long KeyId, string Model, string Resolution, string? ChannelName, string Status, int Count, long Seconds);
    private sealed record Captured(DateTime Date, long KeyId, string Model, string Resolution, string? ChannelName, decimal Credits);

    public static async Task<UsageReportView> RunAsync(SeedanceDb db, ReportPeriod period, IReadOnlyList<string> dimensions, long? keyId, CancellationToken ct)
    {
        var (start, end) = (period.From, period.To);
        // The key's condition only when there is one: "@key IS NULL OR key_id = @key" would keep the database from its indexes.
        var tasks = db.Tasks.AsNoTracking();
        var ledger = db.Ledger.AsNoTracking().Where(l => l.Kind == LedgerKind.Capture && l.CreatedAt >= start && l.CreatedAt < end);
        if (keyId is { } key)
        {
            tasks = tasks.Where(t => t.KeyId == key);
            ledger = ledger.Where(l => l.KeyId == key);
        }
        var inPeriod = tasks.Where(t => t.CreatedAt >= start && t.CreatedAt < end);
        var endedInPeriod = tasks.Where(t => t.FinishedAt >= start && t.FinishedAt < end && VideoTaskStatus.Terminal.Contains(t.Status));
        List<Submitted> submitted;
        List<Ended> ended;
        List<Captured> captured;
        if (dimensions.Any(d => d != Day))
        {
            submitted = await inPeriod
                .GroupBy(t => new { t.CreatedAt.Date, t.KeyId, t.Model, t.Resolution, t.ChannelName })
                .Select(g => new Submitted(g.Key.Date, g.Key.KeyId, g.Key.Model, g.Key.Resolution, g.Key.ChannelName, g.Count()))
                .ToListAsync(ct);
            ended = await endedInPeriod
                .GroupBy(t => new { t.FinishedAt!.Value.Date, t.KeyId, t.Model, t.Resolution, t.ChannelName, t.Status })
                .Select(g => new Ended(g.Key.Date, g.Key.KeyId, g.Key.Model, g.Key.Resolution, g.Key.ChannelName, g.Key.Status, g.Count(), g.Sum(t => (long)t.Duration)))
                .ToListAsync(ct);
            captured = await (
                    from l in ledger
                    join t in db.Tasks.AsNoTracking() on l.TaskId equals t.TaskId
                    group l.Amount by new { l.CreatedAt.Date, l.KeyId, t.Model, t.Resolution, t.ChannelName } into g
                    select new Captured(g.Key.Date, g.Key.KeyId, g.Key.Model, g.Key.Resolution, g.Key.ChannelName, g.Sum()))
                .ToListAsync(ct);
        }
        else if (dimensions.Contains(Day))
        {
            // By day alone: the database groups by day, and the captures need no task.
            submitted = await inPeriod.GroupBy(t => t.CreatedAt.Date)
                .Select(g => new Submitted(g.Key, 0, "", "", null, g.Count())).ToListAsync(ct);
            ended = await endedInPeriod.GroupBy(t => new { t.FinishedAt!.Value.Date, t.Status })
                .Select(g => new Ended(g.Key.Date, 0, "", "", null, g.Key.Status, g.Count(), g.Sum(t => (long)t.Duration))).ToListAsync(ct);
            captured = await ledger.GroupBy(l => l.CreatedAt.Date)
                .Select(g => new Captured(g.Key, 0, "", "", null, g.Sum(l => l.Amount))).ToListAsync(ct);
        }
        else
        {
            // In all (the console's overview of a day of every key): counts and sums read from the indexes alone, without a
            // day worked out for each row, which would cost more than the rest of the query.
            var count = await inPeriod.CountAsync(ct);
            submitted = count == 0 ? [] : [new Submitted(start, 0, "", "", null, count)];
            ended = await endedInPeriod.GroupBy(t => t.Status)
                .Select(g => new Ended(start, 0, "", "", null, g.Key, g.Count(), g.Sum(t => (long)t.Duration))).ToListAsync(ct);
            var credits = await ledger.SumAsync(l => l.Amount, ct);
            captured = credits == 0 ? [] : [new Captured(start, 0, "", "", null, credits)];
        }

        var groups = new Dictionary<Group, Figures>();
        Figures At(DateTime day, long key, string model, string resolution, string? channel)
        {
            var group = new Group(dimensions.Contains(Day) ? day.Date : null, dimensions.Contains(Key) ? key : null, dimensions.Contains(Model) ? model : null,
                dimensions.Contains(Resolution) ? resolution : null, dimensions.Contains(Channel) ? channel ?? "" : null);
            if (!groups.TryGetValue(group, out var figures)) groups[group] = figures = new Figures();
            return figures;
        }
        foreach (var s in submitted) At(s.Date, s.KeyId, s.Model, s.Resolution, s.ChannelName).Tasks += s.Count;
        foreach (var e in ended)
        {
            var figures = At(e.Date, e.KeyId, e.Model, e.Resolution, e.ChannelName);
            switch (e.Status)
            {
                case VideoTaskStatus.Completed: figures.Completed += e.Count; figures.VideoSeconds += e.Seconds; break;
                case VideoTaskStatus.Failed: figures.Failed += e.Count; break;
                case VideoTaskStatus.Cancelled: figures.Cancelled += e.Count; break;
                case VideoTaskStatus.Expired: figures.Expired += e.Count; break;
            }
        }
        foreach (var c in captured) At(c.Date, c.KeyId, c.Model, c.Resolution, c.ChannelName).Credits += c.Credits;

        var total = new Figures();
        foreach (var figures in groups.Values) total.Add(figures);
        var rows = groups.OrderBy(g => g.Key.Day).ThenBy(g => g.Key.KeyId).ThenBy(g => g.Key.Model, StringComparer.Ordinal)
            .ThenBy(g => g.Key.Resolution, StringComparer.Ordinal).ThenBy(g => g.Key.Channel, StringComparer.Ordinal)
            .Select(g => Row(g.Key, g.Value)).ToList();
        return new UsageReportView(start, end, dimensions, rows, Row(default, total));
    }

    private static UsageRow Row(Group g, Figures f) => new(g.Day?.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), g.KeyId, g.Model, g.Resolution, g.Channel,
        f.Tasks, f.Completed, f.Failed, f.Cancelled, f.Expired, f.VideoSeconds, f.Credits);

    /// <summary>The report as CSV: a header, then one line per row (the grouped dimensions first); no total line.</summary>
    public static string Csv(UsageReportView report)
    {
        var csv = new StringBuilder();
        var columns = report.GroupBy.Select(d => d == Key ? "key_id" : d)
            .Concat(["tasks", "completed", "failed", "cancelled", "expired", "video_seconds", "credits"]);
        csv.Append(string.Join(',', columns)).Append('\n');
        foreach (var row in report.Rows)
        {
            foreach (var d in report.GroupBy)
                csv.Append(Field(d switch
                {
                    Day => row.Day, Key => row.KeyId?.ToString(CultureInfo.InvariantCulture), Model => row.Model,
                    Resolution => row.Resolution, _ => row.Channel,
                })).Append(',');
            csv.Append(CultureInfo.InvariantCulture, $"{row.Tasks},{row.Completed},{row.Failed},{row.Cancelled},{row.Expired},{row.VideoSeconds},{Credits.Format(row.Credits)}\n");
        }
        return csv.ToString();
    }

    /// <summary>A CSV field: quoted when it holds a comma, a quote or a line break; a leading formula character is defused for spreadsheets.</summary>
    internal static string Field(string? value)
    {
        if (string.IsNullOrEmpty(value)) return "";
        if (value[0] is '=' or '+' or '-' or '@') value = "'" + value;
        return value.AsSpan().IndexOfAny(",\"\r\n") < 0 ? value : "\"" + value.Replace("\"", "\"\"") + "\"";
    }
}
