using System.CommandLine;

namespace Seedance.Bench.ArkPolling;

/// <summary><c>ark-polling</c>: how soon the server sees Ark tasks finish, and what polling 2,000 of them costs it.</summary>
public static class ArkPollingCommand
{
    /// <param name="name"><c>ark-polling</c> (2,000 tasks for 20-30 s) or <c>tracking</c> (10,000 tasks for 60-90 s).</param>
    public static Command Create(string name = "ark-polling")
    {
        var tracking = name == "tracking";
        var tasks = new Option<int?>("--tasks") { Description = $"Tasks in flight at once (default {(tracking ? "10000" : "2000")}; smoke 50)" };
        var pollInterval = new Option<double?>("--poll-interval") { Description = "Seconds between checks of one task, the channel's PollIntervalSeconds (default 5; smoke 1)" };
        var queued = new Option<double?>("--queued-seconds") { Description = "How long each task stays queued upstream (default 2; smoke 0.5)" };
        var running = new Option<double?>("--running-seconds") { Description = "How long each task runs upstream at least (default 20; smoke 2)" };
        var spread = new Option<double?>("--spread-seconds") { Description = "Finishes spread at random over this many seconds after that (default 10; smoke 1)" };
        var parallelism = new Option<int?>("--submit-parallelism") { Description = "Submissions in flight at once (default 64; smoke 16)" };
        var callbacks = new Option<bool>("--callbacks") { Description = "Let the emulator send its callbacks, which make the server check at once; by default they are dropped so that polling alone is measured" };
        var smoke = new Option<bool>("--smoke") { Description = "A quick check of the harness (50 tasks, 1 s interval), done in seconds" };
        var serverDll = new Option<string?>("--server-dll") { Description = "The server build to measure (default: src/Seedance.Server/bin/Release/net10.0/Seedance.Server.dll)" };
        var resultsDir = new Option<string?>("--results-dir") { Description = "Where the table is written (default: bench/results)" };

        var command = new Command(name, tracking
            ? "Tracking at 10,000 tasks in flight on one node: the polling delay, upstream requests, the server's CPU while only tracking, memory"
            : "Submits many tasks to the server with one Ark channel on the emulator and measures the polling delay, upstream calls, CPU and memory")
        {
            tasks, pollInterval, queued, running, spread, parallelism, callbacks, smoke, serverDll, resultsDir,
        };
        command.Validators.Add(r =>
        {
            if (r.GetValue(tasks) is < 1) r.AddError("--tasks must be at least 1");
            if (r.GetValue(pollInterval) is <= 0) r.AddError("--poll-interval must be positive");
            if (r.GetValue(parallelism) is < 1) r.AddError("--submit-parallelism must be at least 1");
        });
        command.SetAction(async (p, ct) =>
        {
            var dll = p.GetValue(serverDll) ?? BenchPaths.ServerDll;
            var results = p.GetValue(resultsDir) ?? BenchPaths.ResultsDir;
            var d = p.GetValue(smoke) ? ArkPollingSettings.Smoke(dll, results)
                : tracking ? ArkPollingSettings.Tracking(dll, results) : ArkPollingSettings.Full(dll, results);
            var settings = d with
            {
                Tasks = p.GetValue(tasks) ?? d.Tasks,
                PollIntervalSeconds = p.GetValue(pollInterval) ?? d.PollIntervalSeconds,
                QueuedSeconds = p.GetValue(queued) ?? d.QueuedSeconds,
                RunningSeconds = p.GetValue(running) ?? d.RunningSeconds,
                SpreadSeconds = p.GetValue(spread) ?? d.SpreadSeconds,
                SubmitParallelism = p.GetValue(parallelism) ?? d.SubmitParallelism,
                Callbacks = p.GetValue(callbacks),
            };
            var output = p.InvocationConfiguration.Output;
            var report = await ArkPollingBenchmark.RunAsync(settings, p.InvocationConfiguration.Error, ct);
            await BenchPaths.WriteTableAsync(output, settings.ResultsDir,
                $"{name}-{report.StartedAt.UtcDateTime:yyyyMMdd-HHmmss}{(p.GetValue(smoke) ? "-smoke" : "")}", report.ToMarkdown(), ct);
            return report.Incomplete == 0 ? Program.Ok : Program.Failed;
        });
        return command;
    }
}
