using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.Extensions.Options;
using Seedance.Server.Auth;
using Seedance.Server.Data;
using Seedance.Server.Infrastructure;

namespace Seedance.Server.Usage;

/// <summary>
/// The log of API requests, kept off the request path: a request leaves its summary on a bounded queue in memory (a
/// value, no allocation, no lock held beyond the queue's own), and this worker writes what gathered once a second in
/// one batch through <see cref="RequestLogStore"/>. When the queue is full (the database fell behind for seconds) a
/// summary is dropped and counted, never waited for: a poll must not slow down for its own log line. Once an hour it
/// forgets the entries older than <c>Seedance:Retention:RequestLogDays</c>.
/// </summary>
public sealed class RequestLog : BackgroundService
{
    public const string Header = "X-Request-Id";
    /// <summary>Four seconds of the busiest polling this server takes: room for a slow batch without dropping.</summary>
    private const int Capacity = 100_000;
    private const int MaxBatch = 20_000;
    private const int PruneBatch = 50_000;
    private static readonly TimeSpan FlushEvery = TimeSpan.FromSeconds(1), PruneEvery = TimeSpan.FromHours(1);

    // Unbounded, with the bound kept by a count: a bounded channel takes a lock on every write, which requests on every
    // core would contend for.
    private readonly Channel<LoggedRequest> _queue = Channel.CreateUnbounded<LoggedRequest>(new UnboundedChannelOptions { SingleReader = true });
    private int _queued;
    private readonly RequestLogStore _store;
    private readonly IOptions<SeedanceOptions> _options;
    private readonly TimeProvider _clock;
    private readonly ILogger<RequestLog> _logger;
    private readonly SeedanceMetrics _metrics;
    private long _dropped, _droppedReported;
    private DateTime _nextPrune = DateTime.MinValue;

    public RequestLog(RequestLogStore store, IOptions<SeedanceOptions> options, TimeProvider clock, SeedanceMetrics metrics, ILogger<RequestLog> logger) =>
        (_store, _options, _clock, _metrics, _logger) = (store, options, clock, metrics, logger);

    /// <summary>Summaries dropped since the start because the queue was full.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Queues a request's summary; drops and counts it when the queue is full.</summary>
    public void Add(in LoggedRequest request)
    {
        if (Interlocked.Increment(ref _queued) <= Capacity && _queue.Writer.TryWrite(request)) return;
        Interlocked.Decrement(ref _queued);
        Drop(1);
    }

    /// <summary>Counts summaries left out of the log: in <see cref="Dropped"/> (for the log line) and in the metric.</summary>
    private void Drop(long count)
    {
        Interlocked.Add(ref _dropped, count);
        _metrics.RequestLogDropped(count);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var batch = new List<LoggedRequest>(1024);
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                await Task.Delay(FlushEvery, stoppingToken);
                await WriteQueuedAsync(batch, stoppingToken);
                await PruneIfDueAsync(stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { }
        // Stopping: what is queued still goes in, without waiting on the stop's cancellation.
        await WriteQueuedAsync(batch, CancellationToken.None);
    }

    private async Task WriteQueuedAsync(List<LoggedRequest> batch, CancellationToken ct)
    {
        while (true)
        {
            batch.Clear();
            while (batch.Count < MaxBatch && _queue.Reader.TryRead(out var request)) batch.Add(request);
            Interlocked.Add(ref _queued, -batch.Count);
            if (batch.Count == 0) break;
            try
            {
                await _store.WriteAsync(batch, ct);
            }
            catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                Drop(batch.Count);
                _logger.LogError(e, "A batch of {Count} request log entries could not be written; they are dropped", batch.Count);
            }
            if (batch.Count < MaxBatch) break;
        }
        var dropped = Dropped;
        if (dropped == _droppedReported) return;
        _logger.LogWarning("{Dropped} request log entries were dropped ({Total} since the start): the queue was full", dropped - _droppedReported, dropped);
        _droppedReported = dropped;
    }

    private async Task PruneIfDueAsync(CancellationToken ct)
    {
        var now = _clock.GetUtcNow().UtcDateTime;
        if (now < _nextPrune) return;
        _nextPrune = now + PruneEvery;
        try
        {
            var before = now.AddDays(-_options.Value.Retention.RequestLogDays);
            int forgotten, total = 0;
            do total += forgotten = await _store.PruneAsync(before, PruneBatch, ct);
            while (forgotten == PruneBatch);
            if (total > 0) _logger.LogInformation("Forgot {Count} request log entries older than {Days} days", total, _options.Value.Retention.RequestLogDays);
        }
        catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            _logger.LogError(e, "Pruning the request log failed; retrying in an hour");
        }
    }
}

/// <summary>
/// Gives every answer its request id (<c>X-Request-Id</c>, ASP.NET's own trace identifier, so the logs and the answer
/// agree) and hands the summary of every <c>/api/v1</c> request to the <see cref="RequestLog"/>: time, key, method,
/// route, status, error code, latency. First in the pipeline, so it sees the answer as the client gets it.
/// </summary>
public sealed class RequestLogging(RequestDelegate next, RequestLog log, TimeProvider clock)
{
    private static readonly PathString Api = "/api/v1";

    public Task InvokeAsync(HttpContext context)
    {
        context.Response.Headers[RequestLog.Header] = context.TraceIdentifier;
        return context.Request.Path.StartsWithSegments(Api, StringComparison.Ordinal) ? LogAsync(context) : next(context);
    }

    private async Task LogAsync(HttpContext context)
    {
        var at = clock.GetUtcNow().UtcDateTime;
        var started = Stopwatch.GetTimestamp();
        try
        {
            await next(context);
        }
        finally
        {
            var path = context.Request.Path.Value ?? "";
            if (path.Length > RequestLogLimits.Path) path = path[..RequestLogLimits.Path];
            log.Add(new LoggedRequest(at, context.Features.Get<Caller>()?.KeyId, context.Request.Method,
                (context.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText, path, context.Response.StatusCode,
                context.Features.Get<AnsweredError>()?.Code, Stopwatch.GetElapsedTime(started).TotalMilliseconds, context.TraceIdentifier));
        }
    }
}
