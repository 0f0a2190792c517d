using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;

namespace Seedance.Bench.Bar;

/// <summary>
/// The performance bar of the product, each figure beside a baseline measured in the same run: the server's
/// Release build as its own process on a fresh data directory, the bare app of <c>bench/Seedance.Bench.Baseline</c>
/// as another, and the load from this process, the same for both.
/// </summary>
public static class BarBenchmark
{
    internal static readonly byte[] SubmitBody = Encoding.UTF8.GetBytes(
        """{"content":[{"type":"text","text":"A cat running under cherry blossoms"}],"resolution":"480p","duration":4}""");

    internal static JsonObject Unlimited(string name) => new()
    {
        ["name"] = name, ["credits"] = 100_000_000, ["max_concurrent"] = 100_000, ["max_pending"] = 100_000, ["rate_limit_per_second"] = 100_000,
    };

    public static async Task<BarFigures> RunAsync(BarSettings s, TextWriter log, CancellationToken ct)
    {
        var f = new BarFigures { Settings = s, StartedAt = DateTimeOffset.UtcNow, LoadAverage = LoadAverage() };

        await log.WriteLineAsync($"==> Starting the server on a fresh data directory ({s.ServerDll})");
        await using var server = await ServerUnderTest.StartAsync(s.ServerDll, s.Server(new Dictionary<string, string>
        {
            // The sandbox takes each task at once and holds it queued: nothing renders during the run, so what
            // the dispatch figure measures is the server's own path from submission to queued.
            ["Seedance__Sandbox__QueueSeconds"] = "3600",
            ["Seedance__Tasks__PollIntervalSeconds"] = "60",
        }), ct);
        var (apiKey, keyId) = await server.CreateKeyWithIdAsync(Unlimited("bench"), ct);
        var (dispatchKey, dispatchKeyId) = await server.CreateKeyWithIdAsync(Unlimited("dispatch"), ct);
        var keys = new List<long> { keyId };
        for (var i = 1; i < s.SeededKeys; i++) keys.Add((await server.CreateKeyWithIdAsync(Unlimited($"other-{i}"), ct)).KeyId);

        await log.WriteLineAsync($"==> Seeding {s.SeededTasks:N0} finished tasks over {s.SeededKeys} keys with the server stopped");
        await server.StopAsync();
        var seeding = Stopwatch.StartNew();
        var taskId = TaskSeeder.Seed(server.DatabasePath, keys, s.SeededTasks);
        f.SeedSeconds = seeding.Elapsed.TotalSeconds;
        await server.RestartAsync(new Dictionary<string, string>(), ct);

        using var api = LoadGenerator.Client(server.BaseUrl, 512);
        api.DefaultRequestHeaders.Add("X-API-Key", apiKey);
        var taskPath = $"/api/v1/video/task/{taskId}";
        var taskBody = await api.GetByteArrayAsync(taskPath, ct);
        if (JsonNode.Parse(taskBody)?["result"]?["status"]?.GetValue<string>() != "completed")
            throw new InvalidOperationException($"The seeded task does not read as completed: {Encoding.UTF8.GetString(taskBody)}");

        await using var baseline = await BaselineUnderTest.StartAsync(s.BaselineDll, apiKey, taskBody, ct);
        using var bare = LoadGenerator.Client(baseline.BaseUrl, 512);
        bare.DefaultRequestHeaders.Add("X-API-Key", apiKey);
        await Task.Delay(TimeSpan.FromSeconds(s.RestSeconds), ct);
        f.RestRss = server.RssBytes;
        f.BaselineRestRss = baseline.RssBytes;

        await log.WriteLineAsync($"==> GET {taskPath}: {s.GetClients} clients as fast as they go, {s.DurationSeconds} s after {s.WarmupSeconds} s of warm-up");
        var keyHeader = new Dictionary<string, string> { ["X-API-Key"] = apiKey };
        var apiPolls = new RawPoller(server.BaseUrl, taskPath, keyHeader);
        var barePolls = new RawPoller(baseline.BaseUrl, taskPath, keyHeader);
        f.GetMax = await apiPolls.ClosedLoopAsync(s.GetClients, s.Warmup, s.Duration);
        f.BaselineGetMax = await barePolls.ClosedLoopAsync(s.GetClients, s.Warmup, s.Duration);
        await log.WriteLineAsync($"    server {f.GetMax.PerSecond:N0}/s, baseline {f.BaselineGetMax.PerSecond:N0}/s; now each at 80 % of its own");
        f.GetAt80 = await apiPolls.FixedRateAsync(0.8 * f.GetMax.PerSecond, RateConnections, s.Warmup, s.Duration);
        f.BaselineGetAt80 = await barePolls.FixedRateAsync(0.8 * f.BaselineGetMax.PerSecond, RateConnections, s.Warmup, s.Duration);

        await log.WriteLineAsync($"==> GET /api/v1/video/tasks, pages 1 and {s.DeepPage}: {s.ListRequests} requests each, one after the other");
        f.ListFirst = await SequentialAsync(LoadGenerator.Get(api, "/api/v1/video/tasks?page=1&page_size=20"), s.ListRequests, ct);
        f.ListDeep = await SequentialAsync(LoadGenerator.Get(api, $"/api/v1/video/tasks?page={s.DeepPage}&page_size=20"), s.ListRequests, ct);

        await log.WriteLineAsync($"==> Upload: presign, then PUT of {s.UploadBytes / 1048576.0:0} MB; the baseline app streams the same body to disk");
        f.BaselinePeakRss = baseline.PeakRssBytes;
        (f.UploadSeconds, f.UploadGrowth) = await UploadAsync(api, s.UploadBytes, server.ResetPeakRss, () => server.RssBytes, () => server.PeakRssBytes, ct);
        (f.BaselineUploadSeconds, f.BaselineUploadGrowth) = await BaselineUploadAsync(bare, s.UploadBytes, baseline, ct);

        await log.WriteLineAsync($"==> Dispatch: {s.DispatchRate} submissions/s for {s.DispatchSeconds} s, each timed from its submission to queued");
        (f.DispatchDelay, f.DispatchSubmitted, f.DispatchQueued, f.DispatchSubmit) = await DispatchAsync(server, dispatchKey, dispatchKeyId, s, ct);
        f.PeakRss = server.PeakRssOverRunBytes;
        await server.StopAsync();

        await log.WriteLineAsync("==> Submissions on a fresh server with dispatch off (Seedance__Tasks__Dispatch=false): validation, reservation, insert");
        await using (var submitServer = await ServerUnderTest.StartAsync(s.ServerDll, s.Server(new Dictionary<string, string> { ["Seedance__Tasks__Dispatch"] = "false" }), ct))
        {
            f.SubmitMax = await SubmissionsMaxAsync(s, submitServer.BaseUrl, async name => Key(await submitServer.CreateKeyAsync(Unlimited(name), ct)));
            f.BaselineInsertMax = await SubmissionsMaxAsync(s, baseline.BaseUrl, _ => Task.FromResult(Key(apiKey)));
            f.PeakRss = Max(f.PeakRss, submitServer.PeakRssOverRunBytes);
        }
        await log.WriteLineAsync("==> The same on a fresh server that syncs to disk only at checkpoints (Seedance__Database__Synchronous=normal)");
        await using (var normalServer = await ServerUnderTest.StartAsync(s.ServerDll, s.Server(new Dictionary<string, string>
                     {
                         ["Seedance__Tasks__Dispatch"] = "false", ["Seedance__Database__Synchronous"] = "normal",
                     }), ct))
        {
            f.SubmitMaxNormal = await SubmissionsMaxAsync(s, normalServer.BaseUrl, async name => Key(await normalServer.CreateKeyAsync(Unlimited(name), ct)));
            f.PeakRss = Max(f.PeakRss, normalServer.PeakRssOverRunBytes);
        }
        f.BaselinePeakRss = Max(f.BaselinePeakRss, baseline.PeakRssBytes);
        f.LoadAverageAfter = LoadAverage();
        return f;
    }

