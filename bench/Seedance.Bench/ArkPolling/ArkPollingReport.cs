using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Seedance.Server.Tests.Ark;

namespace Seedance.Bench.ArkPolling;

/// <summary>The figures of one run, worked out from the emulator's and the server's records, and their Markdown table.</summary>
public sealed class ArkPollingReport
{
    public ArkPollingReport(ArkPollingSettings settings, DateTimeOffset startedAt, int submitted, int incomplete, TimeSpan submitTime,
        TimeSpan runTime, TimeSpan serverCpu, double restCpuPerSecond, long? peakRssBytes, int upstreamReads,
        IReadOnlyList<EmulatedTask> upstream, IReadOnlyList<ServerTask> onServer)
    {
        Settings = settings;
        StartedAt = startedAt;
        Submitted = submitted;
        Incomplete = incomplete;
        SubmitTime = submitTime;
        RunTime = runTime;
        ServerCpu = serverCpu;
        RestCpu = TimeSpan.FromSeconds(restCpuPerSecond * runTime.TotalSeconds);
        PeakRssBytes = peakRssBytes;
        UpstreamReads = upstreamReads;
        Completed = onServer.Count(t => t.Status == "completed");

        var finished = upstream.Where(t => t.FinishedAt is not null).ToList();
        PollingDelay = new Distribution(finished.Where(t => t.FirstReadAfterFinish is not null)
            .Select(t => (t.FirstReadAfterFinish!.Value - t.FinishedAt!.Value).TotalSeconds));
        var byUpstreamId = finished.ToDictionary(t => t.Id);
        EndToEndDelay = new Distribution(onServer
            .Where(t => t.Status == "completed" && t.UpstreamId is not null && byUpstreamId.ContainsKey(t.UpstreamId))
            .Select(t => (t.UpdatedAt - byUpstreamId[t.UpstreamId!].FinishedAt!.Value).TotalSeconds));
        PeakInFlight = PeakOf(upstream);
        // one check as soon as the task is accepted, then one per interval until the one that sees the finish
        IdealChecksPerTask = finished.Count == 0 ? double.NaN
            : finished.Average(t => Math.Ceiling((t.FinishedAt!.Value - t.CreatedAt).TotalSeconds / settings.PollIntervalSeconds) + 1);
    }

    public ArkPollingSettings Settings { get; }
    public DateTimeOffset StartedAt { get; }
    public int Submitted { get; }
    public int Completed { get; }
    /// <summary>Tasks not finished on the server when the harness gave up waiting.</summary>
    public int Incomplete { get; }
    public TimeSpan SubmitTime { get; }
    /// <summary>From the first submission until the server had finished every task.</summary>
    public TimeSpan RunTime { get; }
    public TimeSpan ServerCpu { get; }
    /// <summary>The CPU the idle server spends in as long as <see cref="RunTime"/>, measured for a few seconds after the run.</summary>
    public TimeSpan RestCpu { get; }
    public long? PeakRssBytes { get; }
    /// <summary>The server's CPU while it only tracked (no submissions, no results yet), and over how long; null when the run had no such window.</summary>
    public TimeSpan? TrackingCpu { get; init; }
    public TimeSpan? TrackingWindow { get; init; }
    /// <summary>Status requests to the upstream: GETs of one task and lists of many.</summary>
    public int UpstreamReads { get; }
    public int PeakInFlight { get; }
    /// <summary>Upstream finish to the server's first read of the task after it (a GET, or a list returning it), in seconds.</summary>
    public Distribution PollingDelay { get; }
    /// <summary>Upstream finish to the task completed on the server (result copied, credits captured), in seconds.</summary>
    public Distribution EndToEndDelay { get; }
    /// <summary>Checks one task needs: one when accepted, then one per interval until the one that sees it finish.</summary>
    public double IdealChecksPerTask { get; }

