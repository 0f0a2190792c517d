using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using Seedance.Server.Tests.Ark;

namespace Seedance.Bench.ArkPolling;

/// <summary>
/// Runs the Ark emulator in this process and the server in its own, with one Ark channel pointing at the
/// emulator; submits every task at once (bounded), waits until the server has completed them all, and
/// measures from both sides: when each task finished upstream, when the server's first check after that
/// arrived, and when the server completed it.
/// </summary>
public static class ArkPollingBenchmark
{
    private const string ArkKey = "ark-bench-key";
    private static readonly TimeSpan RestWindow = TimeSpan.FromSeconds(3);

    public static async Task<ArkPollingReport> RunAsync(ArkPollingSettings s, TextWriter log, CancellationToken ct)
    {
        var startedAt = DateTimeOffset.UtcNow;
        await log.WriteLineAsync("==> Rendering the result media once (every task shares it)");
        await ArkEmulator.PrerenderMediaAsync(ct);
        await using var ark = await ArkEmulator.StartAsync(ArkKey);
        ark.Timing.QueuedFor = TimeSpan.FromSeconds(s.QueuedSeconds);
        ark.Timing.RunningFor = TimeSpan.FromSeconds(s.RunningSeconds);
        ark.Timing.RunningSpread = TimeSpan.FromSeconds(s.SpreadSeconds);
        ark.Faults.DropCallbacks = !s.Callbacks;

        await log.WriteLineAsync($"==> Starting the server ({s.ServerDll})");
        await using var server = await ServerUnderTest.StartAsync(s.ServerDll, _ => ChannelConfiguration(ark, s), ct);
        var key = await server.CreateKeyAsync(new JsonObject
        {
            ["name"] = "bench", ["credits"] = 1_000_000, ["max_concurrent"] = InFlight(s), ["max_pending"] = InFlight(s), ["rate_limit_per_second"] = 100_000,
        }, ct);
        using var api = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = s.SubmitParallelism + 2 })
        {
            BaseAddress = new Uri(server.BaseUrl), Timeout = TimeSpan.FromSeconds(60),
        };
        api.DefaultRequestHeaders.Add("X-API-Key", key);

        await log.WriteLineAsync($"==> Submitting {s.Tasks} tasks, {s.SubmitParallelism} at once");
        var cpuAtStart = server.CpuTime;
        var clock = Stopwatch.StartNew();
        var taskIds = new string[s.Tasks];
        await Parallel.ForEachAsync(Enumerable.Range(0, s.Tasks), new ParallelOptions { MaxDegreeOfParallelism = s.SubmitParallelism, CancellationToken = ct },
            async (i, token) => taskIds[i] = await SubmitAsync(api, i, token));
        var submitTime = clock.Elapsed;

        // Tracking alone: after the submissions and hand-overs, before the first task can finish upstream (the first was
        // created at the start: queued + running seconds later), the server only checks tasks.
        TimeSpan? trackingCpu = null, trackingWindow = null;
        var quietFrom = submitTime + TimeSpan.FromSeconds(s.PollIntervalSeconds);
        var quietUntil = TimeSpan.FromSeconds(s.QueuedSeconds + s.RunningSeconds - 1);
        if (quietUntil - quietFrom >= TimeSpan.FromSeconds(2 * s.PollIntervalSeconds))
        {
            await Task.Delay(quietFrom - clock.Elapsed, ct);
            var (cpuFrom, at) = (server.CpuTime, clock.Elapsed);
            await log.WriteLineAsync($"==> Tracking alone: the server's CPU for {(quietUntil - at).TotalSeconds:0} s before the first task can finish");
            await Task.Delay(quietUntil - at, ct);
            (trackingCpu, trackingWindow) = (server.CpuTime - cpuFrom, clock.Elapsed - at);
        }

        await log.WriteLineAsync("==> Waiting until the server has completed every task");
        var incomplete = await WaitUntilFinishedAsync(api, s, log, ct);
        var runTime = clock.Elapsed;
        var cpu = server.CpuTime - cpuAtStart;
        var peakRss = server.PeakRssBytes;

        // at rest afterwards, warmed up like during the run (just after start the JIT would count too)
        var restStart = server.CpuTime;
        await Task.Delay(RestWindow, ct);
        var restCpuPerSecond = (server.CpuTime - restStart).TotalSeconds / RestWindow.TotalSeconds;
        var onServer = server.ReadTasks();

        return new ArkPollingReport(s, startedAt, taskIds.Length, incomplete, submitTime, runTime, cpu, restCpuPerSecond, peakRss,
            ark.GetCalls + ark.ListCalls, ark.Tasks, onServer) { TrackingCpu = trackingCpu, TrackingWindow = trackingWindow };
    }

    /// <summary>The key's and the channel's concurrency: every task at once.</summary>
    private static int InFlight(ArkPollingSettings s) => Math.Max(5000, s.Tasks);

    private static Dictionary<string, string> ChannelConfiguration(ArkEmulator ark, ArkPollingSettings s) => new()
    {
        ["Seedance__Channels__0__Name"] = "ark",
        ["Seedance__Channels__0__Provider"] = "ark",
        ["Seedance__Channels__0__BaseUrl"] = ark.BaseUrl,
        ["Seedance__Channels__0__ApiKey"] = ArkKey,
        ["Seedance__Channels__0__Models__seedance-2.0"] = "doubao-seedance-2-0-260128",
        ["Seedance__Models__seedance-2.0-fast__Enabled"] = "false", // the one channel serves one model
        ["Seedance__Channels__0__MaxConcurrent"] = InFlight(s).ToString(CultureInfo.InvariantCulture),
        ["Seedance__Channels__0__PollIntervalSeconds"] = s.PollIntervalSeconds.ToString(CultureInfo.InvariantCulture),
        ["Seedance__Channels__0__MaxParallelPolls"] = "32",
        ["Seedance__Channels__0__AllowPrivateNetworks"] = "true",
        // The figures are the tracking's cost; a poster is one ffmpeg run per completion (about 0.3 CPU-s here), many times
        // a task's tracking, and would be most of the CPU per task.
        ["Seedance__Tasks__Thumbnails"] = "false",
    };

    private static async Task<string> SubmitAsync(HttpClient api, int i, CancellationToken ct)
    {
        var body = new JsonObject
        {
            ["content"] = new JsonArray(new JsonObject { ["type"] = "text", ["text"] = $"bench {i + 1}" }),
            ["resolution"] = "480p",
            ["duration"] = 4,
        };
        using var response = await api.PostAsJsonAsync("/api/v1/video/task", body, ct);
        var text = await response.Content.ReadAsStringAsync(ct);
        if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"Submitting task {i + 1} failed: {(int)response.StatusCode} {text}");
        return JsonNode.Parse(text)!["result"]!["task_id"]!.GetValue<string>();
    }

    /// <summary>Waits until every task is terminal on the server; returns how many are not, if the time ran out.</summary>
    private static async Task<int> WaitUntilFinishedAsync(HttpClient api, ArkPollingSettings s, TextWriter log, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(s.QueuedSeconds + s.RunningSeconds + s.SpreadSeconds + 10 * s.PollIntervalSeconds + 300);
        var lastReport = DateTime.UtcNow;
        for (var round = 0; ; round++)
        {
            var finished = await CountAsync(api, "completed", ct);
            if (finished < s.Tasks && round % 8 == 7)
                foreach (var status in new[] { "failed", "expired", "cancelled" }) finished += await CountAsync(api, status, ct);
            if (finished >= s.Tasks) return 0;
            if (DateTime.UtcNow > deadline)
            {
                await log.WriteLineAsync($"    gave up waiting: {s.Tasks - finished} tasks are not finished");
                return s.Tasks - finished;
            }
            if (DateTime.UtcNow - lastReport > TimeSpan.FromSeconds(5))
            {
                await log.WriteLineAsync($"    {finished} of {s.Tasks} finished");
                lastReport = DateTime.UtcNow;
            }
            await Task.Delay(250, ct);
        }
    }

    private static async Task<int> CountAsync(HttpClient api, string status, CancellationToken ct)
    {
        var page = await api.GetFromJsonAsync<JsonObject>($"/api/v1/video/tasks?status={status}&page_size=1", ct);
        return page!["result"]!["total"]!.GetValue<int>();
    }
}
