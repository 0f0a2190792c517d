using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace Seedance.Bench.Bar;

/// <summary>What one run measured, and its Markdown table: each figure, its baseline, the ratio, the bar and whether it holds.</summary>
public sealed class BarFigures
{
    public required BarSettings Settings { get; init; }
    public DateTimeOffset StartedAt { get; init; }
    public string LoadAverage { get; init; } = "";
    public string LoadAverageAfter { get; set; } = "";
    public double SeedSeconds { get; set; }
    public LoadResult GetMax { get; set; } = null!;
    public LoadResult BaselineGetMax { get; set; } = null!;
    public LoadResult GetAt80 { get; set; } = null!;
    public LoadResult BaselineGetAt80 { get; set; } = null!;
    public LoadResult SubmitMax { get; set; } = null!;
    public LoadResult BaselineInsertMax { get; set; } = null!;
    /// <summary>Submissions on a server with <c>Seedance:Database:Synchronous=normal</c> (the others run the default, <c>full</c>).</summary>
    public LoadResult SubmitMaxNormal { get; set; } = null!;
    public double UploadSeconds { get; set; }
    public double BaselineUploadSeconds { get; set; }
    public long? UploadGrowth { get; set; }
    public long? BaselineUploadGrowth { get; set; }
    public LoadResult ListFirst { get; set; } = null!;
    public LoadResult ListDeep { get; set; } = null!;
    public Distribution DispatchDelay { get; set; } = null!;
    public int DispatchSubmitted { get; set; }
    public int DispatchQueued { get; set; }
    public LoadResult DispatchSubmit { get; set; } = null!;
    public long? RestRss { get; set; }
    public long? BaselineRestRss { get; set; }
    public long? PeakRss { get; set; }
    public long? BaselinePeakRss { get; set; }

    /// <summary>Requests that failed anywhere in the run: the figures of a run with failures do not count.</summary>
    public int Failures => new[] { GetMax, BaselineGetMax, GetAt80, BaselineGetAt80, SubmitMax, BaselineInsertMax, SubmitMaxNormal, ListFirst, ListDeep, DispatchSubmit }
        .Sum(r => r.Failed) + (DispatchSubmitted - DispatchQueued);

    private double UploadMb => Settings.UploadBytes / 1048576.0;

