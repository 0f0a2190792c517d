using System.CommandLine;
using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;

namespace Seedance.Bench.Estimates;

/// <summary>
/// <c>estimates</c>: how close <c>estimated_finish_at</c> comes to when tasks really finish. A stream of sandbox tasks of
/// varied durations (4-15 s of video, 480p, posters off) arrives at a steady pace on one key with a concurrency limit, so
/// some wait as pending; each task generates for a time that grows with its duration, with noise (the sandbox's delay
/// directive: 1.5 s per second of video, ±15 %, beside a real ffmpeg render), and two renders run at once. A warm-up
/// batch first gives the server a history, as a server that has run for a while has. Every task is read every half
/// second; the error is |estimate − actual finish| as a fraction of the task's whole time from submission to finish,
/// for the estimate read right after submission and the one read nearest the half-way point.
/// </summary>
public static class EstimatesBenchmark
{
    private const double SecondsPerVideoSecond = 1.5, Noise = 0.15;
    private static readonly TimeSpan ReadEvery = TimeSpan.FromMilliseconds(500);

    private sealed record Settings(int Tasks, int Warmup, double IntervalSeconds, int MaxConcurrent, double Scale, int MaxDuration,
        string ServerDll, string ResultsDir, bool Smoke);

    private sealed record Reading(DateTimeOffset At, string Status, DateTimeOffset? Estimate, int? Progress);

    private sealed class Tracked(string id, DateTimeOffset submittedAt, int duration)
    {
        public string Id { get; } = id;
        public DateTimeOffset SubmittedAt { get; } = submittedAt;
        public int Duration { get; } = duration;
        public List<Reading> Readings { get; } = [];
        public bool Finished => Readings.Count > 0 && Readings[^1].Status is "completed" or "failed" or "cancelled" or "expired";
    }

    public static Command Create()
    {
        var tasks = new Option<int?>("--tasks") { Description = "Tasks measured (default 300; smoke 6)" };
        var warmup = new Option<int?>("--warmup") { Description = "Tasks completed first, unmeasured, to give the server a history (default 24; smoke 3)" };
        var interval = new Option<double?>("--interval") { Description = "Seconds between two submissions (default 0.6; smoke 0.1)" };
        var concurrent = new Option<int?>("--max-concurrent") { Description = "The key's concurrency limit (default 24; smoke 3)" };
        var smoke = new Option<bool>("--smoke") { Description = "A quick check of the harness: short tasks of one duration band" };
        var serverDll = new Option<string?>("--server-dll") { Description = "The server build to measure" };
        var resultsDir = new Option<string?>("--results-dir") { Description = "Where the table is written (default: bench/results)" };
        var command = new Command("estimates", "Measures the error of estimated_finish_at at submission and half-way, over a stream of sandbox tasks of varied durations")
        {
            tasks, warmup, interval, concurrent, smoke, serverDll, resultsDir,
        };
        command.SetAction(async (p, ct) =>
        {
            var isSmoke = p.GetValue(smoke);
            var settings = new Settings(p.GetValue(tasks) ?? (isSmoke ? 6 : 300), p.GetValue(warmup) ?? (isSmoke ? 3 : 24),
                p.GetValue(interval) ?? (isSmoke ? 0.1 : 0.6), p.GetValue(concurrent) ?? (isSmoke ? 3 : 24), isSmoke ? 0.25 : 1, isSmoke ? 5 : 15,
                p.GetValue(serverDll) ?? BenchPaths.ServerDll, p.GetValue(resultsDir) ?? BenchPaths.ResultsDir, isSmoke);
            var table = await RunAsync(settings, p.InvocationConfiguration.Error, ct);
            await BenchPaths.WriteTableAsync(p.InvocationConfiguration.Output, settings.ResultsDir,
                $"estimates-{DateTime.UtcNow:yyyyMMdd-HHmmss}{(isSmoke ? "-smoke" : "")}", table, ct);
            return Program.Ok;
        });
        return command;
    }

