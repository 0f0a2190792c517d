using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Seedance.Bench.Nodes;

namespace Seedance.Bench.Crash;

/// <summary>One crash run: how many kills, how much load, on which databases.</summary>
public sealed record CrashSettings(bool Smoke, int Kills, int Clients, int Keys, double MinUpSeconds, double MaxUpSeconds, string? Postgres,
    IReadOnlyList<string> Databases, string ServerDll, string ResultsDir, int Seed)
{
    /// <summary>A client's pause between two requests: the smoke run's load is a light one, so that its checks take seconds.</summary>
    public (int Min, int Max) PauseMs => Smoke ? (300, 600) : (100, 300);
}

/// <summary>What the run of one setup found.</summary>
public sealed record CrashResult(string Setup, int Kills, int Answers, int Unanswered, int UnansweredSubmissions, int Acknowledged, int Replays,
    List<string> ReplaysDiffering, Dictionary<string, int> ByStatus, int CallbacksExpected, int CallbacksMissing, int CallbacksReceived,
    CrashFindings Findings, Distribution RestartSeconds, string ClientLog, TimeSpan Took)
{
    public int Failures => Findings.Lost + Findings.DoubleCharged + Findings.FiguresOff + Findings.CancelsNotKept + ReplaysDiffering.Count + CallbacksMissing;
    public string Headline => $"{Acknowledged:N0} acknowledged, {Findings.Lost} lost, {Findings.DoubleCharged} double-charged";
}

/// <summary>
/// <c>crash</c>: kill -9 under a mixed load, again and again, and check after each restart that nothing acknowledged
/// was lost and nothing was charged twice. SQLite with one node; PostgreSQL with three nodes sharing the database, one
/// of them killed each time. At the end every task is brought to an end and every callback must have come.
/// </summary>
public static class CrashBenchmark
{
    public static Command Create()
    {
        var smoke = new Option<bool>("--smoke") { Description = "2 kills with a small load on each database, in seconds" };
        var kills = new Option<int?>("--kills") { Description = "Kills per database (default 20; smoke 2)" };
        var clients = new Option<int?>("--clients") { Description = "Clients sending the load at once (default 4; smoke 2)" };
        var database = new Option<string>("--database") { Description = "sqlite, postgres or both (default both)", DefaultValueFactory = _ => "both" };
        database.AcceptOnlyFromAmong("sqlite", "postgres", "both");
        var postgres = new Option<string?>("--postgres")
        {
            Description = $"Connection string of a PostgreSQL maintenance database; a fresh database is made on it (default: ${NodesCommand.PostgresVariable}, which ./bench/run sets)",
        };
        var seed = new Option<int>("--seed") { Description = "Seed of the load and of the kill moments (default: random)", DefaultValueFactory = _ => Random.Shared.Next() };
        var serverDll = new Option<string?>("--server-dll") { Description = "The server build to run" };
        var resultsDir = new Option<string?>("--results-dir") { Description = "Where the table is written (default: bench/results)" };
        var command = new Command("crash", "kill -9 the server again and again under a mixed load and check that no acknowledged task is lost or charged twice")
        {
            smoke, kills, clients, database, postgres, seed, serverDll, resultsDir,
        };
        command.SetAction(async (p, ct) =>
        {
            var isSmoke = p.GetValue(smoke);
            var which = p.GetValue(database)!;
            var connection = p.GetValue(postgres) ?? Environment.GetEnvironmentVariable(NodesCommand.PostgresVariable);
            if (which != "sqlite" && string.IsNullOrEmpty(connection))
            {
                await p.InvocationConfiguration.Error.WriteLineAsync($"No PostgreSQL: give --postgres or set {NodesCommand.PostgresVariable}, or run --database sqlite.");
                return Program.Failed;
            }
            var settings = new CrashSettings(isSmoke, p.GetValue(kills) ?? (isSmoke ? 2 : 20), p.GetValue(clients) ?? (isSmoke ? 2 : 4), isSmoke ? 2 : 3,
                isSmoke ? 1 : 2, isSmoke ? 2 : 5, connection, which == "both" ? ["sqlite", "postgres"] : [which],
                p.GetValue(serverDll) ?? BenchPaths.ServerDll, p.GetValue(resultsDir) ?? BenchPaths.ResultsDir, p.GetValue(seed));
            var startedAt = DateTimeOffset.UtcNow;
            var loadBefore = NodesBenchmark.LoadAverage();
            var results = new List<CrashResult>();
            foreach (var db in settings.Databases) results.Add(await RunAsync(db, settings, p.InvocationConfiguration.Error, ct));
            await BenchPaths.WriteTableAsync(p.InvocationConfiguration.Output, settings.ResultsDir,
                $"crash-{startedAt.UtcDateTime:yyyyMMdd-HHmmss}{(isSmoke ? "-smoke" : "")}",
                Table(settings, startedAt, $"{loadBefore} before and {NodesBenchmark.LoadAverage()} after", results), ct);
            if (results.All(r => r.Failures == 0))
                foreach (var r in results.Where(_ => isSmoke)) File.Delete(r.ClientLog);
            return results.All(r => r.Failures == 0) ? Program.Ok : Program.Failed;
        });
        return command;
    }