    public string ToMarkdown()
    {
        var s = Settings;
        var md = new StringBuilder();
        md.AppendLine($"## The performance bar{(s.IsSmoke ? " (smoke run: small sizes, the figures mean nothing)" : "")}");
        md.AppendLine();
        md.AppendLine($"Run at {StartedAt.UtcDateTime:yyyy-MM-dd HH:mm:ss} UTC on {Environment.ProcessorCount} cores ({RuntimeInformation.OSDescription}), " +
                      $"load average {LoadAverage} before and {LoadAverageAfter} after (other work on the machine shows here). " +
                      "Server: Release build as its own process, SQLite, fresh data directory. Baseline: the bare ASP.NET Core app of " +
                      "`bench/Seedance.Bench.Baseline` as its own process. Load: from the harness process, the same for both. " +
                      $"Maximum rates: {s.GetClients} clients (submissions: {s.SubmitClients}) back to back for {Num(s.DurationSeconds)} s after {Num(s.WarmupSeconds)} s of warm-up " +
                      $"(submissions after {Num(s.SubmitWarmupSeconds)} s, the time a fresh server takes to compile its hot path under that load); " +
                      $"80 %: a fixed rate over {BarBenchmark.RateConnections} connections, latency counted from when each request was due. Polls are sent as wrk2 sends them: " +
                      $"one event loop per core over kept-alive connections (`Bar/RawPoller.cs`), " +
                      (RawPoller.RanAhead ? "each ahead of the apps in the scheduler (nice -10). " : "at the apps' own priority (raising it was not allowed here). ") +
                      $"The database holds {s.SeededTasks:N0} finished tasks " +
                      $"({s.SeededTasks / s.SeededKeys:N0} of the benchmark key), seeded in {Num(SeedSeconds)} s with the server stopped. " +
                      "Submissions are measured on a second fresh server with dispatch off (`Seedance__Tasks__Dispatch=false`); the dispatch " +
                      "delay with the sandbox taking each task at once and holding it queued (`Seedance__Sandbox__QueueSeconds=3600`, nothing renders).");
        md.AppendLine();
        md.AppendLine("| Figure | Value | Baseline | Ratio | Bar | Holds |");
        md.AppendLine("|---|---:|---:|---:|---|---|");

        Row(md, "1. GET task: requests/s", Rate(GetMax), Rate(BaselineGetMax), Ratio(GetMax.PerSecond, BaselineGetMax.PerSecond),
            "≥ 0.6 × baseline", GetMax.PerSecond >= 0.6 * BaselineGetMax.PerSecond);
        Row(md, "1. GET task: p50 at the maximum rate", Ms(GetMax.Latency.Percentile(50)), Ms(BaselineGetMax.Latency.Percentile(50)),
            Ratio(GetMax.Latency.Percentile(50), BaselineGetMax.Latency.Percentile(50)));
        Row(md, "1. GET task: p99 at the maximum rate", Ms(GetMax.Latency.Percentile(99)), Ms(BaselineGetMax.Latency.Percentile(99)),
            Ratio(GetMax.Latency.Percentile(99), BaselineGetMax.Latency.Percentile(99)));
        Row(md, $"1. GET task: p99 at 80 % of the maximum ({GetAt80.PerSecond:N0}/s; baseline {BaselineGetAt80.PerSecond:N0}/s)",
            Ms(GetAt80.Latency.Percentile(99)), Ms(BaselineGetAt80.Latency.Percentile(99)),
            Ratio(GetAt80.Latency.Percentile(99), BaselineGetAt80.Latency.Percentile(99)), "< 10 ms", GetAt80.Latency.Percentile(99) < 0.010);
        Row(md, "1. GET task at 80 %: p50 / p99.9", $"{Ms(GetAt80.Latency.Percentile(50))} / {Ms(GetAt80.Latency.Percentile(99.9))}",
            $"{Ms(BaselineGetAt80.Latency.Percentile(50))} / {Ms(BaselineGetAt80.Latency.Percentile(99.9))}", "", "", null);
        Row(md, "1. GET task at 80 %: the generator's own lateness p99 (sent after due; part of the p99)", Ms(GetAt80.Lateness!.Percentile(99)),
            Ms(BaselineGetAt80.Lateness!.Percentile(99)), "", "", null);
        Row(md, "2. POST task, durable (`synchronous=full`): tasks/s (baseline: one INSERT per transaction, as durable)", Rate(SubmitMax), Rate(BaselineInsertMax),
            Ratio(SubmitMax.PerSecond, BaselineInsertMax.PerSecond), "≥ 5,000/s", SubmitMax.PerSecond >= 5000);
        Row(md, "2. POST task, durable: p99", Ms(SubmitMax.Latency.Percentile(99)), Ms(BaselineInsertMax.Latency.Percentile(99)),
            Ratio(SubmitMax.Latency.Percentile(99), BaselineInsertMax.Latency.Percentile(99)), "< 25 ms", SubmitMax.Latency.Percentile(99) < 0.025);
        Row(md, "2. POST task, `synchronous=normal`: tasks/s, p99", $"{Rate(SubmitMaxNormal)}, {Ms(SubmitMaxNormal.Latency.Percentile(99))}", "", "", "", null);
        var mbps = UploadMb / UploadSeconds;
        var baselineMbps = UploadMb / BaselineUploadSeconds;
        Row(md, $"3. Upload PUT of {UploadMb:0} MB: MB/s", $"{mbps:N0} MB/s", $"{baselineMbps:N0} MB/s", Ratio(mbps, baselineMbps),
            "≥ 0.8 × baseline", mbps >= 0.8 * baselineMbps);
        Row(md, "3. Upload: peak memory growth", Mb(UploadGrowth), Mb(BaselineUploadGrowth), Ratio(UploadGrowth, BaselineUploadGrowth),
            "< 64 MB", UploadGrowth is { } g ? g < 64L * 1048576 : null);
        Row(md, "4. List tasks: page 1 p99", Ms(ListFirst.Latency.Percentile(99)), "", "", "< 10 ms", ListFirst.Latency.Percentile(99) < 0.010);
        Row(md, $"4. List tasks: page {s.DeepPage} p99", Ms(ListDeep.Latency.Percentile(99)), "", "", "< 50 ms", ListDeep.Latency.Percentile(99) < 0.050);
        Row(md, $"5. Dispatch delay p99 at {DispatchSubmit.PerSecond:N0} submissions/s ({DispatchQueued:N0} of {DispatchSubmitted:N0} queued)",
            Ms(DispatchDelay.Percentile(99)), "", "", "< 250 ms", DispatchQueued == DispatchSubmitted && DispatchDelay.Percentile(99) < 0.250);
        Row(md, "5. Dispatch delay p50 / max", $"{Ms(DispatchDelay.Percentile(50))} / {Ms(DispatchDelay.Max)}", "", "");
        Row(md, "6. Server RSS at rest", Mb(RestRss), Mb(BaselineRestRss), Ratio(RestRss, BaselineRestRss), "< 150 MB",
            RestRss is { } rest ? rest < 150L * 1048576 : null);
        Row(md, "6. Server peak RSS under load (whole run)", Mb(PeakRss), Mb(BaselinePeakRss), Ratio(PeakRss, BaselinePeakRss), "< 400 MB",
            PeakRss is { } peak ? peak < 400L * 1048576 : null);
        md.AppendLine();
        md.AppendLine($"Failed requests: {Failures}{FirstErrors()}. Submission p99 under the dispatch load: {Ms(DispatchSubmit.Latency.Percentile(99))}; " +
                      $"list requests p50: page 1 {Ms(ListFirst.Latency.Percentile(50))}, page {s.DeepPage} {Ms(ListDeep.Latency.Percentile(50))}.");
        return md.ToString();
    }

