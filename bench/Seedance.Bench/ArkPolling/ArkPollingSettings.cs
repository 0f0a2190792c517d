namespace Seedance.Bench.ArkPolling;

/// <summary>One run of the Ark polling benchmark.</summary>
public sealed record ArkPollingSettings(
    int Tasks,
    double PollIntervalSeconds,
    double QueuedSeconds,
    double RunningSeconds,
    double SpreadSeconds,
    int SubmitParallelism,
    bool Callbacks,
    string ServerDll,
    string ResultsDir)
{
    /// <summary>The full case of issue 3: 2,000 tasks in flight at once, checked every 5 s.</summary>
    public static ArkPollingSettings Full(string serverDll, string resultsDir) =>
        new(2000, 5, 2, 20, 10, 64, false, serverDll, resultsDir);

    /// <summary>Issue 14's case: 10,000 tasks in flight on one node, checked every 5 s, running long enough to measure tracking alone.</summary>
    public static ArkPollingSettings Tracking(string serverDll, string resultsDir) =>
        new(10_000, 5, 2, 60, 30, 64, false, serverDll, resultsDir);

    /// <summary>A few seconds' check that the harness works end to end.</summary>
    public static ArkPollingSettings Smoke(string serverDll, string resultsDir) =>
        new(50, 1, 0.5, 2, 1, 16, false, serverDll, resultsDir);
}
