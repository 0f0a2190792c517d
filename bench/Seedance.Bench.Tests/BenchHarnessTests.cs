using System.Text.RegularExpressions;

namespace Seedance.Bench.Tests;

/// <summary>
/// The benchmark harness itself works: its smoke mode runs end to end and prints every figure. No timing is asserted.
/// The harness starts its own servers on its own data, whatever the pass of ./test: the nodes smoke run is made in the
/// PostgreSQL pass, the others in the SQLite pass (all of them when run outside ./test). One class, so the runs never
/// overlap: a smoke run measures for under a second, and another benchmark beside it can leave a phase without a sample.
/// </summary>
public sealed class BenchHarnessTests
{
    private static readonly string[] Figures =
    [
        "Tasks submitted / completed on the server", "Time to submit", "Peak in flight upstream",
        "Polling delay p50", "Polling delay p90", "Polling delay p99", "Polling delay max",
        "End-to-end delay p50", "End-to-end delay p99", "Upstream status requests (", "Upstream status requests per task",
        "Server CPU over the run", "Server CPU per task", "Server CPU per upstream status request", "Server peak RSS",
    ];

    [Fact]
    public async Task ArkPollingSmokeRunPrintsAndWritesTheWholeTable()
    {
        if (!BuiltServer.InPass("sqlite")) return;
        var results = Path.Combine(Path.GetTempPath(), "seedance-bench-test-" + Guid.NewGuid().ToString("N"));
        var (output, error) = (new StringWriter(), new StringWriter());
        try
        {
            var exit = await Bench.Program.RunAsync(
                ["ark-polling", "--smoke", "--tasks", "20", "--server-dll", BuiltServer.Dll, "--results-dir", results], output, error);

            var table = output.ToString();
            Assert.True(exit == Bench.Program.Ok, $"exit {exit}\n{table}\n{error}");
            Assert.Contains("| Figure | Value | Baseline or bound | Ratio |", table);
            foreach (var figure in Figures) Assert.Contains($"| {figure}", table);
            Assert.Contains("| 20 / 20 |", table);
            Assert.DoesNotContain("n/a", table);
            var written = Assert.Single(Directory.GetFiles(results, "ark-polling-*-smoke.md"));
            Assert.Contains("| Polling delay p99", await File.ReadAllTextAsync(written));
        }
        finally
        {
            if (Directory.Exists(results)) Directory.Delete(results, recursive: true);
        }
    }


    [Fact]
    public async Task FuzzSmokeRunChecksGeneratedRequestsToEveryRouteAndFindsNoneFailing()
    {
        if (!BuiltServer.InPass("sqlite")) return;
        var results = Path.Combine(Path.GetTempPath(), "seedance-bench-test-" + Guid.NewGuid().ToString("N"));
        var (output, error) = (new StringWriter(), new StringWriter());
        try
        {
            var exit = await Bench.Program.RunAsync(["fuzz", "--smoke", "--server-dll", BuiltServer.Dll, "--results-dir", results], output, error);

            var table = output.ToString();
            Assert.True(exit == Bench.Program.Ok, $"exit {exit}\n{table}\n{error}");
            Assert.Contains("| Requests checked | 300 |", table);
            Assert.Contains("| Failing | 0 |", table);
            foreach (var route in new[] { "POST /task", "POST /quote", "GET /task/{id}", "GET /tasks", "POST /upload/presign" })
                Assert.Contains($"`{route}` ", table);
            Assert.Single(Directory.GetFiles(results, "fuzz-*-smoke.md"));
        }
        finally
        {
            if (Directory.Exists(results)) Directory.Delete(results, recursive: true);
        }
    }

