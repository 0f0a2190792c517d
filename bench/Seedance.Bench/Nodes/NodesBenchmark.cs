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
public sealed record NodesFigures(NodesSetup Setup, LoadResult Submit, LoadResult Poll);

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
    string ResultsDir)
{
    public static NodesSettings FullRun(string postgres, string serverDll, string resultsDir) =>
        new(false, 3, 10, 32, 16, 16, 1000, postgres, serverDll, resultsDir);

    /// <summary>A few seconds' check that the harness works end to end; its figures mean nothing.</summary>
    public static NodesSettings SmokeRun(string postgres, string serverDll, string resultsDir) =>
        new(true, 0.3, 0.7, 4, 4, 2, 20, postgres, serverDll, resultsDir);

    public TimeSpan Warmup => TimeSpan.FromSeconds(WarmupSeconds);
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
        foreach (var setup in NodesSettings.Setups) report.Figures.Add(await MeasureAsync(setup, s, log, ct));
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

                await log.WriteLineAsync($"    GET task of {taskIds.Count:N0} completed ones: {s.GetClients} clients over {setup.Nodes} node(s), {s.DurationSeconds} s after {s.WarmupSeconds} s of warm-up");
                var polled = await LoadGenerator.ClosedLoopAsync(
                    (seq, c) => LoadGenerator.Get(polls[Node(seq, polls.Count)], $"/api/v1/video/task/{taskIds[(int)((seq & long.MaxValue) % taskIds.Count)]}")(seq, c),
                    s.GetClients, s.Warmup, s.Duration, ct);
                await log.WriteLineAsync($"    {polled.PerSecond:N0}/s; now POST task: {s.SubmitClients} clients over {submitKeys.Count} keys, dispatch off");
                var submitted = await LoadGenerator.ClosedLoopAsync(
                    (seq, c) => PostAsync(submits[Node(seq, submits.Count)], submitKeys[(int)((seq & long.MaxValue) % submitKeys.Count)], c),
                    s.SubmitClients, s.Warmup, s.Duration, ct);
                await log.WriteLineAsync($"    {submitted.PerSecond:N0}/s");
                return new NodesFigures(setup, submitted, polled);
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

    private static async Task<string> CreateDatabaseAsync(string postgres, CancellationToken ct)
    {
        var name = "seedance_bench_" + Guid.NewGuid().ToString("N");
        await using var connection = new NpgsqlConnection(postgres);
        await connection.OpenAsync(ct);
        await using var command = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
        await command.ExecuteNonQueryAsync(ct);
        return new NpgsqlConnectionStringBuilder(postgres) { Database = name }.ConnectionString;
    }

    private static async Task DropDatabaseAsync(string postgres, string database)
    {
        NpgsqlConnection.ClearAllPools();
        await using var connection = new NpgsqlConnection(postgres);
        await connection.OpenAsync();
        var name = new NpgsqlConnectionStringBuilder(database).Database!;
        await using var command = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)", connection);
        await command.ExecuteNonQueryAsync();
    }

    private static string LoadAverage() =>
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

    public int Failures => Figures.Sum(f => f.Submit.Failed + f.Poll.Failed);

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
                      $"Each back to back for {Num(s.DurationSeconds)} s after {Num(s.WarmupSeconds)} s of warm-up. " +
                      "The nodes, PostgreSQL and the load generator share the machine's cores, so three nodes here show what sharing the work costs, " +
                      "not what three machines would gain.");
        md.AppendLine();
        md.AppendLine("| Setup | Submissions/s | Submission p50 | Submission p99 | Polls/s | Poll p50 | Poll p99 |");
        md.AppendLine("|---|---:|---:|---:|---:|---:|---:|");
        foreach (var f in Figures)
            md.AppendLine($"| {f.Setup.Name} | {Rate(f.Submit)} | {Ms(f.Submit.Latency.Percentile(50))} | {Ms(f.Submit.Latency.Percentile(99))} | " +
                          $"{Rate(f.Poll)} | {Ms(f.Poll.Latency.Percentile(50))} | {Ms(f.Poll.Latency.Percentile(99))} |");
        md.AppendLine();
        var errors = Figures.SelectMany(f => new[] { f.Submit.FirstError, f.Poll.FirstError }).Where(e => e is not null).Distinct().ToList();
        md.AppendLine($"Failed requests: {Failures}" +
                      (errors.Count == 0 ? "" : " (first: " + string.Join("; ", errors.Select(e => e!.Length > 200 ? e[..200] : e)) + ")") + ".");
        return md.ToString();
    }

    private static string Num(double value) => value.ToString("0.##", CultureInfo.InvariantCulture);
    private static string Rate(LoadResult r) => double.IsNaN(r.PerSecond) ? "n/a" : $"{r.PerSecond:N0}/s";
    private static string Ms(double seconds) => double.IsNaN(seconds) ? "n/a" : (seconds * 1000).ToString("0.00", CultureInfo.InvariantCulture) + " ms";
}
