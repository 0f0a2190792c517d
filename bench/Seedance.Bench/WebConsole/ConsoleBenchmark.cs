using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Seedance.Bench.Nodes;

namespace Seedance.Bench.WebConsole;

/// <summary>One console run: how much history, how many requests per page, and the bound every page's p95 must keep.</summary>
public sealed record ConsoleSettings(bool Smoke, int Tasks, int HeavyTasks, int Keys, int Days, int Warmup, int Requests, double BoundMs,
    string ServerDll, string ResultsDir, int Seed);

/// <summary>One page's timings, in milliseconds: the measured requests, and the very first (the warm-up's first, on a cold cache).</summary>
public sealed record PageTiming(string Who, string Page, string Path, Distribution Ms, double FirstMs, int Bytes);

/// <summary>
/// <c>console</c>: every page of the web console, rendered by the server with a million tasks in its database. The server
/// starts once to make its schema and keys, stops, gets its history straight into SQLite (<see cref="HistorySeeder"/>), and
/// starts again as its own process; one client signs in through the console's form as the operator and as the busiest
/// customer, and asks for each page in turn, one request at a time. A page whose p95 reaches the bound fails the run.
/// </summary>
public static partial class ConsoleBenchmark
{
    public static Command Create()
    {
        var smoke = new Option<bool>("--smoke") { Description = "20,000 tasks and a few requests per page: every page answers with HTML; no bound on time" };
        var tasks = new Option<int?>("--tasks") { Description = "Tasks seeded (default 1,000,000; smoke 20,000)" };
        var requests = new Option<int?>("--requests") { Description = "Measured requests per page, after the warm-up (default 200; smoke 3)" };
        var seed = new Option<int>("--seed") { Description = "Seed of the history (default 1)", DefaultValueFactory = _ => 1 };
        var serverDll = new Option<string?>("--server-dll") { Description = "The server build to measure" };
        var resultsDir = new Option<string?>("--results-dir") { Description = "Where the table is written (default: bench/results)" };
        var command = new Command("console", "Times every web console page, as the operator and as the busiest customer, with a million tasks in the database")
        {
            smoke, tasks, requests, seed, serverDll, resultsDir,
        };
        command.Validators.Add(r =>
        {
            if (r.GetValue(tasks) is < 1000) r.AddError("--tasks must be at least 1,000");
            if (r.GetValue(requests) is < 1) r.AddError("--requests must be at least 1");
        });
        command.SetAction(async (p, ct) =>
        {
            var isSmoke = p.GetValue(smoke);
            var total = p.GetValue(tasks) ?? (isSmoke ? 20_000 : 1_000_000);
            var settings = new ConsoleSettings(isSmoke, total, HeavyTasks: total * 3 / 10, Keys: isSmoke ? 20 : 300, Days: 90,
                Warmup: isSmoke ? 1 : 20, Requests: p.GetValue(requests) ?? (isSmoke ? 3 : 200), BoundMs: 50,
                p.GetValue(serverDll) ?? BenchPaths.ServerDll, p.GetValue(resultsDir) ?? BenchPaths.ResultsDir, p.GetValue(seed));
            var startedAt = DateTimeOffset.UtcNow;
            var loadBefore = NodesBenchmark.LoadAverage();
            var (history, seedSeconds, pages, failures) = await RunAsync(settings, p.InvocationConfiguration.Error, ct);
            var table = Table(settings, startedAt, $"{loadBefore} before and {NodesBenchmark.LoadAverage()} after", history, seedSeconds, pages, failures);
            await BenchPaths.WriteTableAsync(p.InvocationConfiguration.Output, settings.ResultsDir,
                $"console-{startedAt.UtcDateTime:yyyyMMdd-HHmmss}{(isSmoke ? "-smoke" : "")}", table, ct);
            return failures.Count == 0 ? Program.Ok : Program.Failed;
        });
        return command;
    }