    private static async Task<CrashResult> RunAsync(string database, CrashSettings s, TextWriter log, CancellationToken ct)
    {
        var postgres = database == "postgres";
        var setup = postgres ? "PostgreSQL, 3 nodes" : "SQLite, 1 node";
        var clock = Stopwatch.StartNew();
        await log.WriteLineAsync($"==> {setup}: {s.Kills} kills under load (seed {s.Seed})");
        var connection = postgres ? await NodesBenchmark.CreateDatabaseAsync(s.Postgres!, ct) : null;
        var dataDir = Path.Combine(Path.GetTempPath(), "seedance-crash-" + Guid.NewGuid().ToString("N"));
        var clientLog = Path.Combine(Path.GetTempPath(), $"seedance-crash-{DateTime.UtcNow:yyyyMMdd-HHmmss}-{database}-answers.jsonl");
        var signingKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        var nodes = new List<CrashNode>();
        var keepData = false;
        await using var receiver = await CallbackReceiver.StartAsync();
        try
        {
            // one after the other: the first migrates the fresh database
            for (var i = 0; i < (postgres ? 3 : 1); i++)
            {
                var environment = new Dictionary<string, string>
                {
                    ["Seedance__Node__Id"] = $"crash-node-{i + 1}",
                    ["Seedance__SigningKey"] = signingKey,
                    ["Seedance__Sandbox__QueueSeconds"] = "0.2",
                    ["Seedance__Tasks__Thumbnails"] = "false",
                    ["Seedance__Tasks__DispatchIntervalSeconds"] = "0.1",
                    ["Seedance__Tasks__PollIntervalSeconds"] = "0.2",
                    ["Seedance__Callbacks__AllowPrivateNetworks"] = "true", // the receiver is on loopback
                    ["Seedance__Callbacks__DispatchIntervalSeconds"] = "0.2",
                    ["Seedance__Keys__RateLimitPerSecond"] = "100000",
                    ["Seedance__Node__LeaseSeconds"] = "3", // a killed node's work passes to the others this soon
                    ["Logging__LogLevel__Default"] = "Warning",
                };
                if (connection is not null)
                {
                    environment["Seedance__Database__Provider"] = "postgres";
                    environment["ConnectionStrings__Seedance"] = connection;
                }
                nodes.Add(new CrashNode($"node-{i + 1}", await ServerUnderTest.StartAsync(s.ServerDll, _ => environment, ct, dataDir)));
            }
            var keys = new List<CrashKey>();
            for (var i = 0; i < s.Keys; i++)
            {
                var (apiKey, keyId) = await nodes[0].Server.CreateKeyWithIdAsync(new JsonObject
                {
                    ["name"] = $"crash-{i + 1}", ["credits"] = 100_000, ["max_concurrent"] = 4, ["max_pending"] = 100_000, ["rate_limit_per_second"] = 100_000,
                }, ct);
                keys.Add(new CrashKey(keyId, apiKey, 100_000));
            }
            var databaseToRead = connection ?? nodes[0].Server.DatabasePath;

            await using var writer = new StreamWriter(clientLog);
            await using var load = new CrashLoad(nodes, keys, receiver.Url, s.Seed, s.PauseMs, writer);
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var running = load.RunAsync(s.Clients, stop.Token);
            var findings = new CrashFindings();
            var restarts = new List<double>();
            var random = new Random(s.Seed);
            for (var kill = 1; kill <= s.Kills; kill++)
            {
                await Task.Delay(TimeSpan.FromSeconds(s.MinUpSeconds + random.NextDouble() * (s.MaxUpSeconds - s.MinUpSeconds)), ct);
                var node = nodes[random.Next(nodes.Count)];
                var acknowledgedBefore = load.Acknowledged();
                node.Running = false;
                await node.Server.CrashAsync();
                var down = Stopwatch.StartNew();
                await node.Server.StartAgainAsync(ct);
                restarts.Add(down.Elapsed.TotalSeconds);
                node.Running = true;

                var (found, _) = await CrashChecks.CheckAsync(databaseToRead, load.Acknowledged(), load.CancelsAcknowledged(), keys, allSettled: false, ct);
                findings.Add(found);
                await load.ReplayAfterCrashAsync(acknowledgedBefore);
                await CheckBalancesAsync(load, keys, findings);
                await log.WriteLineAsync($"    kill {kill} ({node.Name}): ready again in {restarts[^1]:0.0} s; {load.Acknowledged().Count:N0} acknowledged so far, " +
                                         $"{found.Problems.Count} problems");
            }
            await stop.CancelAsync();
            await running;
            await load.RetryUnansweredAsync(ct);

            await log.WriteLineAsync("    bringing every task to an end (cancelling what is still active) and waiting for the callbacks");
            var tasks = await SettleAsync(load, keys, databaseToRead, s, ct);
            var missing = await WaitForCallbacksAsync(receiver, tasks, s, ct);
            var (last, final) = await CrashChecks.CheckAsync(databaseToRead, load.Acknowledged(), load.CancelsAcknowledged(), keys, allSettled: true, ct);
            findings.Add(last);
            await CheckBalancesAsync(load, keys, findings);
            var expected = final.Count(t => t is { IsTerminal: true, CallbackUrl: not null });
            foreach (var t in missing) findings.Problems.Add($"Task {t.TaskId} ended {t.Status}; its callbacks carried [{string.Join(", ", receiver.StatusesOf(t.TaskId))}]");
            var result = new CrashResult(setup, s.Kills, load.Answers, load.Unanswered, load.UnansweredSubmissions, load.Acknowledged().Count, load.Replays,
                load.ReplaysDiffering, final.GroupBy(t => t.Status).ToDictionary(g => g.Key, g => g.Count()), expected, missing.Count, receiver.Received,
                findings, new Distribution(restarts), clientLog, clock.Elapsed);
            await log.WriteLineAsync($"    {result.Headline}; {result.Failures} failures; client log {clientLog}");
            keepData = result.Failures > 0;
            if (keepData) await log.WriteLineAsync($"    the data directory is kept for a look: {dataDir}{(connection is null ? "" : $" (and the database {connection})")}");
            return result;
        }
        catch
        {
            foreach (var node in nodes) await log.WriteLineAsync($"--- {node.Name}'s last output:\n{node.Server.OutputTail}");
            throw;
        }
        finally
        {
            foreach (var node in nodes)
            {
                node.Server.KeepDataDir = keepData;
                await node.Server.DisposeAsync();
            }
            if (!keepData)
            {
                if (connection is not null) await NodesBenchmark.DropDatabaseAsync(s.Postgres!, connection);
                try { Directory.Delete(dataDir, recursive: true); } catch (IOException) { }
            }
        }
    }