    public string ToMarkdown()
    {
        var s = Settings;
        var interval = s.PollIntervalSeconds;
        var md = new StringBuilder();
        md.AppendLine($"## Ark polling: {s.Tasks} tasks in flight, each checked every {Num(interval)} s");
        md.AppendLine();
        md.AppendLine($"Run at {StartedAt.UtcDateTime:yyyy-MM-dd HH:mm:ss} UTC on {Environment.ProcessorCount} cores ({RuntimeInformation.OSDescription}). " +
            $"Server: Release build as its own process, SQLite, one Ark channel (MaxParallelPolls 32) on the Ark emulator in the harness process, " +
            "posters off (`Seedance__Tasks__Thumbnails=false`: one ffmpeg run per completed task, not the tracking measured here). " +
            $"Upstream tasks stay queued {Num(s.QueuedSeconds)} s, then run {Num(s.RunningSeconds)} s plus a random share of {Num(s.SpreadSeconds)} s; " +
            (s.Callbacks ? "upstream callbacks on (they trigger an immediate check). " : "upstream callbacks dropped, so polling alone is measured. ") +
            $"Submitted {s.SubmitParallelism} at once. The expected bound of the polling delay is the poll interval, {Num(interval)} s.");
        md.AppendLine();
        md.AppendLine("| Figure | Value | Baseline or bound | Ratio |");
        md.AppendLine("|---|---:|---|---:|");
        Row(md, "Tasks submitted / completed on the server", $"{Submitted} / {Completed}", "", "");
        Row(md, "Time to submit", $"{Sec(SubmitTime.TotalSeconds)} ({Num(Submitted / SubmitTime.TotalSeconds, 0)} tasks/s)", "", "");
        Row(md, "Peak in flight upstream", $"{PeakInFlight}", $"{s.Tasks} (every task at once)", Ratio(PeakInFlight, s.Tasks));
        foreach (var (name, p) in new[] { ("p50", 50.0), ("p90", 90.0), ("p99", 99.0) })
            Row(md, $"Polling delay {name} (upstream finish to the first read of it after that)", Sec(PollingDelay.Percentile(p)), $"poll interval {Num(interval)} s", Ratio(PollingDelay.Percentile(p), interval));
        Row(md, "Polling delay max", Sec(PollingDelay.Max), $"poll interval {Num(interval)} s", Ratio(PollingDelay.Max, interval));
        foreach (var (name, p) in new[] { ("p50", 50.0), ("p99", 99.0) })
            Row(md, $"End-to-end delay {name} (upstream finish to completed on the server)", Sec(EndToEndDelay.Percentile(p)), $"poll interval {Num(interval)} s", Ratio(EndToEndDelay.Percentile(p), interval));
        // Over the run each task needs IdealChecksPerTask checks at one per interval: this many intervals' worth of work.
        var intervals = RunTime.TotalSeconds / interval;
        Row(md, "Upstream status requests (GETs of one task and lists of up to 100)", $"{UpstreamReads:N0}: {Num(UpstreamReads / Math.Max(1, intervals), 1)} per {Num(interval)} s",
            $"{Num(s.Tasks / 50.0 + 1, 0)} per {Num(interval)} s (tasks / 50 + 1 channel)", Ratio(UpstreamReads / Math.Max(1, intervals), s.Tasks / 50.0 + 1));
        Row(md, "Upstream status requests per task", Num((double)UpstreamReads / Math.Max(1, Submitted), 2),
            $"{Num(IdealChecksPerTask, 2)} checks (one per {Num(interval)} s from acceptance to the finish, plus one)", Ratio((double)UpstreamReads / Math.Max(1, Submitted), IdealChecksPerTask));
        Row(md, "Server CPU over the run (user + system)", $"{Sec(ServerCpu.TotalSeconds)} in {Sec(RunTime.TotalSeconds)} ({Num(100 * ServerCpu.TotalSeconds / RunTime.TotalSeconds, 1)} % of one core)",
            $"{Sec(RestCpu.TotalSeconds)} at rest in as long (measured after the run)", Ratio(ServerCpu.TotalSeconds, RestCpu.TotalSeconds));
        if (TrackingCpu is { } tracking && TrackingWindow is { } window)
            Row(md, $"Server CPU while only tracking {s.Tasks:N0} tasks (no submissions, nothing finished yet)",
                $"{Sec(tracking.TotalSeconds)} in {Sec(window.TotalSeconds)} ({Num(100 * tracking.TotalSeconds / window.TotalSeconds, 1)} % of one core)",
                "≤ 25 % of one core", Ratio(tracking.TotalSeconds / window.TotalSeconds, 0.25));
        Row(md, "Server CPU per task", Ms(ServerCpu.TotalSeconds / Math.Max(1, Submitted)), "", "");
        Row(md, "Server CPU per upstream status request (beyond rest, submissions included)", Ms((ServerCpu - RestCpu).TotalSeconds / Math.Max(1, UpstreamReads)), "", "");
        Row(md, "Server peak RSS", PeakRssBytes is { } rss ? $"{Num(rss / 1048576.0, 0)} MB" : "n/a", "", "");
        if (Incomplete > 0) md.AppendLine().AppendLine($"**{Incomplete} tasks did not finish on the server in time.**");
        return md.ToString();
    }

    private static int PeakOf(IReadOnlyList<EmulatedTask> tasks)
    {
        var events = tasks.Select(t => (At: t.CreatedAt, Step: 1))
            .Concat(tasks.Where(t => t.FinishedAt is not null).Select(t => (At: t.FinishedAt!.Value, Step: -1)))
            .OrderBy(e => e.At).ThenBy(e => e.Step);
        int now = 0, peak = 0;
        foreach (var e in events) peak = Math.Max(peak, now += e.Step);
        return peak;
    }

    private static void Row(StringBuilder md, string figure, string value, string baseline, string ratio) =>
        md.AppendLine($"| {figure} | {value} | {baseline} | {ratio} |");

    private static string Num(double value, int decimals = 1) =>
        double.IsNaN(value) ? "n/a" : value.ToString(decimals == 0 ? "N0" : "0." + new string('#', decimals), CultureInfo.InvariantCulture);

    private static string Sec(double seconds) => double.IsNaN(seconds) ? "n/a" : seconds.ToString("0.00", CultureInfo.InvariantCulture) + " s";
    private static string Ms(double seconds) => double.IsNaN(seconds) ? "n/a" : (seconds * 1000).ToString("0.00", CultureInfo.InvariantCulture) + " ms";
    private static string Ratio(double value, double baseline) =>
        double.IsNaN(value) || double.IsNaN(baseline) || baseline <= 0 ? "" : (value / baseline).ToString("0.00", CultureInfo.InvariantCulture);
}