    private static async Task<(SeededHistory, double, List<PageTiming>, List<string>)> RunAsync(ConsoleSettings s, TextWriter log, CancellationToken ct)
    {
        await log.WriteLineAsync($"==> Starting the server on a fresh data directory ({s.ServerDll})");
        await using var server = await ServerUnderTest.StartAsync(s.ServerDll, _ => new Dictionary<string, string>
        {
            // Nothing changes the history while it is read: the seeded pending tasks stay pending.
            ["Seedance__Tasks__Dispatch"] = "false",
            ["Seedance__Tasks__Thumbnails"] = "false",
            ["Logging__LogLevel__Default"] = "Warning",
        }, ct);
        var (heavyKey, heavyId) = await server.CreateKeyWithIdAsync(new JsonObject { ["name"] = "studio-heavy", ["credits"] = 100_000_000 }, ct);
        var others = new List<long>();
        for (var i = 1; i < s.Keys; i++)
            others.Add((await server.CreateKeyWithIdAsync(new JsonObject { ["name"] = $"customer-{i:D3}", ["credits"] = 10_000_000 }, ct)).KeyId);
        await server.StopAsync();

        await log.WriteLineAsync($"==> Seeding {s.Tasks:N0} tasks over {s.Days} days on {s.Keys} keys ({s.HeavyTasks:N0} on one), with the server stopped");
        var seeding = Stopwatch.StartNew();
        var history = HistorySeeder.Seed(server.DataDir, heavyId, others, s.Tasks, s.HeavyTasks, s.Days, s.Seed);
        var seedSeconds = seeding.Elapsed.TotalSeconds;
        await log.WriteLineAsync($"    {seedSeconds:0.0} s: {history.LedgerEntries:N0} ledger entries, {history.Deliveries:N0} callback deliveries, {history.RequestLogEntries:N0} logged requests");
        await server.StartAgainAsync(ct);

        using var operatorClient = new ConsoleClient(server.BaseUrl);
        using var customerClient = new ConsoleClient(server.BaseUrl);
        var signIns = new List<string>();
        if (!await operatorClient.SignInAsync(AdminTokenOf(server), ct)) signIns.Add("The operator's sign-in was refused");
        if (!await customerClient.SignInAsync(heavyKey, ct)) signIns.Add("The customer's sign-in was refused");
        if (signIns.Count > 0) return (history, seedSeconds, [], signIns);

        var day = history.Now.Date.AddDays(-30);
        var time = string.Create(CultureInfo.InvariantCulture, $"from={day:yyyy-MM-ddTHH:mm}&to={day.AddDays(1):yyyy-MM-ddTHH:mm}");
        var pages = new (ConsoleClient Client, string Who, string Page, string Path)[]
        {
            (operatorClient, "operator", "Overview", "/console/admin"),
            (operatorClient, "operator", "Keys", "/console/admin/keys"),
            (operatorClient, "operator", "Keys, searched", "/console/admin/keys?q=customer-01"),
            (operatorClient, "operator", "Key and its ledger", $"/console/admin/keys/{heavyId}"),
            (operatorClient, "operator", "Key, ledger page 100", $"/console/admin/keys/{heavyId}?page=100"),
            (operatorClient, "operator", "Tasks", "/console/admin/tasks"),
            (operatorClient, "operator", "Tasks by key", $"/console/admin/tasks?id=&key={heavyId}&status=&model=&from=&to="),
            (operatorClient, "operator", "Tasks by status", "/console/admin/tasks?id=&key=&status=failed&model=&from=&to="),
            (operatorClient, "operator", "Tasks by model", "/console/admin/tasks?id=&key=&status=&model=seedance-2.0-fast&from=&to="),
            (operatorClient, "operator", "Tasks by time (one day, 30 days ago)", $"/console/admin/tasks?id=&key=&status=&model=&{time}"),
            (operatorClient, "operator", "Tasks by key, status and time", $"/console/admin/tasks?id=&key={heavyId}&status=expired&model=&{time}"),
            (operatorClient, "operator", "Tasks by id", $"/console/admin/tasks?id={history.OtherTaskId}&key=&status=&model=&from=&to="),
            (operatorClient, "operator", "Tasks, page 50", "/console/admin/tasks?page=50"),
            (operatorClient, "operator", "Task", $"/console/admin/tasks/{history.HeavyTaskId}"),
            (operatorClient, "operator", "Channels", "/console/admin/channels"),
            (customerClient, "customer", "Tasks", "/console/tasks"),
            (customerClient, "customer", "Tasks, failed", "/console/tasks?status=failed"),
            (customerClient, "customer", "Tasks, page 1,000", "/console/tasks?page=1000"),
            (customerClient, "customer", "Task", $"/console/tasks/{history.HeavyTaskId}"),
            (customerClient, "customer", "Balance and usage", "/console/balance"),
            (customerClient, "customer", "Webhooks", "/console/webhooks"),
            (customerClient, "customer", "Request log", "/console/requests"),
            (customerClient, "customer", "Request log, errors", "/console/requests?errors=1"),
            (customerClient, "customer", "Quickstart", "/console/quickstart"),
            (customerClient, "customer", "Playground", "/console/playground"),
        };
        var timings = new List<PageTiming>();
        var failures = new List<string>();
        foreach (var (client, who, page, path) in pages)
        {
            await log.WriteLineAsync($"==> {who}: {page} ({path}), {s.Warmup} + {s.Requests} requests");
            var samples = new List<double>();
            var bytes = 0;
            var first = 0.0;
            string? failure = null;
            for (var i = 0; i < s.Warmup + s.Requests && failure is null; i++)
            {
                var clock = Stopwatch.StartNew();
                using var response = await client.Http.GetAsync(path, ct);
                var body = await response.Content.ReadAsStringAsync(ct);
                var ms = clock.Elapsed.TotalMilliseconds;
                if (response.StatusCode != HttpStatusCode.OK || response.Content.Headers.ContentType?.MediaType != "text/html" || !body.Contains("</html>"))
                    failure = $"{who} {page}: {path} answered {(int)response.StatusCode} {response.Content.Headers.ContentType}: {body[..Math.Min(300, body.Length)]}";
                else if (i >= s.Warmup) samples.Add(ms);
                if (i == 0) first = ms;
                bytes = body.Length;
            }
            if (failure is not null) { failures.Add(failure); continue; }
            var timing = new PageTiming(who, page, path, new Distribution(samples), first, bytes);
            timings.Add(timing);
            await log.WriteLineAsync($"    p50 {timing.Ms.Percentile(50):0.0} ms, p95 {timing.Ms.Percentile(95):0.0} ms, max {timing.Ms.Max:0.0} ms");
            if (!s.Smoke && timing.Ms.Percentile(95) >= s.BoundMs)
                failures.Add($"{who} {page}: p95 {timing.Ms.Percentile(95):0.0} ms, not under {s.BoundMs} ms");
        }
        return (history, seedSeconds, timings, failures);
    }

