namespace Seedance.Bench.Bar;

/// <summary>One run of the bar benchmark: how long each phase loads the server and how big the data is.</summary>
public sealed record BarSettings(
    bool IsSmoke,
    double WarmupSeconds,
    double DurationSeconds,
    int GetClients,
    int SubmitClients,
    int ListRequests,
    long UploadBytes,
    int SeededTasks,
    int SeededKeys,
    double DispatchRate,
    double DispatchSeconds,
    double RestSeconds,
    string ServerDll,
    string BaselineDll,
    string ResultsDir)
{
    /// <summary>The case of the issue: 1,000,000 tasks (100,000 for the key), a 200 MB upload, 500 submissions/s.</summary>
    public static BarSettings FullRun(string serverDll, string baselineDll, string resultsDir) =>
        new(false, 3, 10, 32, 16, 1000, 200L * 1024 * 1024, 1_000_000, 10, 500, 10, 3, serverDll, baselineDll, resultsDir) { SubmitWarmupSeconds = 15 };

    /// <summary>A few seconds' check that the harness works end to end; its figures mean nothing.</summary>
    public static BarSettings SmokeRun(string serverDll, string baselineDll, string resultsDir) =>
        new(true, 0.3, 0.7, 4, 4, 20, 4L * 1024 * 1024, 20_000, 2, 50, 1, 0.3, serverDll, baselineDll, resultsDir) { SubmitWarmupSeconds = 0.3 };

    /// <summary>
    /// Seconds of unmeasured submissions before the submissions' maximum is measured, on each fresh server. Longer than
    /// the other phases' warm-up: under this load a fresh server's tiered compilation took 17 % of its CPU samples in the
    /// first 5 s, 29 % in the next 5 and 2-6 % after 10 s (perf, `bar` of 2026-12-08), so a 3 s warm-up measured the
    /// compiler as much as the path. The figure is the server's sustained rate, as a server that has run for a while has.
    /// </summary>
    public double SubmitWarmupSeconds { get; init; } = 3;

    public TimeSpan SubmitWarmup => TimeSpan.FromSeconds(SubmitWarmupSeconds);

    /// <summary>Settings (<c>Seedance__...</c> variables) given to every server the run starts, beside each phase's own.</summary>
    public IReadOnlyDictionary<string, string> ServerSettings { get; init; } = new Dictionary<string, string>();

    /// <summary>A phase's own settings, with <see cref="ServerSettings"/> added.</summary>
    public Func<string, IReadOnlyDictionary<string, string>> Server(Dictionary<string, string> phase) =>
        _ => new Dictionary<string, string>(phase.Concat(ServerSettings));

    public TimeSpan Warmup => TimeSpan.FromSeconds(WarmupSeconds);
    public TimeSpan Duration => TimeSpan.FromSeconds(DurationSeconds);
    /// <summary>The deep page of the listing: page 500 of 20, or the last full page of a smaller key.</summary>
    public int DeepPage => Math.Min(500, SeededTasks / SeededKeys / 20);
}