    private static long? Max(long? a, long? b) => a is null ? b : b is null ? a : Math.Max(a.Value, b.Value);

    /// <summary>
    /// Submissions of <see cref="SubmitBody"/> over raw kept-alive connections, as the polls are sent: an HttpClient in this
    /// process costs more CPU per request than these event loops, on the two cores the server under test needs too.
    /// </summary>
    private static RawPoller Submissions(string baseUrl, IReadOnlyDictionary<string, string> key) => new(baseUrl, "/api/v1/video/task", key, SubmitBody);

    private static Dictionary<string, string> Key(string apiKey) => new() { ["X-API-Key"] = apiKey };

    /// <summary>
    /// The submissions' maximum: first <see cref="BarSettings.SubmitWarmupSeconds"/> of them unmeasured, on a key of their own
    /// (a key holds at most 100,000 pending tasks, and with dispatch off every one stays pending), then the measured
    /// phase on another key.
    /// </summary>
    private static async Task<LoadResult> SubmissionsMaxAsync(BarSettings s, string baseUrl, Func<string, Task<Dictionary<string, string>>> key)
    {
        // all warm-up and no measured window: nothing is kept of these answers
        await Submissions(baseUrl, await key("warm-up")).ClosedLoopAsync(s.SubmitClients, s.SubmitWarmup, TimeSpan.Zero);
        return await Submissions(baseUrl, await key("submit")).ClosedLoopAsync(s.SubmitClients, s.Warmup, s.Duration);
    }

