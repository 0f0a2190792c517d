using System.CommandLine;

namespace Seedance.Bench.Bar;

/// <summary><c>bar</c>: the product's performance bar, each figure against a baseline measured in the same run.</summary>
public static class BarCommand
{
    public static Command Create()
    {
        var smoke = new Option<bool>("--smoke") { Description = "A quick check of the harness with small sizes, done in seconds; its figures mean nothing" };
        var duration = new Option<double?>("--duration") { Description = "Seconds each load phase is measured (default 10; smoke 0.7)" };
        var warmup = new Option<double?>("--warmup") { Description = "Seconds of unmeasured load before each (default 3; smoke 0.3)" };
        var submitWarmup = new Option<double?>("--submit-warmup") { Description = "Seconds of unmeasured submissions before theirs, on each fresh server (default 15: its compiler's warm-up; smoke 0.3)" };
        var tasks = new Option<int?>("--tasks") { Description = "Finished tasks seeded into the database, a tenth for the benchmark key (default 1000000; smoke 20000)" };
        var uploadMb = new Option<int?>("--upload-mb") { Description = "Size of the uploaded file in MB (default 200; smoke 4)" };
        var getClients = new Option<int?>("--get-clients") { Description = "Clients polling at once for the maximum rate (default 32)" };
        var submitClients = new Option<int?>("--submit-clients") { Description = "Clients submitting at once for the maximum rate (default 16)" };
        var dispatchRate = new Option<double?>("--dispatch-rate") { Description = "Submissions per second of the dispatch figure (default 500)" };
        var serverDll = new Option<string?>("--server-dll") { Description = "The server build to measure (default: src/Seedance.Server/bin/Release/net10.0/Seedance.Server.dll)" };
        var baselineDll = new Option<string?>("--baseline-dll") { Description = "The baseline app build (default: beside this harness)" };
        var resultsDir = new Option<string?>("--results-dir") { Description = "Where the table is written (default: bench/results)" };
        var compareDll = new Option<string?>("--compare-dll") { Description = "Another server build to measure in the same run, in alternating rounds (./bench/run bar --against <git ref> builds one)" };
        var compareName = new Option<string?>("--compare-name") { Description = "What to call that build in the table (default: the other build, or the settings it gets)" };
        var compareSettings = new Option<string[]>("--compare-setting")
        {
            Description = "NAME=VALUE (repeatable): a setting given to every server of the other build, e.g. " +
                          "--compare-setting Seedance__Metrics__Enabled=false; without --compare-dll the other build is this one, so the table gives that setting's cost",
        };
        var rounds = new Option<int?>("--rounds") { Description = "With --compare-dll: rounds per build, alternating (default 1)" };
        var command = new Command("bar", "Measures the six figures of the performance bar (polling, submissions, uploads, listing, dispatch, memory), each against its baseline")
        {
            smoke, duration, warmup, submitWarmup, tasks, uploadMb, getClients, submitClients, dispatchRate, serverDll, baselineDll, resultsDir, compareDll, compareName, compareSettings, rounds,
        };
        command.Validators.Add(r =>
        {
            if (r.GetValue(duration) is <= 0) r.AddError("--duration must be positive");
            if (r.GetValue(warmup) is < 0 || r.GetValue(submitWarmup) is < 0) r.AddError("--warmup and --submit-warmup must be 0 or more");
            if (r.GetValue(tasks) is < 20) r.AddError("--tasks must be at least 20");
            if (r.GetValue(uploadMb) is < 1 or > 200) r.AddError("--upload-mb must be 1-200 (the server's limit for videos)");
            if (r.GetValue(getClients) is < 1 || r.GetValue(submitClients) is < 1) r.AddError("--get-clients and --submit-clients must be at least 1");
            if (r.GetValue(dispatchRate) is <= 0) r.AddError("--dispatch-rate must be positive");
            if (r.GetValue(rounds) is < 1) r.AddError("--rounds must be at least 1");
            if (r.GetValue(compareDll) is { } other && !File.Exists(other)) r.AddError($"--compare-dll {other} does not exist");
            foreach (var setting in r.GetValue(compareSettings) ?? [])
                if (setting.IndexOf('=') < 1) r.AddError($"--compare-setting {setting}: expected NAME=VALUE");
        });
        command.SetAction(async (p, ct) =>
        {
            var isSmoke = p.GetValue(smoke);
            var dll = p.GetValue(serverDll) ?? BenchPaths.ServerDll;
            var baseline = p.GetValue(baselineDll) ?? BenchPaths.BaselineDll;
            var results = p.GetValue(resultsDir) ?? BenchPaths.ResultsDir;
            var d = isSmoke ? BarSettings.SmokeRun(dll, baseline, results) : BarSettings.FullRun(dll, baseline, results);
            var settings = d with
            {
                DurationSeconds = p.GetValue(duration) ?? d.DurationSeconds,
                WarmupSeconds = p.GetValue(warmup) ?? d.WarmupSeconds,
                SubmitWarmupSeconds = p.GetValue(submitWarmup) ?? d.SubmitWarmupSeconds,
                SeededTasks = p.GetValue(tasks) ?? d.SeededTasks,
                UploadBytes = p.GetValue(uploadMb) is { } mb ? mb * 1024L * 1024 : d.UploadBytes,
                GetClients = p.GetValue(getClients) ?? d.GetClients,
                SubmitClients = p.GetValue(submitClients) ?? d.SubmitClients,
                DispatchRate = p.GetValue(dispatchRate) ?? d.DispatchRate,
            };
            var log = p.InvocationConfiguration.Error;
            var otherSettings = (p.GetValue(compareSettings) ?? []).Select(v => v.Split('=', 2)).ToDictionary(v => v[0], v => v[1]);
            if ((p.GetValue(compareDll) ?? (otherSettings.Count > 0 ? dll : null)) is not { } otherDll)
            {
                var figures = await BarBenchmark.RunAsync(settings, log, ct);
                return await WriteAsync(p, settings, figures.StartedAt, isSmoke, "", figures.ToMarkdown(), figures.Failures, ct);
            }
            var otherName = p.GetValue(compareName)
                            ?? (p.GetValue(compareDll) is null ? $"this build with {string.Join(", ", otherSettings.Select(kv => $"{kv.Key}={kv.Value}"))}" : "the other build");
            // The other build first in each round, then this one: the machine's load falls on both alike.
            var (before, after) = (new List<BarFigures>(), new List<BarFigures>());
            for (var round = 1; round <= (p.GetValue(rounds) ?? 1); round++)
            {
                await log.WriteLineAsync($"==> Round {round}: {otherName} ({otherDll})");
                before.Add(await BarBenchmark.RunAsync(settings with { ServerDll = otherDll, ServerSettings = otherSettings }, log, ct));
                await log.WriteLineAsync($"==> Round {round}: this build ({settings.ServerDll})");
                after.Add(await BarBenchmark.RunAsync(settings, log, ct));
            }
            var comparison = BarFigures.Comparison(otherName, before, "this build", after, Tolerance) + Environment.NewLine +
                             "### This build, last round" + Environment.NewLine + after[^1].ToMarkdown() + Environment.NewLine +
                             $"### {otherName}, last round" + Environment.NewLine + before[^1].ToMarkdown();
            return await WriteAsync(p, settings, before[0].StartedAt, isSmoke, "-compare", comparison, before.Concat(after).Sum(f => f.Failures), ct);
        });
        return command;
    }

    /// <summary>How much worse a figure may get from one build to the next.</summary>
    private const double Tolerance = 0.05;

    private static async Task<int> WriteAsync(ParseResult p, BarSettings settings, DateTimeOffset startedAt, bool isSmoke, string kind, string table, int failures, CancellationToken ct)
    {
        await BenchPaths.WriteTableAsync(p.InvocationConfiguration.Output, settings.ResultsDir,
            $"bar-{startedAt.UtcDateTime:yyyyMMdd-HHmmss}{kind}{(isSmoke ? "-smoke" : "")}", table, ct);
        return failures == 0 ? Program.Ok : Program.Failed;
    }
}