    /// <summary>The balance of each key as the API gives it: total = used + reserved + remain, none negative.</summary>
    private static async Task CheckBalancesAsync(CrashLoad load, IReadOnlyList<CrashKey> keys, CrashFindings findings)
    {
        foreach (var key in keys)
        {
            if (await load.BalanceAsync(key) is not { } b) continue;
            decimal total = b["total_credits"]!.GetValue<decimal>(), used = b["used_credits"]!.GetValue<decimal>(),
                reserved = b["reserved_credits"]!.GetValue<decimal>(), remain = b["remain_credits"]!.GetValue<decimal>();
            if (total == used + reserved + remain && remain >= 0 && reserved >= 0) continue;
            findings.FiguresOff++;
            findings.Problems.Add($"Key {key.KeyId}'s balance: total {total}, used {used}, reserved {reserved}, remain {remain}");
        }
    }

    /// <summary>Cancels every task still active (its owner's key, through the API) until none is; returns the tasks as they ended.</summary>
    private static async Task<List<StoredTask>> SettleAsync(CrashLoad load, IReadOnlyList<CrashKey> keys, string database, CrashSettings s, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow.AddSeconds(s.Smoke ? 180 : 600);
        var byId = keys.ToDictionary(k => k.KeyId);
        while (true)
        {
            var (_, tasks) = await CrashChecks.CheckAsync(database, [], new HashSet<string>(), keys, allSettled: false, ct);
            var active = tasks.Where(t => !t.IsTerminal).ToList();
            if (active.Count == 0) return tasks;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"{active.Count} tasks still active: {string.Join(", ", active.Take(10).Select(t => $"{t.TaskId} {t.Status}"))}");
            foreach (var t in active) await load.CancelAsync(byId[t.KeyId], t.TaskId);
            await Task.Delay(1000, ct);
        }
    }

    /// <summary>Waits until every finished task with a callback_url had a callback carrying its final status; returns those still without one at the deadline.</summary>
    private static async Task<List<StoredTask>> WaitForCallbacksAsync(CallbackReceiver receiver, List<StoredTask> tasks, CrashSettings s, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow.AddSeconds(s.Smoke ? 120 : 300);
        while (true)
        {
            var missing = tasks.Where(t => t is { IsTerminal: true, CallbackUrl: not null } && !receiver.StatusesOf(t.TaskId).Contains(t.Status)).ToList();
            if (missing.Count == 0 || DateTime.UtcNow > deadline) return missing;
            await Task.Delay(250, ct);
        }
    }

    private static string Table(CrashSettings s, DateTimeOffset startedAt, string loadAverage, List<CrashResult> results)
    {
        var md = new StringBuilder();
        md.AppendLine($"## Crash consistency: kill -9 under load{(s.Smoke ? " (smoke run: 2 kills, a small load)" : "")}");
        md.AppendLine();
        md.AppendLine($"Run at {startedAt.UtcDateTime:yyyy-MM-dd HH:mm:ss} UTC on {Environment.ProcessorCount} cores ({RuntimeInformation.OSDescription}), " +
                      $"load average {loadAverage} (other work on the machine shows here, and in the time a node takes to be ready again), seed {s.Seed}. " +
                      $"The server's Release build as processes of their own: SQLite with one node; PostgreSQL with three nodes sharing one database and one data " +
                      $"directory (leases of 3 s), one node picked at random for each kill. {s.Clients} clients over {s.Keys} keys, each sending, to a running " +
                      $"node at random every {s.PauseMs.Min / 1000.0:0.0#}-{s.PauseMs.Max / 1000.0:0.0#} s: a submission (65 %: half with an Idempotency-Key; 4 s at 480p, a callback to a receiver on loopback; " +
                      "the sandbox completes it, fails it, or keeps it processing 2 or 4 s first), a cancel of one of the key's recent tasks (25 %) or a " +
                      $"top-up through the admin API (10 %). A SIGKILL to the node (and its ffmpeg renders) every {s.MinUpSeconds:0.#}-{s.MaxUpSeconds:0.#} s, " +
                      "then a restart on the same data; then, while the load goes on, the checks: every submission acknowledged with 200 is in the database " +
                      "with its key and cost; no submission made two tasks (each carries a unique tag in its prompt); each task has one reservation and, once " +
                      "finished, one capture (completed) or one release (else), of its cost; a cancel acknowledged is never charged; each key's total, used and " +
                      "reserved equal its ledger's sums, its completed and active tasks' costs, and the top-ups acknowledged before the check (plus at most those unanswered or still in flight); " +
                      "the balance endpoint's total = used + reserved + remain; each Idempotency-Key acknowledged before the kill, sent again, answers the " +
                      "first answer word for word. Idempotent submissions whose answer was lost are sent again until answered. At the end every task " +
                      "still active is cancelled, and each finished task's callback must have come with its final status.");
        md.AppendLine();
        md.AppendLine("| Setup | Kills | Answers logged | Acknowledged submissions | Lost | Double-charged | Key figures off | Cancels not kept | Replays differing | Callbacks missing |");
        md.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var r in results)
            md.AppendLine($"| {r.Setup} | {r.Kills} | {r.Answers:N0} | {r.Acknowledged:N0} | {r.Findings.Lost} | {r.Findings.DoubleCharged} | {r.Findings.FiguresOff} | " +
                          $"{r.Findings.CancelsNotKept} | {r.ReplaysDiffering.Count} | {r.CallbacksMissing} |");
        md.AppendLine();
        foreach (var r in results)
        {
            md.AppendLine($"**{r.Setup}: {r.Headline}.** " +
                          $"Tasks at the end: {string.Join(", ", r.ByStatus.OrderBy(kv => kv.Key).Select(kv => $"{kv.Value:N0} {kv.Key}"))}. " +
                          $"Requests cut by a kill (no answer): {r.Unanswered:N0}, of them submissions without Idempotency-Key {r.UnansweredSubmissions:N0}. " +
                          $"Idempotency-Key replays after a kill: {r.Replays:N0}. Callbacks: {r.CallbacksExpected:N0} finished tasks, {r.CallbacksReceived:N0} POSTs received. " +
                          $"Kill to ready again: p50 {Sec(r.RestartSeconds.Percentile(50))}, max {Sec(r.RestartSeconds.Max)}. Took {r.Took.TotalSeconds:0} s.");
            md.AppendLine();
        }
        var problems = results.SelectMany(r => r.Findings.Problems.Concat(r.ReplaysDiffering).Select(p => $"{r.Setup}: {p}")).ToList();
        md.AppendLine($"Problems: {problems.Count}.");
        foreach (var p in problems.Take(30)) md.AppendLine($"- {p}");
        return md.ToString();
    }

    private static string Sec(double seconds) => double.IsNaN(seconds) ? "n/a" : seconds.ToString("0.0", CultureInfo.InvariantCulture) + " s";
}
