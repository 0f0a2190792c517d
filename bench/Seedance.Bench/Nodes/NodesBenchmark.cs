using System.Data.Common;
using System.Globalization;
using System.Net.Http.Headers;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using Npgsql;
using Seedance.Bench.Bar;

namespace Seedance.Bench.Nodes;

/// <summary>One way of running the server: its database and how many nodes share it.</summary>
public sealed record NodesSetup(string Name, bool Postgres, int Nodes);

/// <summary>What one setup achieved: submissions and polls of completed tasks at the maximum rate.</summary>
public sealed record NodesFigures(NodesSetup Setup, LoadResult Submit, LoadResult Poll, CpuUse SubmitCpu, CpuUse PollCpu, double NodesAtRest)
{
    /// <summary>One node only: the CPU per request when it serves a third of its own maximum rate (what each of three would serve).</summary>
    public (CpuUse Submit, CpuUse Poll)? AtAThird { get; init; }
}

/// <summary>
/// A burst on one key: <see cref="Clients"/> clients at once, each submitting <see cref="Each"/> tasks back to back
/// to one key of a node whose PostgreSQL pool holds <see cref="Pool"/> connections, while another key submits one
/// task at a time.
/// </summary>
public sealed record BurstFigures(int Clients, int Each, int Pool, LoadResult Burst, LoadResult Other, int ServerErrors, int Timeouts);

/// <summary>One run of the nodes benchmark: how long each phase loads the nodes and how many clients, keys and tasks.</summary>
public sealed record NodesSettings(
    bool IsSmoke,
    double WarmupSeconds,
    double DurationSeconds,
    int GetClients,
    int SubmitClients,
    int SubmitKeys,
    int SeededTasks,
    string Postgres,
    string ServerDll,
    string ResultsDir,
    int BurstClients,
    int BurstEach,
    int BurstPool,
    bool BurstOnly = false)
{
    public static NodesSettings FullRun(string postgres, string serverDll, string resultsDir) =>
        new(false, 3, 10, 32, 16, 16, 1000, postgres, serverDll, resultsDir, BurstClients: 500, BurstEach: 4, BurstPool: 50);

    /// <summary>A few seconds' check that the harness works end to end; its figures mean nothing.</summary>
    public static NodesSettings SmokeRun(string postgres, string serverDll, string resultsDir) =>
        new(true, 0.3, 0.7, 4, 4, 2, 20, postgres, serverDll, resultsDir, BurstClients: 20, BurstEach: 2, BurstPool: 5);

    public TimeSpan Warmup => TimeSpan.FromSeconds(WarmupSeconds);
    /// <summary>How long the nodes' CPU is measured at rest, before any load.</summary>
    public TimeSpan Rest => TimeSpan.FromSeconds(IsSmoke ? 0.5 : 10);
    public TimeSpan Duration => TimeSpan.FromSeconds(DurationSeconds);

    public static readonly NodesSetup[] Setups =
    [
        new("SQLite, 1 node", Postgres: false, Nodes: 1),
        new("PostgreSQL, 1 node", Postgres: true, Nodes: 1),
        new("PostgreSQL, 3 nodes", Postgres: true, Nodes: 3),
    ];
}

/// <summary>
/// Submissions and polls on SQLite with one node, on PostgreSQL with one node and with three: each node the
/// server's Release build as a process of its own, the nodes of a setup on one fresh database, the load from
/// this process spread round-robin over them (each request to the next node; no load balancer in between).
/// </summary>
public static class NodesBenchmark
{
    public static async Task<NodesReport> RunAsync(NodesSettings s, TextWriter log, CancellationToken ct)
    {
        var report = new NodesReport { Settings = s, StartedAt = DateTimeOffset.UtcNow, LoadAverage = LoadAverage() };
        await using (var connection = new NpgsqlConnection(s.Postgres))
        {
            await connection.OpenAsync(ct);
            report.PostgresVersion = connection.PostgreSqlVersion.ToString();
        }
        if (!s.BurstOnly)
            foreach (var setup in NodesSettings.Setups) report.Figures.Add(await MeasureAsync(setup, s, log, ct));
        report.Burst = await MeasureBurstAsync(s, log, ct);
        report.LoadAverageAfter = LoadAverage();
        return report;
    }

