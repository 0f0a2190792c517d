using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using FsCheck;
using FsCheck.Fluent;

namespace Seedance.Bench.Fuzz;

/// <summary>
/// <c>fuzz</c>: property-based requests (FsCheck) against every public route of a server of its own, each checked for the
/// API's promises: never a 5xx, always the envelope (<c>code</c>, <c>message</c>, <c>result</c>), and a refusal changes
/// nothing (the key's balance and its number of tasks are what they were). Dispatch is off, so accepted tasks wait and
/// nothing renders.
/// </summary>
public static class FuzzBenchmark
{
    private sealed record Settings(int Cases, string ServerDll, string ResultsDir, bool Smoke);

    public static Command Create()
    {
        var cases = new Option<int?>("--cases") { Description = "Requests to generate and check (default 100000; smoke 300)" };
        var smoke = new Option<bool>("--smoke") { Description = "A quick run" };
        var serverDll = new Option<string?>("--server-dll") { Description = "The server build to check" };
        var resultsDir = new Option<string?>("--results-dir") { Description = "Where the table is written (default: bench/results)" };
        var command = new Command("fuzz", "Generates requests to every public route (FsCheck) and checks each: no 5xx, always the envelope, a refusal changes nothing")
        {
            cases, smoke, serverDll, resultsDir,
        };
        command.SetAction(async (p, ct) =>
        {
            var isSmoke = p.GetValue(smoke);
            var settings = new Settings(p.GetValue(cases) ?? (isSmoke ? 300 : 100_000), p.GetValue(serverDll) ?? BenchPaths.ServerDll,
                p.GetValue(resultsDir) ?? BenchPaths.ResultsDir, isSmoke);
            var (table, failures) = await RunAsync(settings, p.InvocationConfiguration.Error, ct);
            await BenchPaths.WriteTableAsync(p.InvocationConfiguration.Output, settings.ResultsDir,
                $"fuzz-{DateTime.UtcNow:yyyyMMdd-HHmmss}{(isSmoke ? "-smoke" : "")}", table, ct);
            return failures == 0 ? Program.Ok : Program.Failed;
        });
        return command;
    }

    private static readonly System.Text.RegularExpressions.Regex EncodedControl = new("%00", System.Text.RegularExpressions.RegexOptions.IgnoreCase);

    private sealed record State(decimal Total, decimal Used, decimal Reserved, int Tasks);