    private static async Task<string> RunAsync(Settings s, TextWriter log, CancellationToken ct)
    {
        var startedAt = DateTimeOffset.UtcNow;
        await using var server = await ServerUnderTest.StartAsync(s.ServerDll, _ => new Dictionary<string, string>
        {
            ["Seedance__Sandbox__QueueSeconds"] = s.Smoke ? "0.2" : "1",
            ["Seedance__Tasks__Thumbnails"] = "false",
            ["Seedance__Keys__RateLimitPerSecond"] = "100000",
        }, ct);
        var apiKey = await server.CreateKeyAsync(new JsonObject
        {
            ["name"] = "bench", ["credits"] = 1_000_000, ["max_concurrent"] = s.MaxConcurrent, ["max_pending"] = 100_000, ["rate_limit_per_second"] = 100_000,
        }, ct);
        using var http = new HttpClient { BaseAddress = new Uri(server.BaseUrl), Timeout = TimeSpan.FromMinutes(2) };
        http.DefaultRequestHeaders.Add("X-API-Key", apiKey);
        var random = new Random(18);
        int Duration() => random.Next(4, s.MaxDuration + 1);

        await log.WriteLineAsync($"==> Warm-up: {s.Warmup} tasks, completed before the measured ones");
        var warm = new List<Tracked>();
        for (var i = 0; i < s.Warmup; i++) warm.Add(await SubmitAsync(http, s, 4 + i % (s.MaxDuration - 3), random, ct));
        await FollowAsync(http, warm, () => true, ct);

        await log.WriteLineAsync($"==> Measuring: {s.Tasks} tasks, one every {s.IntervalSeconds} s, at most {s.MaxConcurrent} at once");
        var measured = new List<Tracked>();
        var submitting = Task.Run(async () =>
        {
            for (var i = 0; i < s.Tasks; i++)
            {
                var task = await SubmitAsync(http, s, Duration(), random, ct);
                lock (measured) measured.Add(task);
                await Task.Delay(TimeSpan.FromSeconds(s.IntervalSeconds), ct);
            }
        }, ct);
        await FollowAsync(http, measured, () => submitting.IsCompleted, ct, log);
        await submitting;

        var finishedAt = server.ReadTasks().ToDictionary(t => t.TaskId, t => t.UpdatedAt);
        return Table(s, startedAt, measured, finishedAt);
    }