    private static async Task<NodesFigures> MeasureAsync(NodesSetup setup, NodesSettings s, TextWriter log, CancellationToken ct)
    {
        await log.WriteLineAsync($"==> {setup.Name}: starting {(setup.Postgres ? "on a fresh PostgreSQL database" : "on a fresh data directory")}");
        var database = setup.Postgres ? await CreateDatabaseAsync(s.Postgres, ct) : null;
        var signingKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        var nodes = new List<ServerUnderTest>();
        try
        {
            // one after the other: the first applies the migrations to the fresh database, the others find it ready
            for (var i = 0; i < setup.Nodes; i++)
            {
                var environment = new Dictionary<string, string>
                {
                    ["Seedance__Tasks__Dispatch"] = "false",
                    ["Seedance__Node__Id"] = $"bench-node-{i + 1}",
                    ["Seedance__SigningKey"] = signingKey,
                };
                if (database is not null)
                {
                    environment["Seedance__Database__Provider"] = "postgres";
                    environment["ConnectionStrings__Seedance"] = database;
                }
                nodes.Add(await ServerUnderTest.StartAsync(s.ServerDll, _ => environment, ct));
            }

            var (pollKey, pollKeyId) = await nodes[0].CreateKeyWithIdAsync(BarBenchmark.Unlimited("poll"), ct);
            var submitKeys = new List<string>();
            for (var i = 0; i < s.SubmitKeys; i++) submitKeys.Add(await nodes[0].CreateKeyAsync(BarBenchmark.Unlimited($"submit-{i + 1}"), ct));

            await log.WriteLineAsync($"    seeding {s.SeededTasks:N0} completed tasks into the database");
            List<string> taskIds;
            await using (var db = Open(database ?? nodes[0].DatabasePath))
                taskIds = await SeedAsync(db, pollKeyId, s.SeededTasks, ct);

            var polls = nodes.Select(n => LoadGenerator.Client(n.BaseUrl, 512)).ToList();
            var submits = nodes.Select(n => LoadGenerator.Client(n.BaseUrl, 512)).ToList();
            try
            {
                foreach (var poll in polls) poll.DefaultRequestHeaders.Add("X-API-Key", pollKey);
                foreach (var poll in polls)
                {
                    var body = await poll.GetStringAsync($"/api/v1/video/task/{taskIds[0]}", ct);
                    if (JsonNode.Parse(body)?["result"]?["status"]?.GetValue<string>() != "completed")
                        throw new InvalidOperationException($"A seeded task does not read as completed on {poll.BaseAddress}: {body}");
                }

                // Each node gets as many warm-up requests as one node alone does: a node compiles its hot paths (tiered JIT)
                // as the requests come, so a node with a third of the load needs three times as long to get there.
                var warmup = s.Warmup * setup.Nodes;
                await log.WriteLineAsync($"    GET task of {taskIds.Count:N0} completed ones: {s.GetClients} clients over {setup.Nodes} node(s), {s.DurationSeconds} s after {warmup.TotalSeconds} s of warm-up");
                // A load, and the CPU each of its requests cost from the moment its measured window opened.
                async Task<(LoadResult Load, CpuUse Cpu)> WithCpu(Func<Action, Task<LoadResult>> load)
                {
                    CpuSnapshot? from = null;
                    var result = await load(() => from = CpuSnapshot.Take(nodes));
                    return (result, CpuSnapshot.Take(nodes).Since(from!, result.Succeeded + result.Failed));
                }

                var (polled, pollCpu) = await WithCpu(measuring => LoadGenerator.ClosedLoopAsync(
                    (seq, c) => LoadGenerator.Get(polls[Node(seq, polls.Count)], $"/api/v1/video/task/{taskIds[(int)((seq & long.MaxValue) % taskIds.Count)]}")(seq, c),
                    s.GetClients, warmup, s.Duration, ct, measuring));
                await log.WriteLineAsync($"    {polled.PerSecond:N0}/s; now POST task: {s.SubmitClients} clients over {submitKeys.Count} keys, dispatch off");
                var (submitted, submitCpu) = await WithCpu(measuring => LoadGenerator.ClosedLoopAsync(
                    (seq, c) => PostAsync(submits[Node(seq, submits.Count)], submitKeys[(int)((seq & long.MaxValue) % submitKeys.Count)], c),
                    s.SubmitClients, warmup, s.Duration, ct, measuring));
                await log.WriteLineAsync($"    {submitted.PerSecond:N0}/s");
                // One PostgreSQL node at a third of its own rates: the CPU a request costs a node that has a third of the load.
                (CpuUse, CpuUse)? atAThird = null;
                if (setup is { Postgres: true, Nodes: 1 })
                {
                    await log.WriteLineAsync($"    at a third of those rates: {polled.PerSecond / 3:N0} GETs/s, then {submitted.PerSecond / 3:N0} POSTs/s");
                    var (gets, thirdPoll) = await WithCpu(measuring => LoadGenerator.FixedRateAsync(
                        (seq, c) => LoadGenerator.Get(polls[0], $"/api/v1/video/task/{taskIds[(int)(seq % taskIds.Count)]}")(seq, c),
                        polled.PerSecond / 3, s.GetClients, s.Warmup, s.Duration, ct, measuring));
                    var (posts, thirdSubmit) = await WithCpu(measuring => LoadGenerator.FixedRateAsync(
                        (seq, c) => PostAsync(submits[0], submitKeys[(int)(seq % submitKeys.Count)], c),
                        submitted.PerSecond / 3, s.SubmitClients, s.Warmup, s.Duration, ct, measuring));
                    if (gets.Failed + posts.Failed > 0) throw new InvalidOperationException($"Requests failed at a third of the rate: {gets.FirstError ?? posts.FirstError}");
                    atAThird = (thirdSubmit, thirdPoll);
                }

                // At rest, after the load: what the nodes' own work costs (leases, the tracker's resync, the rounds of the
                // dispatcher and housekeeping, the runtime's timers), once each is warm.
                var rest = CpuSnapshot.Take(nodes);
                await Task.Delay(s.Rest, ct);
                var atRest = (CpuSnapshot.Take(nodes).Nodes - rest.Nodes) / s.Rest;
                return new NodesFigures(setup, submitted, polled, submitCpu, pollCpu, atRest) { AtAThird = atAThird };
            }
            finally
            {
                foreach (var client in polls.Concat(submits)) client.Dispose();
            }
        }
        finally
        {
            for (var i = nodes.Count - 1; i >= 0; i--) await nodes[i].DisposeAsync();
            if (database is not null) await DropDatabaseAsync(s.Postgres, database);
        }
    }

