using System.Diagnostics;

namespace Seedance.Bench.Bar;

/// <summary>What one load phase achieved: successful requests per second and their latency in seconds.</summary>
public sealed record LoadResult(int Succeeded, int Failed, double Seconds, Distribution Latency, string? FirstError)
{
    /// <summary>At a fixed rate: how late the generator itself sent each request after it was due, in seconds (part of its latency).</summary>
    public Distribution? Lateness { get; init; }

    public double PerSecond => Succeeded / Seconds;
}

/// <summary>
/// The load generator: HTTP requests from this process, either as fast as a fixed number of clients can
/// go (closed loop: the maximum rate) or at a fixed rate whatever the answers take (open loop: latency
/// counted from when each request was due, so a stall shows up in the latency instead of slowing the load).
/// Only requests started after the warm-up count.
/// </summary>
public static class LoadGenerator
{
    /// <summary>One request; returns null when it succeeded, else what went wrong.</summary>
    public delegate Task<string?> Request(long sequence, CancellationToken ct);

    private const int MinimumMeasured = 10, WarmupRequests = 20;

    /// <param name="measuring">Called as the measured window opens (after the warm-up), e.g. to take a snapshot of CPU times.</param>
    public static async Task<LoadResult> ClosedLoopAsync(Request request, int clients, TimeSpan warmup, TimeSpan duration, CancellationToken ct, Action? measuring = null)
    {
        // a first few one at a time, so that the first requests of a cold path do not hold every client through the warm-up
        for (var i = 0; i < WarmupRequests; i++) await Run(request, -1 - i, ct);
        var clock = Stopwatch.StartNew();
        var measureFrom = warmup;
        var mark = MarkAfter(warmup, measuring, ct);
        var end = warmup + duration;
        long sequence = 0;
        var failed = 0;
        var measured = 0;
        string? firstError = null;
        var perClient = new List<double>[clients];
        await Task.WhenAll(Enumerable.Range(0, clients).Select(async c =>
        {
            var latencies = perClient[c] = new List<double>(1 << 14);
            // at least a few measured requests, even when a stall of the machine outlasts the whole window
            while (clock.Elapsed < end || Volatile.Read(ref measured) < MinimumMeasured)
            {
                var started = clock.Elapsed;
                var error = await Run(request, Interlocked.Increment(ref sequence), ct);
                if (started < measureFrom) continue;
                Interlocked.Increment(ref measured);
                if (error is null) latencies.Add((clock.Elapsed - started).TotalSeconds);
                else
                {
                    Interlocked.Increment(ref failed);
                    Interlocked.CompareExchange(ref firstError, error, null);
                }
            }
        }));
        await mark;
        var all = perClient.SelectMany(l => l).ToList();
        return new LoadResult(all.Count, failed, (clock.Elapsed - measureFrom).TotalSeconds, new Distribution(all), firstError);
    }

    /// <summary>
    /// <paramref name="perSecond"/> requests a second from <paramref name="clients"/> clients, each sending its
    /// share on a schedule of its own (request i is due at i / rate, and goes to client i mod clients), as wrk2
    /// does: a client that falls behind sends at once until it is back on schedule, and every latency counts
    /// from when its request was due. The clients are fixed, so a stall of the server holds requests back
    /// instead of opening new connections. For requests that need HttpClient (submissions); the polls of the
    /// GET figure go through <see cref="RawPoller"/>, which costs far less per request.
    /// </summary>
    /// <param name="measuring">Called as the measured window opens (after the warm-up), e.g. to take a snapshot of CPU times.</param>
    public static async Task<LoadResult> FixedRateAsync(
        Request request, double perSecond, int clients, TimeSpan warmup, TimeSpan duration, CancellationToken ct, Action? measuring = null)
    {
        // at least a few measured requests, even at a very low rate
        var firstMeasured = (long)(warmup.TotalSeconds * perSecond);
        var total = Math.Max((long)((warmup + duration).TotalSeconds * perSecond), firstMeasured + MinimumMeasured);
        var latencies = new double[total];
        var outcome = new string?[total];
        var clock = Stopwatch.StartNew();
        var mark = MarkAfter(TimeSpan.FromSeconds(firstMeasured / perSecond), measuring, ct);
        await Task.WhenAll(Enumerable.Range(0, (int)Math.Min(clients, total)).Select(async c =>
        {
            for (long i = c; i < total; i += clients)
            {
                var due = TimeSpan.FromSeconds(i / perSecond);
                var ahead = due - clock.Elapsed;
                if (ahead > TimeSpan.Zero) await Task.Delay(ahead, ct);
                outcome[i] = await Run(request, i, ct);
                latencies[i] = (clock.Elapsed - due).TotalSeconds;
            }
        }));
        await mark;
        var measured = Enumerable.Range((int)firstMeasured, (int)(total - firstMeasured)).ToList();
        var ok = measured.Where(i => outcome[i] is null).Select(i => latencies[i]).ToList();
        var errors = measured.Where(i => outcome[i] is not null).ToList();
        var seconds = (total - firstMeasured) / perSecond;
        return new LoadResult(ok.Count, errors.Count, seconds, new Distribution(ok), errors.Count > 0 ? outcome[errors[0]] : null);
    }

    /// <summary>Calls <paramref name="measuring"/> (if any) once <paramref name="after"/> has passed: as the measured window opens.</summary>
    private static Task MarkAfter(TimeSpan after, Action? measuring, CancellationToken ct) =>
        measuring is null ? Task.CompletedTask : Task.Run(async () =>
        {
            await Task.Delay(after, ct);
            measuring();
        }, ct);

    private static async Task<string?> Run(Request request, long sequence, CancellationToken ct)
    {
        try { return await request(sequence, ct); }
        catch (Exception e) when (e is HttpRequestException or IOException || (e is TaskCanceledException && !ct.IsCancellationRequested))
        {
            return e.GetType().Name + ": " + e.Message;
        }
    }

    /// <summary>A client for load: many connections kept open, no proxy, no decompression.</summary>
    public static HttpClient Client(string baseUrl, int connections) =>
        new(new SocketsHttpHandler
        {
            MaxConnectionsPerServer = connections, PooledConnectionLifetime = Timeout.InfiniteTimeSpan, UseProxy = false,
            AutomaticDecompression = System.Net.DecompressionMethods.None, UseCookies = false,
        })
        { BaseAddress = new Uri(baseUrl), Timeout = TimeSpan.FromSeconds(120) };

    /// <summary>A request that GETs <paramref name="path"/> and reads the whole answer.</summary>
    public static Request Get(HttpClient http, string path) => async (_, ct) =>
    {
        using var response = await http.GetAsync(path, ct);
        await response.Content.LoadIntoBufferAsync(ct);
        return response.IsSuccessStatusCode ? null : $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync(ct)}";
    };
}
