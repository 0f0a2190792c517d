using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Seedance.Server.Data;
using Seedance.Server.Infrastructure;

namespace Seedance.Server.Callbacks;

/// <summary>
/// Sends the outbox: every pending delivery that is due is POSTed, signed, without waiting for the others,
/// at most <c>MaxParallelDeliveries</c> at once, each attempt cut off after the timeout. A delivery is
/// claimed in the database before it is sent (a lease, see <see cref="Leases"/>), so a second node never
/// sends it beside this one, and one whose node died is sent again by another when the lease runs out.
/// </summary>
public sealed class WebhookDispatcher : PeriodicWorker, ITaskObserver
{
    private readonly IServiceScopeFactory _scopes;
    private readonly CallbackOptions _options;
    private readonly HttpClient _http;
    private readonly SemaphoreSlim _slots;
    private readonly NodeIdentity _node;
    private readonly LeaseStore _leases;
    private readonly CallbackOutbox _outbox;
    private readonly SeedanceMetrics _metrics;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<Task, byte> _attempts = new();

    public WebhookDispatcher(IServiceScopeFactory scopes, NodeIdentity node, IOptions<SeedanceOptions> options, TimeProvider clock, LeaseStore leases,
        CallbackOutbox outbox, SeedanceMetrics metrics, ILogger<WebhookDispatcher> logger)
        : base(clock, logger)
    {
        _scopes = scopes;
        _metrics = metrics;
        _node = node;
        _leases = leases;
        _outbox = outbox;
        _options = options.Value.Callbacks;
        _http = SafeHttp.CreateClient(_options.AllowPrivateNetworks, Timeout);
        _slots = new SemaphoreSlim(_options.MaxParallelDeliveries);
    }