    /// <summary>
    /// The burst on one key: every client starts at once and sends its submissions back to back, all to one key, on a node
    /// whose pool holds <see cref="NodesSettings.BurstPool"/> connections; meanwhile another key submits one task at a time,
    /// which shows whether the burst starves everyone else of connections.
    /// </summary>
    private static async Task<BurstFigures> MeasureBurstAsync(NodesSettings s, TextWriter log, CancellationToken ct)
    {
        await log.WriteLineAsync($"==> A burst on one key: PostgreSQL, 1 node with a pool of {s.BurstPool}; {s.BurstClients} clients at once, {s.BurstEach} submissions each");
        var database = await CreateDatabaseAsync(s.Postgres, ct);
        var pooled = new NpgsqlConnectionStringBuilder(database) { MaxPoolSize = s.BurstPool }.ConnectionString;
        ServerUnderTest? node = null;
        try
        {
            node = await ServerUnderTest.StartAsync(s.ServerDll, _ => new Dictionary<string, string>
            {
                ["Seedance__Tasks__Dispatch"] = "false",
                ["Seedance__Database__Provider"] = "postgres",
                ["ConnectionStrings__Seedance"] = pooled,
            }, ct);
            var burstKey = await node.CreateKeyAsync(BarBenchmark.Unlimited("burst"), ct);
            var otherKey = await node.CreateKeyAsync(BarBenchmark.Unlimited("other"), ct);
            using var http = LoadGenerator.Client(node.BaseUrl, s.BurstClients + 8);
            // warm: the first submission of each key on its own, then every client's connection opened before the burst
            if (await PostAsync(http, burstKey, ct) is { } cold) throw new InvalidOperationException("The first submission failed: " + cold);
            if (await PostAsync(http, otherKey, ct) is { } coldOther) throw new InvalidOperationException("The first submission failed: " + coldOther);
            foreach (var opened in await Task.WhenAll(Enumerable.Range(0, s.BurstClients).Select(_ => http.GetAsync("/healthz", ct)))) opened.Dispose();

            using var burstDone = new CancellationTokenSource();
            var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var latencies = new List<double>[s.BurstClients];
            var errors = new List<string>[s.BurstClients];
            var clients = Enumerable.Range(0, s.BurstClients).Select(async c =>
            {
                var mine = latencies[c] = new List<double>(s.BurstEach);
                var failed = errors[c] = [];
                await start.Task;
                for (var i = 0; i < s.BurstEach; i++)
                {
                    var started = clock.Elapsed;
                    var error = await PostOrErrorAsync(http, burstKey, ct);
                    if (error is null) mine.Add((clock.Elapsed - started).TotalSeconds);
                    else failed.Add(error);
                }
            }).ToList();
            var other = Task.Run(async () =>
            {
                var mine = new List<double>();
                var failed = new List<string>();
                await start.Task;
                var began = clock.Elapsed;
                while (!burstDone.IsCancellationRequested)
                {
                    var started = clock.Elapsed;
                    var error = await PostOrErrorAsync(http, otherKey, ct);
                    if (error is null) mine.Add((clock.Elapsed - started).TotalSeconds);
                    else failed.Add(error);
                }
                return new LoadResult(mine.Count, failed.Count, (clock.Elapsed - began).TotalSeconds, new Distribution(mine), failed.FirstOrDefault());
            }, ct);
            clock.Restart();
            start.SetResult();
            await Task.WhenAll(clients);
            var seconds = clock.Elapsed.TotalSeconds;
            await burstDone.CancelAsync();
            var otherResult = await other;
            var allErrors = errors.SelectMany(e => e).ToList();
            var burst = new LoadResult(latencies.Sum(l => l.Count), allErrors.Count, seconds, new Distribution(latencies.SelectMany(l => l).ToList()), allErrors.FirstOrDefault());
            var serverErrors = allErrors.Count(e => e.StartsWith('5'));
            var timeouts = allErrors.Count(e => e.StartsWith("timeout", StringComparison.Ordinal) || e.Contains("TIMEOUT", StringComparison.Ordinal));
            await log.WriteLineAsync($"    {burst.Succeeded:N0} accepted, {burst.Failed:N0} failed in {seconds:0.00} s; the other key meanwhile: {otherResult.Succeeded:N0} accepted, {otherResult.Failed:N0} failed");
            return new BurstFigures(s.BurstClients, s.BurstEach, s.BurstPool, burst, otherResult, serverErrors, timeouts);
        }
        finally
        {
            if (node is not null) await node.DisposeAsync();
            await DropDatabaseAsync(s.Postgres, database);
        }
    }