    [Fact]
    public async Task WatchingSmokeRunHearsEveryTaskEndByLongPollAndByEventStream()
    {
        if (!BuiltServer.InPass("sqlite")) return;
        var results = Path.Combine(Path.GetTempPath(), "seedance-bench-test-" + Guid.NewGuid().ToString("N"));
        var (output, error) = (new StringWriter(), new StringWriter());
        try
        {
            var exit = await Bench.Program.RunAsync(
                ["watching", "--smoke", "--clients", "20", "--run-seconds", "3", "--server-dll", BuiltServer.Dll, "--results-dir", results], output, error);

            var table = output.ToString();
            Assert.True(exit == Bench.Program.Ok, $"exit {exit}\n{table}\n{error}");
            Assert.Contains("| Long-polls answered with the terminal task | 20 / 20 |", table);
            Assert.Contains("| Event streams that delivered the terminal event | 20 / 20 |", table);
            foreach (var figure in new[] { "Memory per waiting long-poll", "Memory per open event stream", "Long-poll: completion to answer p99",
                         "Event stream: completion to terminal event p99" })
                Assert.Contains($"| {figure}", table);
            Assert.Single(Directory.GetFiles(results, "watching-*-smoke.md"));
        }
        finally
        {
            if (Directory.Exists(results)) Directory.Delete(results, recursive: true);
        }
    }

    [Fact]
    public async Task EstimatesSmokeRunMeasuresTheErrorAtSubmissionAndHalfWay()
    {
        if (!BuiltServer.InPass("sqlite")) return;
        var results = Path.Combine(Path.GetTempPath(), "seedance-bench-test-" + Guid.NewGuid().ToString("N"));
        var (output, error) = (new StringWriter(), new StringWriter());
        try
        {
            var exit = await Bench.Program.RunAsync(["estimates", "--smoke", "--server-dll", BuiltServer.Dll, "--results-dir", results], output, error);

            var table = output.ToString();
            Assert.True(exit == Bench.Program.Ok, $"exit {exit}\n{table}\n{error}");
            Assert.Contains("| Tasks completed | 6 / 6 |", table);
            Assert.Contains("| Tasks with an estimate at submission | 6 / 6 |", table); // the warm-up gave the server its history
            foreach (var figure in new[] { "Error at submission p50", "Error at submission p90", "Error half-way p50", "Error half-way p90" })
                Assert.Matches($@"\| {figure} \| \d+\.\d %", table);
            Assert.Contains("| Tasks whose progress went back | 0 |", table);
            Assert.Contains("| Tasks at 100 % before completed | 0 |", table);
            Assert.Single(Directory.GetFiles(results, "estimates-*-smoke.md"));
        }
        finally
        {
            if (Directory.Exists(results)) Directory.Delete(results, recursive: true);
        }
    }


    [Fact]
    public async Task BarSmokeRunMeasuresEveryFigureAgainstItsBaselineAndWritesTheTable()
    {
        if (!BuiltServer.InPass("sqlite")) return;
        var results = Path.Combine(Path.GetTempPath(), "seedance-bench-test-" + Guid.NewGuid().ToString("N"));
        var (output, error) = (new StringWriter(), new StringWriter());
        try
        {
            var exit = await Bench.Program.RunAsync(
                ["bar", "--smoke", "--server-dll", BuiltServer.Dll, "--results-dir", results], output, error);

            var table = output.ToString();
            Assert.True(exit == Bench.Program.Ok, $"exit {exit}\n{table}\n{error}");
            Assert.Contains("| Figure | Value | Baseline | Ratio | Bar | Holds |", table);
            foreach (var figure in new[]
                     {
                         "1. GET task: requests/s", "1. GET task: p99 at 80 % of the maximum", "2. POST task, durable (`synchronous=full`): tasks/s",
                         "2. POST task, durable: p99", "3. Upload PUT of 4 MB: MB/s",
                         "3. Upload: peak memory growth", "4. List tasks: page 1 p99", "4. List tasks: page 500 p99", "5. Dispatch delay p99 at",
                         "6. Server RSS at rest", "6. Server peak RSS under load",
                     })
            {
                var row = Assert.Single(table.Split('\n'), line => line.StartsWith($"| {figure}", StringComparison.Ordinal));
                Assert.Matches(@"\| (yes|\*\*no\*\*) \|$", row.TrimEnd());
            }
            Assert.Matches(@"\| 2\. POST task, `synchronous=normal`: tasks/s, p99 \| [\d,]+/s, [\d.]+ ms \|", table);
            Assert.Contains("Failed requests: 0.", table);
            Assert.DoesNotContain("n/a", table);
            var written = Assert.Single(Directory.GetFiles(results, "bar-*-smoke.md"));
            Assert.Equal(table.Split("Written to")[0].TrimEnd(), (await File.ReadAllTextAsync(written)).TrimEnd());
        }
        finally
        {
            if (Directory.Exists(results)) Directory.Delete(results, recursive: true);
        }
    }