    private static async Task<(string Table, int Failures)> RunAsync(Settings s, TextWriter progress, CancellationToken ct)
    {
        var startedAt = DateTimeOffset.UtcNow;
        await using var server = await ServerUnderTest.StartAsync(s.ServerDll, _ => new Dictionary<string, string>
        {
            ["Seedance__Tasks__Dispatch"] = "false",
            // Some cases carry no key on purpose: the throttle of failed authentications would then refuse the rest.
            ["Seedance__Auth__FailuresPerMinute"] = "100000000",
        }, ct);
        var apiKey = await server.CreateKeyAsync(new JsonObject
        {
            ["name"] = "fuzz", ["credits"] = 100_000_000, ["max_concurrent"] = 5, ["max_pending"] = 100_000, ["rate_limit_per_second"] = 100_000,
        }, ct);
        using var http = new HttpClient { BaseAddress = new Uri(server.BaseUrl), Timeout = TimeSpan.FromSeconds(30) };

        var statuses = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var routes = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var failures = new List<string>();
        var state = await StateAsync(http, apiKey, ct);
        var clock = Stopwatch.StartNew();
        var checkedCases = 0;
        var httpLayer = 0;

        bool Holds(FuzzCase c)
        {
            var problem = CheckAsync(c).GetAwaiter().GetResult();
            if (problem is not null && failures.Count < 20) failures.Add($"{problem}\n    {c}");
            if (++checkedCases % 5000 == 0) progress.WriteLine($"    {checkedCases:N0} cases, {failures.Count} failing");
            return problem is null;
        }

        async Task<string?> CheckAsync(FuzzCase c)
        {
            using var request = new HttpRequestMessage(new HttpMethod(c.Method), c.Path);
            if (c.WithKey) request.Headers.Add("X-API-Key", apiKey);
            foreach (var (name, value) in c.Headers) request.Headers.TryAddWithoutValidation(name, value);
            if (c.Body is not null)
            {
                request.Content = new ByteArrayContent(c.Body);
                if (c.ContentType is not null && MediaTypeHeaderValue.TryParse(c.ContentType, out var type)) request.Content.Headers.ContentType = type;
            }
            using var response = await http.SendAsync(request, ct);
            var status = (int)response.StatusCode;
            var text = await response.Content.ReadAsStringAsync(ct);
            lock (statuses)
            {
                statuses[status.ToString(CultureInfo.InvariantCulture)] = statuses.GetValueOrDefault(status.ToString(CultureInfo.InvariantCulture)) + 1;
                routes[c.Route] = routes.GetValueOrDefault(c.Route) + 1;
            }
            if (status >= 500) return $"{status}: {text}";
            if (text.Length == 0 && (status is 414 or 431 || (status == 400 && EncodedControl.IsMatch(c.Path))))
            {
                // Kestrel refuses a request line or headers over its limits (414, 431) and a path with an encoded NUL (400) before
                // any application code runs: no envelope can be written there.
                lock (statuses) httpLayer++;
                return null;
            }
            JsonObject? envelope;
            try { envelope = JsonNode.Parse(text) as JsonObject; }
            catch (JsonException) { return $"{status}, not JSON: {text}"; }
            if (envelope is null || envelope["code"] is not JsonValue code || code.GetValueKind() != JsonValueKind.String
                || envelope["message"] is not JsonValue || !envelope.ContainsKey("result"))
                return $"{status}, not the envelope: {text}";
            var now = await StateAsync(http, apiKey, ct);
            if (status != 200 && now != state) return $"{status} {code} changed the key: {state} -> {now}";
            state = now;
            return null;
        }

        // A failing case is printed whole (its body in base64), so it can be sent again by hand.
        var config = Config.Quick.WithMaxTest(s.Cases).WithQuietOnSuccess(true);
        await progress.WriteLineAsync($"==> {s.Cases:N0} generated requests against {server.BaseUrl}");
        var property = Prop.ForAll(FuzzCases.Any.ToArbitrary(), (Func<FuzzCase, bool>)Holds);
        string? falsified = null;
        try { Check.One(config.WithRunner(Config.QuickThrowOnFailure.Runner), property); }
        catch (Exception e) { falsified = e.Message; }
        clock.Stop();

        var md = new StringBuilder();
        md.AppendLine($"## Fuzzing the public API: {checkedCases:N0} generated requests");
        md.AppendLine();
        md.AppendLine($"Run at {startedAt.UtcDateTime:yyyy-MM-dd HH:mm:ss} UTC in {clock.Elapsed.TotalSeconds:0} s. Server: Release build as its own process, " +
            "SQLite, dispatch off. Requests generated by FsCheck from valid ones bent out of shape (fields dropped or replaced by any JSON, unknown fields, " +
            "any characters, bytes changed, cut off or not UTF-8, other content types, any query and path id, any Idempotency-Key, sometimes no key). " +
            "Each must answer below 500, in the envelope, and, when refused, leave the key's balance and task count as they were.");
        md.AppendLine();
        md.AppendLine("| Figure | Value |");
        md.AppendLine("|---|---|");
        md.AppendLine($"| Requests checked | {checkedCases:N0} |");
        md.AppendLine($"| Failing | {(falsified is null && failures.Count == 0 ? "0" : $"**{Math.Max(1, failures.Count)}**")} |");
        md.AppendLine($"| Answers by status | {string.Join(", ", statuses.Select(kv => $"{kv.Key}: {kv.Value:N0}"))} |");
        md.AppendLine($"| Refused by the HTTP server itself before the application, with a bare status and no envelope (a request line over 8 KB: 414; an encoded NUL in the path: 400) | {httpLayer:N0} |");
        md.AppendLine($"| Requests by route | {string.Join(", ", routes.Select(kv => $"`{kv.Key}` {kv.Value:N0}"))} |");
        if (failures.Count > 0 || falsified is not null)
        {
            md.AppendLine();
            md.AppendLine("First failures:");
            md.AppendLine();
            foreach (var failure in failures) md.AppendLine($"- {failure}");
            if (falsified is not null) md.AppendLine().AppendLine("```").AppendLine(falsified.Length > 4000 ? falsified[..4000] : falsified).AppendLine("```");
        }
        return (md.ToString(), failures.Count + (falsified is null ? 0 : 1));
    }

    private static async Task<State> StateAsync(HttpClient http, string apiKey, CancellationToken ct)
    {
        async Task<JsonNode> ResultAsync(string path)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            request.Headers.Add("X-API-Key", apiKey);
            using var response = await http.SendAsync(request, ct);
            return JsonNode.Parse(await response.Content.ReadAsStringAsync(ct))!["result"]!;
        }
        var balance = await ResultAsync("/api/v1/video/balance");
        var tasks = await ResultAsync("/api/v1/video/tasks?page_size=1");
        return new State(balance["total_credits"]!.GetValue<decimal>(), balance["used_credits"]!.GetValue<decimal>(),
            balance["reserved_credits"]!.GetValue<decimal>(), tasks["total"]!.GetValue<int>());
    }
}