    /// <summary>A submission; null when accepted, else its status and body, or <c>timeout</c> when no answer came within the client's time.</summary>
    private static async Task<string?> PostOrErrorAsync(HttpClient http, string key, CancellationToken ct)
    {
        try
        {
            return await PostAsync(http, key, ct);
        }
        catch (TaskCanceledException) when (!ct.IsCancellationRequested)
        {
            return "timeout: no answer within " + http.Timeout.TotalSeconds + " s";
        }
        catch (HttpRequestException e)
        {
            return "connection: " + e.Message;
        }
    }

    /// <summary>The node of request <paramref name="sequence"/>: each request goes to the next one (warm-up requests count down from -1).</summary>
    private static int Node(long sequence, int nodes) => (int)((sequence & long.MaxValue) % nodes);

    private static async Task<string?> PostAsync(HttpClient http, string key, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/video/task") { Content = new ByteArrayContent(BarBenchmark.SubmitBody) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.Add("X-API-Key", key);
        using var response = await http.SendAsync(request, ct);
        var text = await response.Content.ReadAsStringAsync(ct);
        return response.IsSuccessStatusCode ? null : $"{(int)response.StatusCode} {text}";
    }

    private static DbConnection Open(string database)
    {
        DbConnection connection = database.Contains('=')
            ? new NpgsqlConnection(database)
            : new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = database, Pooling = false }.ToString());
        connection.Open();
        return connection;
    }

    /// <summary>
    /// Inserts <paramref name="count"/> completed tasks of the key in one transaction, straight into the table the
    /// server's migrations made (as <see cref="TaskSeeder"/> does for the bar), and returns their ids.
    /// </summary>
    private static async Task<List<string>> SeedAsync(DbConnection db, long keyId, int count, CancellationToken ct)
    {
        await using var tx = await db.BeginTransactionAsync(ct);
        var ids = new List<string>(count);
        var start = DateTime.UtcNow.AddDays(-1);
        for (var i = 0; i < count; i++)
        {
            var created = start.AddSeconds(i);
            var id = Guid.CreateVersion7(created).ToString("N");
            await using var insert = db.CreateCommand();
            insert.Transaction = tx;
            insert.CommandText = """
                INSERT INTO video_tasks (task_id, key_id, model, status, resolution, ratio, duration, generate_audio, seed, watermark,
                    return_last_frame, content_json, credit_cost, channel_name, upstream_task_id, video_file, created_at, updated_at, expires_at,
                    dispatch_attempts, failed_checks)
                VALUES (@task_id, @key_id, 'seedance-2.0', 'completed', '480p', '16:9', 4, @no, @seed, @no,
                    @no, @content, 360, 'sandbox', @upstream_task_id, @video_file, @created_at, @updated_at, @expires_at, 0, 0)
                """;
            Add(insert, "task_id", id);
            Add(insert, "key_id", keyId);
            Add(insert, "no", false);
            Add(insert, "seed", (long)i);
            Add(insert, "content", $$"""[{"type":"text","text":"Seeded task {{i}}: a cat running under cherry blossoms","url":null,"file_path":null,"role":null,"sample_id":null,"content_type":null}]""");
            Add(insert, "upstream_task_id", "sbx-" + id);
            Add(insert, "video_file", $"results/{id}/video.mp4");
            Add(insert, "created_at", created);
            Add(insert, "updated_at", created.AddMinutes(1));
            Add(insert, "expires_at", created.AddHours(48));
            await insert.ExecuteNonQueryAsync(ct);
            ids.Add(id);
        }
        await tx.CommitAsync(ct);
        return ids;
    }

    private static void Add(DbCommand command, string name, object value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value;
        command.Parameters.Add(parameter);
    }

    internal static async Task<string> CreateDatabaseAsync(string postgres, CancellationToken ct)
    {
        var name = "seedance_bench_" + Guid.NewGuid().ToString("N");
        await using var connection = new NpgsqlConnection(postgres);
        await connection.OpenAsync(ct);
        await using var command = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
        await command.ExecuteNonQueryAsync(ct);
        return new NpgsqlConnectionStringBuilder(postgres) { Database = name }.ConnectionString;
    }

    internal static async Task DropDatabaseAsync(string postgres, string database)
    {
        NpgsqlConnection.ClearAllPools();
        await using var connection = new NpgsqlConnection(postgres);
        await connection.OpenAsync();
        var name = new NpgsqlConnectionStringBuilder(database).Database!;
        await using var command = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)", connection);
        await command.ExecuteNonQueryAsync();
    }

    internal static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";
}