    private static string AdminTokenOf(ServerUnderTest server) =>
        server.Admin.DefaultRequestHeaders.Authorization?.Parameter ?? throw new InvalidOperationException("The server has no admin token");

    private static string Table(ConsoleSettings s, DateTimeOffset startedAt, string load, SeededHistory h, double seedSeconds, List<PageTiming> pages, List<string> failures)
    {
        var t = new StringBuilder();
        t.AppendLine(CultureInfo.InvariantCulture, $"# Console pages with {h.Tasks:N0} tasks{(s.Smoke ? " (smoke run: its figures mean nothing)" : "")}");
        t.AppendLine();
        t.AppendLine(CultureInfo.InvariantCulture, $"{startedAt.UtcDateTime:yyyy-MM-dd HH:mm:ss} UTC, {Environment.ProcessorCount} cores, load average {load}; SQLite, one node, dispatch off.");
        t.AppendLine(CultureInfo.InvariantCulture, $"Seeded in {seedSeconds:0.0} s (one transaction, the server stopped): {h.Tasks:N0} tasks over {s.Days} days on {s.Keys} keys, " +
            $"{h.HeavyTasks:N0} of them on the customer measured; {string.Join(", ", h.ByStatus.OrderByDescending(x => x.Value).Select(x => $"{x.Value:N0} {x.Key}"))}; " +
            $"{h.LedgerEntries:N0} ledger entries, {h.Deliveries:N0} callback deliveries, {h.RequestLogEntries:N0} of the customer's requests in the log.");
        t.AppendLine(CultureInfo.InvariantCulture, $"Each page: {s.Warmup} requests of warm-up, then {s.Requests} measured, one at a time from one client (signed in through the console's form); " +
            $"the time is the whole answer's, read to its end. Bound: p95 under {s.BoundMs} ms. First: the page's first request (the server's first " +
            $"rendering of it, and for the balance the customer's closed days worked out before they are kept).");
        t.AppendLine();
        t.AppendLine("| Who | Page | Path | p50 | p95 | max | First | KB | Under the bound |");
        t.AppendLine("|---|---|---|---:|---:|---:|---:|---:|---|");
        foreach (var p in pages)
            t.AppendLine(CultureInfo.InvariantCulture,
                $"| {p.Who} | {p.Page} | `{p.Path}` | {p.Ms.Percentile(50):0.0} ms | {p.Ms.Percentile(95):0.0} ms | {p.Ms.Max:0.0} ms | {p.FirstMs:0} ms | {p.Bytes / 1024.0:0} | {(p.Ms.Percentile(95) < s.BoundMs ? "yes" : "**no**")} |");
        if (failures.Count > 0)
        {
            t.AppendLine();
            t.AppendLine("Failures:");
            foreach (var f in failures) t.AppendLine(CultureInfo.InvariantCulture, $"- {f}");
        }
        return t.ToString();
    }

    /// <summary>A browser without a browser: cookies kept, redirects not followed, the sign-in form posted with its antiforgery token.</summary>
    private sealed partial class ConsoleClient(string baseUrl) : IDisposable
    {
        [GeneratedRegex("name=\"__csrf\" value=\"([^\"]+)\"")]
        private static partial Regex CsrfField();

        public HttpClient Http { get; } = new(new SocketsHttpHandler { CookieContainer = new CookieContainer(), AllowAutoRedirect = false })
        {
            BaseAddress = new Uri(baseUrl), Timeout = TimeSpan.FromSeconds(60),
        };

        /// <summary>True when the form let the secret in (a redirect into the console with a session).</summary>
        public async Task<bool> SignInAsync(string secret, CancellationToken ct)
        {
            var token = CsrfField().Match(await Http.GetStringAsync("/console/signin", ct)).Groups[1].Value;
            using var response = await Http.PostAsync("/console/signin",
                new FormUrlEncodedContent(new Dictionary<string, string> { ["secret"] = secret, ["__csrf"] = token }), ct);
            return response.StatusCode == HttpStatusCode.SeeOther;
        }

        public void Dispose() => Http.Dispose();
    }
}
