using System.CommandLine;

namespace Seedance.Bench.Nodes;

/// <summary>The <c>nodes</c> command: submissions and polls on SQLite with one node, PostgreSQL with one and with three.</summary>
public static class NodesCommand
{
    /// <summary>Where the PostgreSQL to run on is named when <c>--postgres</c> is not given (<c>.ci/services.sh</c> sets it).</summary>
    public const string PostgresVariable = "SEEDANCE_TEST_POSTGRES";

    public static Command Create()
    {
        var smoke = new Option<bool>("--smoke") { Description = "A few seconds with small sizes, to check the harness works (its figures mean nothing)" };
        var duration = new Option<double?>("--duration") { Description = "Seconds each phase is measured (default 10)" };
        var warmup = new Option<double?>("--warmup") { Description = "Seconds of unmeasured load before each phase (default 3)" };
        var getClients = new Option<int?>("--get-clients") { Description = "Clients polling at once (default 32)" };
        var submitClients = new Option<int?>("--submit-clients") { Description = "Clients submitting at once (default 16)" };
        var keys = new Option<int?>("--keys") { Description = "API keys the submissions are spread over (default 16)" };
        var tasks = new Option<int?>("--tasks") { Description = "Completed tasks seeded for the polls (default 1,000)" };
        var postgres = new Option<string?>("--postgres")
        {
            Description = $"Connection string of a PostgreSQL maintenance database; a fresh database is created on it for each setup (default: ${PostgresVariable}, which ./bench/run sets)",
        };
        var burstOnly = new Option<bool>("--burst-only") { Description = "Only the burst on one key (500 submissions at once on PostgreSQL with a pool of 50)" };
        var serverDll = new Option<string?>("--server-dll") { Description = "The server build to measure (default: src/Seedance.Server/bin/Release/net10.0/Seedance.Server.dll)" };
        var resultsDir = new Option<string?>("--results-dir") { Description = "Where the table is written (default: bench/results)" };
        var command = new Command("nodes", "Measures submissions and polls on SQLite with one node, on PostgreSQL with one node and with three, and a burst of submissions on one key")
        {
            smoke, duration, warmup, getClients, submitClients, keys, tasks, postgres, burstOnly, serverDll, resultsDir,
        };
        command.Validators.Add(r =>
        {
            if (r.GetValue(duration) is <= 0) r.AddError("--duration must be positive");
            if (r.GetValue(warmup) is < 0) r.AddError("--warmup must be 0 or more");
            if (r.GetValue(getClients) is < 1 || r.GetValue(submitClients) is < 1 || r.GetValue(keys) is < 1 || r.GetValue(tasks) is < 1)
                r.AddError("--get-clients, --submit-clients, --keys and --tasks must be at least 1");
        });
        command.SetAction(async (p, ct) =>
        {
            var connection = p.GetValue(postgres) ?? Environment.GetEnvironmentVariable(PostgresVariable);
            if (string.IsNullOrEmpty(connection))
            {
                await p.InvocationConfiguration.Error.WriteLineAsync(
                    $"No PostgreSQL: give --postgres or set {PostgresVariable} (./bench/run nodes starts one through .ci/services.sh).");
                return Program.Failed;
            }
            var isSmoke = p.GetValue(smoke);
            var dll = p.GetValue(serverDll) ?? BenchPaths.ServerDll;
            var results = p.GetValue(resultsDir) ?? BenchPaths.ResultsDir;
            var d = isSmoke ? NodesSettings.SmokeRun(connection, dll, results) : NodesSettings.FullRun(connection, dll, results);
            var settings = d with
            {
                DurationSeconds = p.GetValue(duration) ?? d.DurationSeconds,
                WarmupSeconds = p.GetValue(warmup) ?? d.WarmupSeconds,
                GetClients = p.GetValue(getClients) ?? d.GetClients,
                SubmitClients = p.GetValue(submitClients) ?? d.SubmitClients,
                SubmitKeys = p.GetValue(keys) ?? d.SubmitKeys,
                SeededTasks = p.GetValue(tasks) ?? d.SeededTasks,
                BurstOnly = p.GetValue(burstOnly),
            };
            var report = await NodesBenchmark.RunAsync(settings, p.InvocationConfiguration.Error, ct);
            var table = report.ToMarkdown();
            await p.InvocationConfiguration.Output.WriteLineAsync(table);
            Directory.CreateDirectory(settings.ResultsDir);
            var file = Path.Combine(settings.ResultsDir, $"nodes-{report.StartedAt.UtcDateTime:yyyyMMdd-HHmmss}{(isSmoke ? "-smoke" : "")}.md");
            await File.WriteAllTextAsync(file, table, ct);
            await p.InvocationConfiguration.Output.WriteLineAsync($"Written to {file}");
            return report.Failures == 0 ? Program.Ok : Program.Failed;
        });
        return command;
    }
}
