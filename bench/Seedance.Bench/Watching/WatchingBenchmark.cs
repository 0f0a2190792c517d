using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;

namespace Seedance.Bench.Watching;

/// <summary>
/// <c>watching</c>: many clients waiting on tasks at once, by long-poll and by server-sent events: the
/// server's memory per waiting client, and the delay from a task's completion to each client hearing it.
/// </summary>
public static class WatchingBenchmark
{
    private sealed record Settings(int Clients, double RunSeconds, string ServerDll, string ResultsDir);

    public static Command Create()
    {
        var clients = new Option<int?>("--clients") { Description = "Long-polls and event streams held open, each (default 1000; smoke 50)" };
        var run = new Option<double?>("--run-seconds") { Description = "How long each task processes before it ends (default 20; smoke 4)" };
        var smoke = new Option<bool>("--smoke") { Description = "A quick check of the harness" };
        var serverDll = new Option<string?>("--server-dll") { Description = "The server build to measure" };
        var resultsDir = new Option<string?>("--results-dir") { Description = "Where the table is written (default: bench/results)" };
        var command = new Command("watching", "Holds many long-polls and server-sent event streams on one server and measures memory per client and the delay to the answer")
        {
            clients, run, smoke, serverDll, resultsDir,
        };
        command.SetAction(async (p, ct) =>
        {
            var isSmoke = p.GetValue(smoke);
            var settings = new Settings(p.GetValue(clients) ?? (isSmoke ? 50 : 1000), p.GetValue(run) ?? (isSmoke ? 4 : 20),
                p.GetValue(serverDll) ?? BenchPaths.ServerDll, p.GetValue(resultsDir) ?? BenchPaths.ResultsDir);
            var table = await RunAsync(settings, p.InvocationConfiguration.Error, ct);
            await BenchPaths.WriteTableAsync(p.InvocationConfiguration.Output, settings.ResultsDir,
                $"watching-{DateTime.UtcNow:yyyyMMdd-HHmmss}{(isSmoke ? "-smoke" : "")}", table, ct);
            return Program.Ok;
        });
        return command;
    }