/// <summary>What one run measured, and its Markdown table: one row per setup.</summary>
public sealed class NodesReport
{
    public required NodesSettings Settings { get; init; }
    public DateTimeOffset StartedAt { get; init; }
    public string LoadAverage { get; init; } = "";
    public string LoadAverageAfter { get; set; } = "";
    public string PostgresVersion { get; set; } = "";
    public List<NodesFigures> Figures { get; } = [];
    public BurstFigures? Burst { get; set; }

    public int Failures => Figures.Sum(f => f.Submit.Failed + f.Poll.Failed) + (Burst is { } b ? b.Burst.Failed + b.Other.Failed : 0);

    public string ToMarkdown()
    {
        var s = Settings;
        var md = new StringBuilder();
        md.AppendLine($"## Submissions and polls on one node and on three{(s.IsSmoke ? " (smoke run: small sizes, the figures mean nothing)" : "")}");
        md.AppendLine();
        md.AppendLine($"Run at {StartedAt.UtcDateTime:yyyy-MM-dd HH:mm:ss} UTC on {Environment.ProcessorCount} cores ({RuntimeInformation.OSDescription}), " +
                      $"load average {LoadAverage} before and {LoadAverageAfter} after (other work on the machine shows here). " +
                      $"Each node: the server's Release build as its own process on a fresh data directory, dispatch off (`Seedance__Tasks__Dispatch=false`), " +
                      $"so submissions measure validation, reservation and insert. SQLite: the data directory's file. PostgreSQL {PostgresVersion} on loopback: " +
                      "a fresh database per setup, shared by its nodes (each with its own `Seedance__Node__Id`). The load comes from the harness process, " +
                      "each request to the next node in turn (no load balancer). " +
                      $"Polls: `GET /api/v1/video/task/{{id}}` over {s.SeededTasks:N0} completed tasks seeded into the database, {s.GetClients} clients. " +
                      $"Submissions: `POST /api/v1/video/task`, {s.SubmitClients} clients over {s.SubmitKeys} keys. " +
                      $"Each back to back for {Num(s.DurationSeconds)} s after {Num(s.WarmupSeconds)} s of warm-up per node " +
                      "(each node gets as many warm-up requests as one alone: it compiles its hot paths as requests come). " +
                      "The nodes, PostgreSQL and the load generator share the machine's cores, so three nodes here show what sharing the work costs, " +
                      "not what three machines would gain.");
        md.AppendLine();
        md.AppendLine("| Setup | Submissions/s | Submission p50 | Submission p99 | Polls/s | Poll p50 | Poll p99 |");
        md.AppendLine("|---|---:|---:|---:|---:|---:|---:|");
        foreach (var f in Figures)
            md.AppendLine($"| {f.Setup.Name} | {Rate(f.Submit)} | {Ms(f.Submit.Latency.Percentile(50))} | {Ms(f.Submit.Latency.Percentile(99))} | " +
                          $"{Rate(f.Poll)} | {Ms(f.Poll.Latency.Percentile(50))} | {Ms(f.Poll.Latency.Percentile(99))} |");
        md.AppendLine();
        if (Figures.Count > 0)
        {
            md.AppendLine("### Where the CPU goes");
            md.AppendLine();
            md.AppendLine("CPU time per request over each measured window, as Linux counts it (`/proc`): the server nodes together, every PostgreSQL " +
                          "process, and this harness (the load generator); and how busy the machine's cores were. When the machine is busy throughout, " +
                          "requests per second can only be its cores' time divided by the CPU a request costs in all three. Context switches: the whole " +
                          "machine's (`ctxt` in `/proc/stat`), per request.");
            md.AppendLine();
            md.AppendLine("| Setup | Load | Nodes CPU per request | PostgreSQL CPU per request | Harness CPU per request | All of them | Machine busy | Context switches per request |");
            md.AppendLine("|---|---|---:|---:|---:|---:|---:|---:|");
            foreach (var f in Figures)
                md.AppendLine($"| {f.Setup.Name} | none (the nodes at rest for {s.Rest.TotalSeconds:0.#} s after the load) | {f.NodesAtRest:P1} of a core | | | | | |");
            foreach (var f in Figures)
                foreach (var (setupName, load, cpu) in new[] { (f.Setup.Name, "POST task", f.SubmitCpu), (f.Setup.Name, "GET task", f.PollCpu) }
                             .Concat(f.AtAThird is { } third
                                 ? [(f.Setup.Name + " at a third of its rate", "POST task", third.Submit), (f.Setup.Name + " at a third of its rate", "GET task", third.Poll)]
                                 : []))
                    md.AppendLine($"| {setupName} | {load} | {CpuMs(cpu.NodesMs)} | {CpuMs(cpu.PostgresMs)} | {CpuMs(cpu.HarnessMs)} | " +
                                  $"{CpuMs(cpu.NodesMs + cpu.PostgresMs + cpu.HarnessMs)} | {(double.IsNaN(cpu.MachineBusy) ? "n/a" : $"{cpu.MachineBusy:P0}")} | " +
                                  $"{(double.IsNaN(cpu.SwitchesPerRequest) ? "n/a" : cpu.SwitchesPerRequest.ToString("0.0", CultureInfo.InvariantCulture))} |");
            md.AppendLine();
        }
        if (Burst is { } b)
        {
            md.AppendLine();
            md.AppendLine($"### A burst on one key: {b.Clients} submissions at once on PostgreSQL with a pool of {b.Pool}");
            md.AppendLine();
            md.AppendLine($"One node, dispatch off, its connection string's `Maximum Pool Size={b.Pool}`. {b.Clients} clients start at the same instant " +
                          $"and each submits {b.Each} tasks back to back, all to one key ({b.Clients * b.Each:N0} in all); meanwhile another key submits " +
                          "one task at a time until the burst is over. HTTP client timeout: 120 s.");
            md.AppendLine();
            md.AppendLine("| Who | Accepted | 5xx | Timeouts | Other failures | p50 | p99 | Max | Rate |");
            md.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
            md.AppendLine($"| The burst's key | {b.Burst.Succeeded:N0} | {b.ServerErrors} | {b.Timeouts} | {b.Burst.Failed - b.ServerErrors - b.Timeouts} | " +
                          $"{Ms(b.Burst.Latency.Percentile(50))} | {Ms(b.Burst.Latency.Percentile(99))} | {Ms(b.Burst.Latency.Percentile(100))} | {Rate(b.Burst)} |");
            md.AppendLine($"| Another key, meanwhile | {b.Other.Succeeded:N0} | | | {b.Other.Failed} | " +
                          $"{Ms(b.Other.Latency.Percentile(50))} | {Ms(b.Other.Latency.Percentile(99))} | {Ms(b.Other.Latency.Percentile(100))} | {Rate(b.Other)} |");
            md.AppendLine();
            md.AppendLine($"The bar: no timeouts and no 5xx. {(b.Burst.Failed + b.Other.Failed == 0 ? "Holds" : "**Does not hold**")}.");
            md.AppendLine();
        }
        var errors = Figures.SelectMany(f => new[] { f.Submit.FirstError, f.Poll.FirstError })
            .Concat(Burst is { } bb ? [bb.Burst.FirstError, bb.Other.FirstError] : []).Where(e => e is not null).Distinct().ToList();
        md.AppendLine($"Failed requests: {Failures}" +
                      (errors.Count == 0 ? "" : " (first: " + string.Join("; ", errors.Select(e => e!.Length > 200 ? e[..200] : e)) + ")") + ".");
        return md.ToString();
    }

    private static string CpuMs(double ms) => double.IsNaN(ms) ? "n/a" : ms.ToString("0.000", CultureInfo.InvariantCulture) + " ms";
    private static string Num(double value) => value.ToString("0.##", CultureInfo.InvariantCulture);
    private static string Rate(LoadResult r) => double.IsNaN(r.PerSecond) ? "n/a" : $"{r.PerSecond:N0}/s";
    private static string Ms(double seconds) => double.IsNaN(seconds) ? "n/a" : (seconds * 1000).ToString("0.00", CultureInfo.InvariantCulture) + " ms";
}
