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
        new(false, 3, 10, 32, 16, 1000, 200L * 1024 * 1024, 1_000_000, 10, 500, 10, 3, serverDll, baselineDll, resultsDir);

    /// <summary>A few seconds' check that the harness works end to end; its figures mean nothing.</summary>
    public static BarSettings SmokeRun(string serverDll, string baselineDll, string resultsDir) =>
        new(true, 0.3, 0.7, 4, 4, 20, 4L * 1024 * 1024, 20_000, 2, 50, 1, 0.3, serverDll, baselineDll, resultsDir);

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