    /// <summary>The figures two builds are compared by: name, value, and whether more is better.</summary>
    public IReadOnlyList<(string Figure, double Value, bool MoreIsBetter, string Unit)> Headline() =>
    [
        ("1. GET task: requests/s", GetMax.PerSecond, true, "/s"),
        ("1. GET task: requests/s ÷ bare Kestrel's in the same run", GetMax.PerSecond / BaselineGetMax.PerSecond, true, ""),
        ("1. GET task: p99 at 80 % of the maximum", GetAt80.Latency.Percentile(99) * 1000, false, " ms"),
        ("2. POST task: tasks/s", SubmitMax.PerSecond, true, "/s"),
        ("2. POST task: tasks/s ÷ bare INSERTs/s in the same run", SubmitMax.PerSecond / BaselineInsertMax.PerSecond, true, ""),
        ("2. POST task: p99", SubmitMax.Latency.Percentile(99) * 1000, false, " ms"),
        ("2. POST task, synchronous=normal: tasks/s", SubmitMaxNormal.PerSecond, true, "/s"),
        ("3. Upload PUT: MB/s", UploadMb / UploadSeconds, true, " MB/s"),
        ("4. List tasks: page 1 p99", ListFirst.Latency.Percentile(99) * 1000, false, " ms"),
        ($"4. List tasks: page {Settings.DeepPage} p99", ListDeep.Latency.Percentile(99) * 1000, false, " ms"),
        ("5. Dispatch delay p99", DispatchDelay.Percentile(99) * 1000, false, " ms"),
        ("6. Server RSS at rest", (RestRss ?? double.NaN) / 1048576.0, false, " MB"),
        ("6. Server peak RSS", (PeakRss ?? double.NaN) / 1048576.0, false, " MB"),
    ];