    private static async Task<string> RunAsync(Settings settings, TextWriter progress, CancellationToken ct)
    {
        var startedAt = DateTimeOffset.UtcNow;
        await using var server = await ServerUnderTest.StartAsync(settings.ServerDll, _ => new Dictionary<string, string>
        {
            ["Seedance__Sandbox__QueueSeconds"] = "0.5",
            ["Seedance__Keys__RateLimitPerSecond"] = "100000",
        }, ct);
        var apiKey = await server.CreateKeyAsync(new JsonObject
        {
            ["name"] = "bench", ["credits"] = 1_000_000, ["max_concurrent"] = 100_000, ["max_pending"] = 100_000, ["rate_limit_per_second"] = 100_000,
        }, ct);
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = int.MaxValue, PooledConnectionLifetime = Timeout.InfiniteTimeSpan })
        {
            BaseAddress = new Uri(server.BaseUrl), Timeout = TimeSpan.FromMinutes(5),
        };
        http.DefaultRequestHeaders.Add("X-API-Key", apiKey);

        // Tasks that process for a while and then end (failed on purpose: no rendering, so the machine is free for the clients).
        await progress.WriteLineAsync($"Submitting {settings.Clients} tasks");
        var prompt = $"[sandbox:delay={settings.RunSeconds.ToString(CultureInfo.InvariantCulture)}][sandbox:fail=CONTENT_MODERATION_FAILED]";
        var ids = new string[settings.Clients];
        await Parallel.ForEachAsync(Enumerable.Range(0, settings.Clients), new ParallelOptions { MaxDegreeOfParallelism = 32, CancellationToken = ct }, async (i, token) =>
        {
            using var response = await http.PostAsJsonAsync("/api/v1/video/task", new { content = new[] { new { type = "text", text = $"watch {i} {prompt}" } } }, token);
            ids[i] = (await response.Content.ReadFromJsonAsync<JsonObject>(token))!["result"]!["task_id"]!.GetValue<string>();
        });
        await Task.Delay(TimeSpan.FromSeconds(1), ct);
        GC.Collect();
        var rssBefore = server.RssBytes;

        await progress.WriteLineAsync($"Opening {settings.Clients} long-polls");
        var longPolls = ids.Select(id => LongPollAsync(http, id, ct)).ToArray();
        await Task.Delay(TimeSpan.FromSeconds(2), ct);
        var rssLongPolls = server.RssBytes;

        await progress.WriteLineAsync($"Opening {settings.Clients} event streams");
        var streams = ids.Select(id => StreamAsync(http, id, ct)).ToArray();
        await Task.Delay(TimeSpan.FromSeconds(2), ct);
        var rssStreams = server.RssBytes;

        await progress.WriteLineAsync("Waiting for the tasks to end");
        var polled = await Task.WhenAll(longPolls);
        var streamed = await Task.WhenAll(streams);
        var endedAt = server.ReadTasks().ToDictionary(t => t.TaskId, t => t.UpdatedAt);

        var pollDelay = new Distribution(ids.Zip(polled).Where(x => x.Second.Terminal).Select(x => (x.Second.At - endedAt[x.First]).TotalSeconds));
        var streamDelay = new Distribution(ids.Zip(streamed).Where(x => x.Second.Terminal).Select(x => (x.Second.At - endedAt[x.First]).TotalSeconds));
        return Table(settings, startedAt, polled.Count(r => r.Terminal), streamed.Count(r => r.Terminal), rssBefore, rssLongPolls, rssStreams,
            server.PeakRssBytes, pollDelay, streamDelay);
    }

    private sealed record Answer(bool Terminal, DateTimeOffset At);

    private static async Task<Answer> LongPollAsync(HttpClient http, string id, CancellationToken ct)
    {
        while (true)
        {
            var task = (await http.GetFromJsonAsync<JsonObject>($"/api/v1/video/task/{id}?wait=60", ct))!["result"]!;
            var at = DateTimeOffset.UtcNow;
            if (task["status"]!.GetValue<string>() is "completed" or "failed" or "cancelled" or "expired") return new Answer(true, at);
        }
    }

    private static async Task<Answer> StreamAsync(HttpClient http, string id, CancellationToken ct)
    {
        using var response = await http.GetAsync($"/api/v1/video/task/{id}/events", HttpCompletionOption.ResponseHeadersRead, ct);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(ct));
        while (await reader.ReadLineAsync(ct) is { } line)
            if (line == "id: 4") return new Answer(true, DateTimeOffset.UtcNow);
        return new Answer(false, DateTimeOffset.UtcNow);
    }

    private static string Table(Settings s, DateTimeOffset startedAt, int polled, int streamed, long? rssBefore, long? rssLongPolls, long? rssStreams,
        long? peak, Distribution pollDelay, Distribution streamDelay)
    {
        static string Mb(long? bytes) => bytes is null ? "n/a" : $"{bytes.Value / 1048576.0:0.0} MB";
        static string Kb(long? a, long? b, int n) => a is null || b is null ? "n/a" : $"{(b.Value - a.Value) / 1024.0 / n:0.0} KB";
        static string Ms(double seconds) => double.IsNaN(seconds) ? "n/a" : $"{seconds * 1000:0.0} ms";
        // What a client of the document's advice (poll every 5 s) waits: uniform over the interval.
        const double PollingP99 = 4.95, PollingP50 = 2.5;
        string Ratio(double seconds, double baseline) => double.IsNaN(seconds) ? "" : (seconds / baseline).ToString("0.000", CultureInfo.InvariantCulture);

        var b = new StringBuilder();
        b.AppendLine($"## Watching tasks: {s.Clients} long-polls and {s.Clients} event streams held open");
        b.AppendLine();
        b.AppendLine($"Run at {startedAt:yyyy-MM-dd HH:mm:ss} UTC on {Environment.ProcessorCount} cores. Server: Release build as its own process, SQLite, sandbox; " +
                     $"every task processes {s.RunSeconds} s and then ends, so all clients are waiting at once. Baseline: a client polling every 5 s, as the API document advises.");
        b.AppendLine();
        b.AppendLine("| Figure | Value | Baseline | Ratio |");
        b.AppendLine("|---|---:|---|---:|");
        b.AppendLine($"| Long-polls answered with the terminal task | {polled} / {s.Clients} | | |");
        b.AppendLine($"| Event streams that delivered the terminal event | {streamed} / {s.Clients} | | |");
        b.AppendLine($"| Server RSS before / with long-polls / with both | {Mb(rssBefore)} / {Mb(rssLongPolls)} / {Mb(rssStreams)} | | |");
        b.AppendLine($"| Memory per waiting long-poll | {Kb(rssBefore, rssLongPolls, s.Clients)} | | |");
        b.AppendLine($"| Memory per open event stream | {Kb(rssLongPolls, rssStreams, s.Clients)} | | |");
        b.AppendLine($"| Server peak RSS | {Mb(peak)} | | |");
        b.AppendLine($"| Long-poll: completion to answer p50 | {Ms(pollDelay.Percentile(50))} | polling every 5 s: {PollingP50} s | {Ratio(pollDelay.Percentile(50), PollingP50)} |");
        b.AppendLine($"| Long-poll: completion to answer p99 | {Ms(pollDelay.Percentile(99))} | polling every 5 s: {PollingP99} s | {Ratio(pollDelay.Percentile(99), PollingP99)} |");
        b.AppendLine($"| Long-poll: completion to answer max | {Ms(pollDelay.Max)} | | |");
        b.AppendLine($"| Event stream: completion to terminal event p50 | {Ms(streamDelay.Percentile(50))} | polling every 5 s: {PollingP50} s | {Ratio(streamDelay.Percentile(50), PollingP50)} |");
        b.AppendLine($"| Event stream: completion to terminal event p99 | {Ms(streamDelay.Percentile(99))} | polling every 5 s: {PollingP99} s | {Ratio(streamDelay.Percentile(99), PollingP99)} |");
        b.AppendLine($"| Event stream: completion to terminal event max | {Ms(streamDelay.Max)} | | |");
        return b.ToString();
    }
}