    /// <summary>A task that ended with a callback to send: its delivery is due now.</summary>
    public ValueTask OnChangedAsync(TaskChanged change, CancellationToken ct)
    {
        if (change.Task is { CallbackUrl: not null } && VideoTaskStatus.IsTerminal(change.Status) && !change.FromOtherNode) Wake();
        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// Stops claiming, then waits for the attempts under way: stopping cuts their requests short, and each records its
    /// outcome or gives its delivery back while the database writer still runs (it stops after every worker).
    /// </summary>
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        await Task.WhenAll(_attempts.Keys).WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    private TimeSpan Timeout => TimeSpan.FromSeconds(_options.TimeoutSeconds);

    protected override TimeSpan Interval => TimeSpan.FromSeconds(_options.DispatchIntervalSeconds);

    public override async Task<bool> RunOnceAsync(CancellationToken ct)
    {
        if (!_options.Deliver) return false;
        var free = _slots.CurrentCount;
        if (free == 0) return false;
        var claimed = await _leases.ClaimDeliveriesAsync(free, Clock.GetUtcNow().UtcDateTime, ct);
        foreach (var id in claimed)
        {
            _slots.Wait(0); // only this loop takes slots, and it claimed no more than were free
            var attempt = Task.Run(() => AttemptAsync(id, ct), CancellationToken.None);
            _attempts[attempt] = 0;
            _ = attempt.ContinueWith(done => _attempts.TryRemove(done, out _), TaskScheduler.Default);
        }
        return claimed.Count == free;
    }

    private async Task AttemptAsync(long deliveryId, CancellationToken stopping)
    {
        var recorded = false;
        try
        {
            await using var scope = _scopes.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<SeedanceDb>();
            var delivery = await db.WebhookDeliveries.AsNoTracking().FirstAsync(d => d.Id == deliveryId, stopping);
            using var span = SeedanceTracing.StartTask("seedance.webhook.deliver", delivery.TaskId, ActivityKind.Producer);
            using var _ = Logger.BeginScope(SeedanceTracing.TaskScope, delivery.TaskId);
            Outcome? result;
            try
            {
                var secrets = await scope.ServiceProvider.GetRequiredService<WebhookSecrets>().SigningSecretsAsync(delivery.KeyId, stopping);
                result = await SendAsync(delivery, secrets, stopping);
            }
            catch (Exception e) when (e is not OperationCanceledException || !stopping.IsCancellationRequested)
            {
                // Counted as an attempt, so a delivery that can never be made ends failed instead of retrying forever.
                result = new Outcome(Clock.GetUtcNow().UtcDateTime, null, Truncate("Could not be attempted: " + e.Message), TimeSpan.Zero, null);
            }
            if (result is null) return; // stopping
            await _outbox.RecordAttemptAsync(delivery, Record(delivery, result), CancellationToken.None);
            recorded = true;
            var outcome = delivery.Status switch { DeliveryStatus.Delivered => "delivered", DeliveryStatus.Failed => "failed", _ => "retrying" };
            _metrics.WebhookAttempt(outcome);
            span?.SetTag("seedance.webhook.attempt", delivery.Attempts).SetTag("seedance.webhook.outcome", outcome);
            if (result.Status is { } status) span?.SetTag("http.response.status_code", status);
            if (result.Error is not null) span?.SetStatus(ActivityStatusCode.Error, result.Error);
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested) { }
        catch (Exception e) { Logger.LogError(e, "Webhook delivery {DeliveryId} could not be attempted; it is given back and tried again", deliveryId); }
        finally
        {
            // Not recorded (stopping, or the attempt could not be logged): give the delivery back at once, or the heartbeat would hold it.
            if (!recorded) await GiveBackAsync(deliveryId);
            _slots.Release();
            Wake();
        }
    }

    private async Task GiveBackAsync(long deliveryId)
    {
        try { await _outbox.GiveBackAsync(deliveryId, _node.Id, CancellationToken.None); }
        catch (Exception e) { Logger.LogWarning(e, "Could not give back webhook delivery {DeliveryId}; it is sent again when the node stops", deliveryId); }
    }

    private sealed record Outcome(DateTime At, int? Status, string? Error, TimeSpan Duration, TimeSpan? RetryAfter);

    private async Task<Outcome?> SendAsync(WebhookDelivery delivery, IReadOnlyList<string> secrets, CancellationToken stopping)
    {
        var at = Clock.GetUtcNow();
        var timestamp = at.ToUnixTimeSeconds();
        using var request = new HttpRequestMessage(HttpMethod.Post, delivery.Url)
        {
            Content = new StringContent(delivery.Payload, Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("webhook-id", delivery.WebhookId);
        request.Headers.Add("webhook-timestamp", timestamp.ToString(CultureInfo.InvariantCulture));
        request.Headers.Add("webhook-signature", WebhookSignature.Header(secrets, delivery.WebhookId, timestamp, delivery.Payload));
        request.Headers.UserAgent.Add(new ProductInfoHeaderValue("Seedance-Webhooks", "1.0"));
        var watch = Stopwatch.StartNew();
        try
        {
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, stopping);
            var status = (int)response.StatusCode;
            string? error = status switch
            {
                >= 200 and < 300 => null,
                >= 300 and < 400 => $"HTTP {status}: redirects are not followed",
                _ => $"HTTP {status}",
            };
            return new Outcome(at.UtcDateTime, status, error, watch.Elapsed, WebhookSchedule.RetryAfter(response.Headers.RetryAfter, Clock.GetUtcNow()));
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested) { return null; }
        catch (TaskCanceledException)
        {
            return new Outcome(at.UtcDateTime, null, $"No answer within {_options.TimeoutSeconds:0.###} s", watch.Elapsed, null);
        }
        catch (HttpRequestException e)
        {
            return new Outcome(at.UtcDateTime, null, Truncate(e.Message), watch.Elapsed, null);
        }
    }

    /// <summary>The attempt's log entry; decides what follows: delivered, failed for good (410, or no attempts left), or the next try.</summary>
    private WebhookAttempt Record(WebhookDelivery delivery, Outcome outcome)
    {
        delivery.Attempts++;
        delivery.LastStatus = outcome.Status;
        delivery.LastError = outcome.Error;
        var attempt = new WebhookAttempt
        {
            DeliveryId = delivery.Id, Number = delivery.Attempts, AttemptedAt = outcome.At, HttpStatus = outcome.Status,
            Error = outcome.Error, DurationMs = (int)Math.Min(int.MaxValue, outcome.Duration.TotalMilliseconds),
        };
        var now = Clock.GetUtcNow().UtcDateTime;
        if (outcome.Error is null)
        {
            delivery.Status = DeliveryStatus.Delivered;
            delivery.DeliveredAt = now;
            return attempt;
        }
        var next = outcome.Status == 410 ? null : WebhookSchedule.NextDelay(delivery.Attempts, outcome.RetryAfter, Random.Shared.NextDouble());
        if (next is { } delay) delivery.NextAttemptAt = now + delay;
        else
        {
            delivery.Status = DeliveryStatus.Failed;
            Logger.LogWarning("Webhook {WebhookId} of task {TaskId} failed after {Attempts} attempts: {Error}",
                delivery.WebhookId, delivery.TaskId, delivery.Attempts, outcome.Error);
        }
        return attempt;
    }

    private static string Truncate(string text) => text.Length <= 500 ? text : text[..500];

    public override void Dispose()
    {
        _http.Dispose();
        base.Dispose();
    }
}