    private static async Task<Tracked> SubmitAsync(HttpClient http, Settings s, int duration, Random random, CancellationToken ct)
    {
        double noise;
        lock (random) noise = 1 - Noise + 2 * Noise * random.NextDouble();
        var delay = Math.Round(duration * SecondsPerVideoSecond * s.Scale * noise, 1).ToString(CultureInfo.InvariantCulture);
        var body = new JsonObject
        {
            ["content"] = new JsonArray(new JsonObject { ["type"] = "text", ["text"] = $"A lighthouse at dusk [sandbox:delay={delay}]" }),
            ["resolution"] = "480p", ["duration"] = duration,
        };
        var submittedAt = DateTimeOffset.UtcNow;
        using var response = await http.PostAsJsonAsync("/api/v1/video/task", body, ct);
        var text = await response.Content.ReadAsStringAsync(ct);
        if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"Submitting failed: {(int)response.StatusCode} {text}");
        var task = new Tracked(JsonNode.Parse(text)!["result"]!["task_id"]!.GetValue<string>(), submittedAt, duration);
        await ReadAsync(http, [task], ct); // the estimate at submission
        return task;
    }

    /// <summary>Reads every unfinished task every half second (in batches of 100 ids) until all are finished and <paramref name="done"/> says no more come.</summary>
    private static async Task FollowAsync(HttpClient http, List<Tracked> tasks, Func<bool> done, CancellationToken ct, TextWriter? log = null)
    {
        var lastReport = DateTime.UtcNow;
        while (true)
        {
            var last = done();
            List<Tracked> open;
            lock (tasks) open = tasks.Where(t => !t.Finished).ToList();
            if (open.Count == 0 && last) return;
            foreach (var batch in open.Chunk(100)) await ReadAsync(http, batch, ct);
            if (log is not null && DateTime.UtcNow - lastReport > TimeSpan.FromSeconds(10))
            {
                int finished, all;
                lock (tasks) (finished, all) = (tasks.Count(t => t.Finished), tasks.Count);
                await log.WriteLineAsync($"    {finished} of {all} finished");
                lastReport = DateTime.UtcNow;
            }
            await Task.Delay(ReadEvery, ct);
        }
    }

    private static async Task ReadAsync(HttpClient http, IReadOnlyList<Tracked> tasks, CancellationToken ct)
    {
        var page = await http.GetFromJsonAsync<JsonObject>($"/api/v1/video/tasks?task_ids={string.Join(',', tasks.Select(t => t.Id))}", ct);
        var at = DateTimeOffset.UtcNow;
        var byId = tasks.ToDictionary(t => t.Id);
        foreach (var row in page!["result"]!["data"]!.AsArray())
        {
            var estimate = row!["estimated_finish_at"]?.GetValue<string>();
            byId[row["task_id"]!.GetValue<string>()].Readings.Add(new Reading(at, row["status"]!.GetValue<string>(),
                estimate is null ? null : DateTimeOffset.Parse(estimate, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal),
                row["progress"]?.GetValue<int>()));
        }
    }

    private static string Table(Settings s, DateTimeOffset startedAt, List<Tracked> tasks, Dictionary<string, DateTimeOffset> finishedAt)
    {
        var completed = tasks.Where(t => t.Readings[^1].Status == "completed" && finishedAt.ContainsKey(t.Id)).ToList();
        double Actual(Tracked t) => (finishedAt[t.Id] - t.SubmittedAt).TotalSeconds;
        double? Error(Tracked t, Reading? r) => r?.Estimate is { } e ? Math.Abs((e - finishedAt[t.Id]).TotalSeconds) / Actual(t) : null;
        Reading? HalfWay(Tracked t)
        {
            var half = t.SubmittedAt.AddSeconds(Actual(t) / 2);
            return t.Readings.Where(r => r.Status is not "completed").MinBy(r => Math.Abs((r.At - half).TotalSeconds));
        }
        var atSubmission = completed.Select(t => Error(t, t.Readings[0])).OfType<double>().ToList();
        var atHalf = completed.Select(t => Error(t, HalfWay(t))).OfType<double>().ToList();
        var waited = completed.Count(t => t.Readings[0].Status == "pending" && t.Readings.Count(r => r.Status == "pending") > 1);
        var backwards = completed.Count(t => t.Readings.Select(r => r.Progress).OfType<int>().Zip(t.Readings.Select(r => r.Progress).OfType<int>().Skip(1)).Any(p => p.Second < p.First));
        var hundredEarly = tasks.Count(t => t.Readings.Any(r => r.Status != "completed" && r.Progress >= 100));
        var actual = new Distribution(completed.Select(Actual));

        static string Pct(double v) => double.IsNaN(v) ? "n/a" : $"{v * 100:0.0} %";
        static string Sec(double v) => double.IsNaN(v) ? "n/a" : $"{v:0.0} s";
        var sub = new Distribution(atSubmission);
        var half = new Distribution(atHalf);
        var b = new StringBuilder();
        b.AppendLine($"## Estimates: error of estimated_finish_at over {s.Tasks} sandbox tasks");
        b.AppendLine();
        b.AppendLine($"Run at {startedAt:yyyy-MM-dd HH:mm:ss} UTC on {Environment.ProcessorCount} cores. Server: Release build as its own process, SQLite, sandbox " +
                     $"(posters off, 480p, two renders at once), one key limited to {s.MaxConcurrent} tasks at once, a task every {s.IntervalSeconds} s after " +
                     $"{s.Warmup} warm-up tasks; durations 4-{s.MaxDuration} s, generating {SecondsPerVideoSecond * s.Scale} s per second of video ±{Noise * 100} %. " +
                     "Error: |estimate − actual finish| / (actual finish − submission); estimates are whole seconds.");
        b.AppendLine();
        b.AppendLine("| Figure | Value |");
        b.AppendLine("|---|---:|");
        b.AppendLine($"| Tasks completed | {completed.Count} / {tasks.Count} |");
        b.AppendLine($"| Tasks that waited as pending | {waited} |");
        b.AppendLine($"| Submission to finish p50 / p90 | {Sec(actual.Percentile(50))} / {Sec(actual.Percentile(90))} |");
        b.AppendLine($"| Tasks with an estimate at submission | {sub.Count} / {completed.Count} |");
        b.AppendLine($"| Error at submission p50 | {Pct(sub.Percentile(50))} |");
        b.AppendLine($"| Error at submission p90 | {Pct(sub.Percentile(90))} |");
        b.AppendLine($"| Tasks with an estimate half-way | {half.Count} / {completed.Count} |");
        b.AppendLine($"| Error half-way p50 | {Pct(half.Percentile(50))} |");
        b.AppendLine($"| Error half-way p90 | {Pct(half.Percentile(90))} |");
        b.AppendLine($"| Tasks whose progress went back | {backwards} |");
        b.AppendLine($"| Tasks at 100 % before completed | {hundredEarly} |");
        return b.ToString();
    }
}