    /// <summary>Needs PostgreSQL: runs in the second pass of ./test, which starts one and names it in SEEDANCE_TEST_POSTGRES (or alone, given one).</summary>
    [Fact]
    public async Task NodesSmokeRunMeasuresSqliteAndPostgresWithOneNodeAndWithThree()
    {
        if (!BuiltServer.InPass("postgres") || BuiltServer.Postgres is not { } postgres) return;
        var results = Path.Combine(Path.GetTempPath(), "seedance-bench-test-" + Guid.NewGuid().ToString("N"));
        var (output, error) = (new StringWriter(), new StringWriter());
        try
        {
            var exit = await Bench.Program.RunAsync(
                ["nodes", "--smoke", "--postgres", postgres, "--server-dll", BuiltServer.Dll, "--results-dir", results], output, error);

            var table = output.ToString();
            Assert.True(exit == Bench.Program.Ok, $"exit {exit}\n{table}\n{error}");
            Assert.Contains("| Setup | Submissions/s | Submission p50 | Submission p99 | Polls/s | Poll p50 | Poll p99 |", table);
            var rates = table.Split("### Where the CPU goes")[0].Split('\n');
            var cpu = table.Split("### Where the CPU goes")[1].Split("### A burst")[0].Split('\n');
            foreach (var setup in new[] { "SQLite, 1 node", "PostgreSQL, 1 node", "PostgreSQL, 3 nodes" })
            {
                var row = Assert.Single(rates, line => line.StartsWith($"| {setup} |", StringComparison.Ordinal));
                AssertRow(@"^\| [^|]+ \| [\d,]+/s \| [\d.]+ ms \| [\d.]+ ms \| [\d,]+/s \| [\d.]+ ms \| [\d.]+ ms \|$", row, table);
                // the CPU of each load, per request, from the nodes, PostgreSQL and the harness
                foreach (var load in new[] { "POST task", "GET task" })
                    AssertRow(@"^\| [^|]+ \| [A-Z]+ task \| [\d.]+ ms \| [\d.]+ ms \| [\d.]+ ms \| [\d.]+ ms \| \d+ % \| [\d.]+ \|$",
                        Assert.Single(cpu, line => line.StartsWith($"| {setup} | {load} |", StringComparison.Ordinal)), table);
                Assert.Single(cpu, line => line.StartsWith($"| {setup} | none (the nodes at rest", StringComparison.Ordinal));
            }
            Assert.Equal(2, cpu.Count(line => line.StartsWith("| PostgreSQL, 1 node at a third of its rate |", StringComparison.Ordinal)));
            // the burst on one key: 20 clients with 2 submissions each in the smoke run, every one accepted
            Assert.Matches(@"\| The burst's key \| 40 \| 0 \| 0 \| 0 \| [\d.]+ ms \| [\d.]+ ms \| [\d.]+ ms \| [\d,]+/s \|", table);
            Assert.Matches(@"\| Another key, meanwhile \| [\d,]+ \| \| \| 0 \|", table);
            Assert.Contains("The bar: no timeouts and no 5xx. Holds.", table);
            Assert.Contains("Failed requests: 0.", table);
            var written = Assert.Single(Directory.GetFiles(results, "nodes-*-smoke.md"));
            Assert.Equal(table.Split("Written to")[0].TrimEnd(), (await File.ReadAllTextAsync(written)).TrimEnd());
        }
        finally
        {
            if (Directory.Exists(results)) Directory.Delete(results, recursive: true);
        }
    }

