using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Seedance.Server.Infrastructure;

/// <summary>
/// The server's own instruments, on the one meter <see cref="MeterName"/> (made through <see cref="IMeterFactory"/>, so each
/// host has its own and others can add instruments to it). They are recorded where the state changes already happen: a
/// task's submission and end (after commit), a hand-over, an upstream call, a callback attempt, a credit movement. The
/// Prometheus names are these with dots as underscores, the unit (<c>_seconds</c>) and <c>_total</c> for counters.
/// </summary>
public sealed class SeedanceMetrics
{
    public const string MeterName = "Seedance.Server";

    // From a second to two days (a task's time-to-live): the spread of a video generation's waits and runs.
    private static readonly double[] TaskSeconds = [1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 21600, 86400, 172800];
    private static readonly double[] RequestSeconds = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

    private readonly Counter<long> _submitted;
    private readonly Counter<long> _finished;
    private readonly Histogram<double> _taskDuration;
    private readonly Histogram<double> _dispatchDelay;
    private readonly Counter<long> _upstreamRequests;
    private readonly Histogram<double> _upstreamDuration;
    private readonly Counter<long> _webhookDeliveries;
    private readonly Counter<double> _credits;
    private readonly Counter<long> _requestLogDropped;
    private readonly Counter<long> _orphans;

    public SeedanceMetrics(IMeterFactory meters)
    {
        Meter = meters.Create(MeterName);
        _submitted = Meter.CreateCounter<long>("seedance.tasks.submitted", description: "Tasks accepted, by model and resolution");
        _finished = Meter.CreateCounter<long>("seedance.tasks.finished", description: "Tasks that reached a terminal status, by status and error code");
        _taskDuration = Meter.CreateHistogram("seedance.task.duration", "s", "From submission to a terminal status, by model and status",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = TaskSeconds });
        _dispatchDelay = Meter.CreateHistogram("seedance.dispatch.delay", "s", "From submission to the hand-over to an upstream",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = TaskSeconds });
        _upstreamRequests = Meter.CreateCounter<long>("seedance.upstream.requests", description: "Calls to the upstream channels, by channel, operation and outcome");
        _upstreamDuration = Meter.CreateHistogram("seedance.upstream.request.duration", "s", "How long the upstream calls took, by channel and operation",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = RequestSeconds });
        _webhookDeliveries = Meter.CreateCounter<long>("seedance.webhook.deliveries", description: "Callback attempts, by outcome (delivered, retrying, failed)");
        _credits = Meter.CreateCounter<double>("seedance.credits", description: "Credits moved, by ledger kind (adjust counts the credits taken away)");
        _requestLogDropped = Meter.CreateCounter<long>("seedance.request_log.dropped", description: "API requests left out of the request log because its queue was full or its write failed");
        _orphans = Meter.CreateCounter<long>("seedance.reconciliation.orphans", description: "Upstream tasks found by reconciliation that this server never recorded (lost creates), by channel");
    }

    /// <summary>The meter of all of the server's instruments; add to it rather than make another.</summary>
    public Meter Meter { get; }

    public void TaskSubmitted(string model, string resolution) =>
        _submitted.Add(1, new KeyValuePair<string, object?>("model", model), new KeyValuePair<string, object?>("resolution", resolution));

    public void TaskFinished(string model, string status, string? errorCode, TimeSpan sinceSubmission)
    {
        var tags = new TagList { { "status", status } };
        if (errorCode is not null) tags.Add("error_code", errorCode);
        _finished.Add(1, tags);
        _taskDuration.Record(Math.Max(0, sinceSubmission.TotalSeconds), new KeyValuePair<string, object?>("model", model), new KeyValuePair<string, object?>("status", status));
    }

    public void TaskDispatched(TimeSpan sinceSubmission) => _dispatchDelay.Record(Math.Max(0, sinceSubmission.TotalSeconds));

    public void UpstreamRequest(string channel, string operation, string outcome, TimeSpan took)
    {
        var tags = new TagList { { "channel", channel }, { "operation", operation } };
        _upstreamDuration.Record(took.TotalSeconds, tags);
        tags.Add("outcome", outcome);
        _upstreamRequests.Add(1, tags);
    }

    public void WebhookAttempt(string outcome) => _webhookDeliveries.Add(1, new KeyValuePair<string, object?>("outcome", outcome));

    public void RequestLogDropped(long count) => _requestLogDropped.Add(count);

    public void OrphansFound(string channel, long count) => _orphans.Add(count, new KeyValuePair<string, object?>("channel", channel));

    /// <param name="kind">A <c>LedgerKind</c>; <paramref name="amount"/> is counted as a positive figure.</param>
    public void Credits(string kind, decimal amount)
    {
        if (amount != 0) _credits.Add((double)Math.Abs(amount), new KeyValuePair<string, object?>("kind", kind));
    }
}

/// <summary>Outcomes of an upstream call, as <see cref="SeedanceMetrics.UpstreamRequest"/> counts them.</summary>
public static class UpstreamOutcome
{
    public const string Ok = "ok";
    /// <summary>The upstream answered and refused the request as the user's fault (moderation, invalid input).</summary>
    public const string Refused = "refused";
    public const string RateLimited = "rate_limited";
    /// <summary>The channel failed: 5xx, timeout, unreachable, credentials or configuration.</summary>
    public const string Error = "error";
}