    private static LoadGenerator.Request Post(HttpClient http, string path) => async (_, ct) =>
    {
        using var content = new ByteArrayContent(SubmitBody);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var response = await http.PostAsync(path, content, ct);
        var text = await response.Content.ReadAsStringAsync(ct);
        return response.IsSuccessStatusCode ? null : $"{(int)response.StatusCode} {text}";
    };

    /// <summary>One client, one request after the other (after a few unmeasured ones): the time each takes the server.</summary>
    private static async Task<LoadResult> SequentialAsync(LoadGenerator.Request request, int count, CancellationToken ct)
    {
        for (var i = 0; i < Math.Max(5, count / 10); i++) await request(i, ct);
        var latencies = new List<double>(count);
        string? firstError = null;
        var failed = 0;
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < count; i++)
        {
            var started = clock.Elapsed;
            var error = await request(i, ct);
            if (error is null) latencies.Add((clock.Elapsed - started).TotalSeconds);
            else { failed++; firstError ??= error; }
        }
        return new LoadResult(latencies.Count, failed, clock.Elapsed.TotalSeconds, new Distribution(latencies), firstError);
    }

    /// <summary>Presign and PUT, the way a client uploads (after one small upload to warm the path); the time of the PUT and the peak memory it added.</summary>
    private static async Task<(double Seconds, long? Growth)> UploadAsync(HttpClient api, long bytes, Func<bool> resetPeak, Func<long?> rss, Func<long?> peak, CancellationToken ct)
    {
        await PutAsync(await PresignAsync(api, ct), 1024 * 1024, ct);
        var url = await PresignAsync(api, ct);
        var reset = resetPeak();
        var before = rss();
        var clock = Stopwatch.StartNew();
        await PutAsync(url, bytes, ct);
        var seconds = clock.Elapsed.TotalSeconds;
        return (seconds, reset && before is not null && peak() is { } after ? after - before.Value : null);
    }

    private static async Task<(double Seconds, long? Growth)> BaselineUploadAsync(HttpClient bare, long bytes, BaselineUnderTest baseline, CancellationToken ct)
    {
        await PutAsync(new Uri(bare.BaseAddress!, "/upload/warm.mp4").ToString(), 1024 * 1024, ct);
        var reset = baseline.ResetPeakRss();
        var before = baseline.RssBytes;
        var clock = Stopwatch.StartNew();
        await PutAsync(new Uri(bare.BaseAddress!, "/upload/bench.mp4").ToString(), bytes, ct);
        var seconds = clock.Elapsed.TotalSeconds;
        return (seconds, reset && before is not null && baseline.PeakRssBytes is { } after ? after - before.Value : null);
    }

    private static async Task<string> PresignAsync(HttpClient api, CancellationToken ct)
    {
        using var response = await api.PostAsync($"/api/v1/video/upload/presign?filename=bench.mp4&content_type=video/mp4", null, ct);
        var text = await response.Content.ReadAsStringAsync(ct);
        if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"Presign failed: {(int)response.StatusCode} {text}");
        return JsonNode.Parse(text)!["result"]!["presigned_url"]!.GetValue<string>();
    }

    private static async Task PutAsync(string url, long bytes, CancellationToken ct)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(10) };
        using var content = new StreamContent(new PatternStream(bytes), 81920);
        content.Headers.ContentType = new MediaTypeHeaderValue("video/mp4");
        content.Headers.ContentLength = bytes;
        using var response = await http.PutAsync(url, content, ct);
        if (!response.IsSuccessStatusCode)
            throw new InvalidOperationException($"PUT failed: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(ct)}");
    }

    /// <summary>
    /// Connections of the polling figure's fixed rate: as wrk2 is run, many more than the answers in flight need
    /// (about 25 at 45,000/s), so a stall of the server holds requests in their latency, not the rate.
    /// </summary>
    internal const int RateConnections = 128;

    /// <summary>Clients of the dispatch figure's fixed rate: enough that a submission stall of 100 ms at 500/s does not hold the rate back.</summary>
    private const int DispatchClients = 64;

    /// <summary>
    /// Submits at a fixed rate with a key of its own, waits until nothing of that key is pending, and reads each
    /// task's submission and queued times from the server's database (the API shows whole seconds only).
    /// </summary>
    private static async Task<(Distribution Delay, int Submitted, int Queued, LoadResult Submit)> DispatchAsync(
        ServerUnderTest server, string key, long keyId, BarSettings s, CancellationToken ct)
    {
        using var http = LoadGenerator.Client(server.BaseUrl, 512);
        http.DefaultRequestHeaders.Add("X-API-Key", key);
        // warm the submission and dispatch paths on another key, so the measured tasks are only the measured ones
        var warm = await server.CreateKeyAsync(Unlimited("dispatch-warm-up"), ct);
        using (var warmHttp = LoadGenerator.Client(server.BaseUrl, 64))
        {
            warmHttp.DefaultRequestHeaders.Add("X-API-Key", warm);
            await LoadGenerator.FixedRateAsync(Post(warmHttp, "/api/v1/video/task"), s.DispatchRate, DispatchClients, TimeSpan.Zero, TimeSpan.FromSeconds(Math.Min(1, s.DispatchSeconds)), ct);
        }
        await WaitUntilNothingPendingAsync(server, null, TimeSpan.FromSeconds(60), ct);

        var submit = await LoadGenerator.FixedRateAsync(Post(http, "/api/v1/video/task"), s.DispatchRate, DispatchClients, TimeSpan.Zero, TimeSpan.FromSeconds(s.DispatchSeconds), ct);
        await WaitUntilNothingPendingAsync(server, keyId, TimeSpan.FromSeconds(120), ct);

        await using var db = ReadOnly(server);
        await using var command = db.CreateCommand();
        command.CommandText = "SELECT status, created_at, updated_at FROM video_tasks WHERE key_id = $k";
        command.Parameters.AddWithValue("$k", keyId);
        var delays = new List<double>();
        var submitted = 0;
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            submitted++;
            if (reader.GetString(0) is not ("queued" or "processing")) continue;
            delays.Add((Time(reader.GetString(2)) - Time(reader.GetString(1))).TotalSeconds);
        }
        return (new Distribution(delays), submitted, delays.Count, submit);
    }

    private static async Task WaitUntilNothingPendingAsync(ServerUnderTest server, long? keyId, TimeSpan within, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + within;
        while (DateTime.UtcNow < deadline)
        {
            await using var db = ReadOnly(server);
            await using var command = db.CreateCommand();
            command.CommandText = "SELECT count(*) FROM video_tasks WHERE status = 'pending'" + (keyId is null ? "" : " AND key_id = $k");
            if (keyId is not null) command.Parameters.AddWithValue("$k", keyId);
            if ((long)(await command.ExecuteScalarAsync(ct))! == 0) return;
            await Task.Delay(100, ct);
        }
    }

    private static SqliteConnection ReadOnly(ServerUnderTest server)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = server.DatabasePath, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        connection.Open();
        return connection;
    }

    private static DateTime Time(string text) =>
        DateTime.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";
}