    /// <summary>
    /// Two kills under a small load on the database of the pass (both outside ./test, given a PostgreSQL): SQLite with one
    /// node, PostgreSQL with three; nothing acknowledged lost, nothing charged twice, every callback delivered.
    /// </summary>
    [Fact]
    public async Task CrashSmokeRunLosesNoAcknowledgedTaskAndChargesNoneTwiceOverTwoKills()
    {
        var pass = Environment.GetEnvironmentVariable("SEEDANCE_TEST_DATABASE") is { Length: > 0 } p ? p : null;
        if (pass == "postgres" && BuiltServer.Postgres is null) return;
        var database = pass ?? (BuiltServer.Postgres is null ? "sqlite" : "both");
        string[] setups = database switch { "sqlite" => ["SQLite, 1 node"], "postgres" => ["PostgreSQL, 3 nodes"], _ => ["SQLite, 1 node", "PostgreSQL, 3 nodes"] };
        var results = Path.Combine(Path.GetTempPath(), "seedance-bench-test-" + Guid.NewGuid().ToString("N"));
        var (output, error) = (new StringWriter(), new StringWriter());
        try
        {
            string[] args = ["crash", "--smoke", "--database", database, "--server-dll", BuiltServer.Dll, "--results-dir", results];
            if (database != "sqlite") args = [.. args, "--postgres", BuiltServer.Postgres!];
            var exit = await Bench.Program.RunAsync(args, output, error);

            var table = output.ToString();
            Assert.True(exit == Bench.Program.Ok, $"exit {exit}\n{table}\n{error}");
            foreach (var setup in setups)
            {
                AssertRow($@"^\| {setup} \| 2 \| [\d,]+ \| [1-9][\d,]* \| 0 \| 0 \| 0 \| 0 \| 0 \| 0 \|$",
                    Assert.Single(table.Split('\n'), line => line.StartsWith($"| {setup} |", StringComparison.Ordinal)), table);
                Assert.Matches($@"\*\*{setup}: [1-9][\d,]* acknowledged, 0 lost, 0 double-charged\.\*\*", table);
            }
            Assert.Contains("Problems: 0.", table);
            var written = Assert.Single(Directory.GetFiles(results, "crash-*-smoke.md"));
            Assert.Equal(table.Split("Written to")[0].TrimEnd(), (await File.ReadAllTextAsync(written)).TrimEnd());
        }
        finally
        {
            if (Directory.Exists(results)) Directory.Delete(results, recursive: true);
        }
    }

    [Fact]
    public async Task ConsoleSmokeRunSignsInAsBothAndGetsEveryPageAsHtml()
    {
        if (!BuiltServer.InPass("sqlite")) return;
        var results = Path.Combine(Path.GetTempPath(), "seedance-bench-test-" + Guid.NewGuid().ToString("N"));
        var (output, error) = (new StringWriter(), new StringWriter());
        try
        {
            var exit = await Bench.Program.RunAsync(["console", "--smoke", "--server-dll", BuiltServer.Dll, "--results-dir", results], output, error);

            var table = output.ToString();
            Assert.True(exit == Bench.Program.Ok, $"exit {exit}\n{table}\n{error}");
            Assert.Contains("# Console pages with 20,000 tasks (smoke run", table);
            Assert.Contains("6,000 of them on the customer measured", table);
            var rows = table.Split('\n').Where(l => l.StartsWith("| operator |", StringComparison.Ordinal) || l.StartsWith("| customer |", StringComparison.Ordinal)).ToList();
            Assert.Equal(25, rows.Count);
            foreach (var page in new[] { "Overview", "Key and its ledger", "Tasks by time (one day, 30 days ago)", "Task", "Channels" })
                Assert.Contains(rows, r => r.StartsWith($"| operator | {page} |", StringComparison.Ordinal));
            foreach (var page in new[] { "Tasks, page 1,000", "Balance and usage", "Webhooks", "Request log", "Quickstart", "Playground" })
                Assert.Contains(rows, r => r.StartsWith($"| customer | {page} |", StringComparison.Ordinal));
            foreach (var row in rows) AssertRow(@"^\| \w+ \| [^|]+ \| `/console[^`]*` \| [\d.]+ ms \| [\d.]+ ms \| [\d.]+ ms \| \d+ ms \| \d+ \| (yes|\*\*no\*\*) \|$", row, table);
            Assert.DoesNotContain("Failures:", table);
            var written = Assert.Single(Directory.GetFiles(results, "console-*-smoke.md"));
            Assert.Equal(table.Split("Written to")[0].TrimEnd(), (await File.ReadAllTextAsync(written)).TrimEnd());
        }
        finally
        {
            if (Directory.Exists(results)) Directory.Delete(results, recursive: true);
        }
    }

    /// <summary>A row of the table in the form <paramref name="pattern"/> gives; a failure shows the whole row and the table.</summary>
    private static void AssertRow(string pattern, string row, string table) =>
        Assert.True(Regex.IsMatch(row.TrimEnd(), pattern), $"Row not in the expected form:\n{row}\nTable:\n{table}");
}