    /// <summary>
    /// Two builds measured in one run, each figure the median of its rounds (the rounds alternate between the builds, so
    /// the load of the machine falls on both alike): the change of each, and whether it stays within <paramref name="tolerance"/>.
    /// </summary>
    public static string Comparison(string beforeName, IReadOnlyList<BarFigures> before, string afterName, IReadOnlyList<BarFigures> after, double tolerance)
    {
        var md = new StringBuilder();
        md.AppendLine($"## {afterName} against {beforeName}, measured in one run");
        md.AppendLine();
        md.AppendLine($"{before.Count} round(s) each, alternating ({beforeName} first); each value the median of its rounds. " +
                      $"A change is within the bar when it is no more than {tolerance:0%} worse. The last two columns give every " +
                      "round's value, in the order measured: where the two builds' rounds overlap, the change is within what the " +
                      "machine's own variation gives.");
        md.AppendLine();
        md.AppendLine($"| Figure | {beforeName} | {afterName} | Change | Within {tolerance:0%} | Rounds of {beforeName} | Rounds of {afterName} |");
        md.AppendLine("|---|---:|---:|---:|---|---:|---:|");
        var beforeRounds = before.Select(f => f.Headline()).ToList();
        var afterRounds = after.Select(f => f.Headline()).ToList();
        for (var i = 0; i < afterRounds[0].Count; i++)
        {
            var (figure, _, moreIsBetter, unit) = afterRounds[0][i];
            var b = Median(beforeRounds.Select(r => r[i].Value));
            var a = Median(afterRounds.Select(r => r[i].Value));
            var change = a / b - 1;
            var worse = moreIsBetter ? -change : change;
            md.AppendLine($"| {figure} | {Value(b, unit)} | {Value(a, unit)} | {(double.IsFinite(change) ? change.ToString("+0.0%;-0.0%", CultureInfo.InvariantCulture) : "n/a")} | " +
                          $"{(double.IsFinite(worse) ? worse <= tolerance ? "yes" : "**no**" : "n/a")} | " +
                          $"{Rounds(beforeRounds, i, unit)} | {Rounds(afterRounds, i, unit)} |");
        }
        return md.ToString();
    }

    private static string Rounds(IEnumerable<IReadOnlyList<(string Figure, double Value, bool MoreIsBetter, string Unit)>> rounds, int figure, string unit) =>
        string.Join(", ", rounds.Select(r => Value(r[figure].Value, unit)));

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count == 0 ? double.NaN : sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }

    private static string Value(double value, string unit) =>
        double.IsNaN(value) ? "n/a" : unit == "" ? value.ToString("0.00", CultureInfo.InvariantCulture) : value.ToString(value >= 100 ? "N0" : "0.00", CultureInfo.InvariantCulture) + unit;

    private string FirstErrors()
    {
        var errors = new[] { GetMax, BaselineGetMax, GetAt80, BaselineGetAt80, SubmitMax, BaselineInsertMax, SubmitMaxNormal, ListFirst, ListDeep, DispatchSubmit }
            .Select(r => r.FirstError).Where(e => e is not null).Distinct().ToList();
        return errors.Count == 0 ? "" : " (first: " + string.Join("; ", errors.Select(e => e!.Length > 200 ? e[..200] : e)) + ")";
    }

    private static void Row(StringBuilder md, string figure, string value, string baseline, string ratio, string bar = "", bool? holds = null) =>
        md.AppendLine($"| {figure} | {value} | {baseline} | {ratio} | {bar} | {(holds is null ? (bar.Length == 0 ? "" : "n/a") : holds.Value ? "yes" : "**no**")} |");

    private static string Num(double value) => value.ToString("0.##", CultureInfo.InvariantCulture);
    private static string Rate(LoadResult r) => double.IsNaN(r.PerSecond) ? "n/a" : $"{r.PerSecond:N0}/s";
    private static string Ms(double seconds) => double.IsNaN(seconds) ? "n/a" : (seconds * 1000).ToString("0.00", CultureInfo.InvariantCulture) + " ms";
    private static string Mb(long? bytes) => bytes is null ? "n/a" : $"{bytes.Value / 1048576.0:0.0} MB";
    private static string Ratio(long? value, long? baseline) => value is null || baseline is null ? "" : Ratio((double)value, (double)baseline);
    private static string Ratio(double value, double baseline) =>
        double.IsNaN(value) || double.IsNaN(baseline) || baseline <= 0 ? "" : (value / baseline).ToString("0.00", CultureInfo.InvariantCulture);
}
