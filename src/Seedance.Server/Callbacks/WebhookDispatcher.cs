using System.Collections.Concurrent;
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
/// claimed in the database before it is sent (its due time moves past the attempt's end), so a second
/// node never sends it beside this one, and one lost in a crash is sent again when the claim runs out.
/// </summary>
public sealed class WebhookDispatcher : PeriodicWorker
{
    private readonly IServiceScopeFactory _scopes;
    private readonly CallbackOptions _options;
    private readonly HttpClient _http;
    private readonly SemaphoreSlim _slots;
    private readonly ConcurrentDictionary<long, byte> _sending = new();

    public WebhookDispatcher(IServiceScopeFactory scopes, IOptions<SeedanceOptions> options, TimeProvider clock, ILogger<WebhookDispatcher> logger)
        : base(clock, logger)
    {
        _scopes = scopes;
        _options = options.Value.Callbacks;
        _http = SafeHttp.CreateClient(_options.AllowPrivateNetworks, Timeout);
        _slots = new SemaphoreSlim(_options.MaxParallelDeliveries);
    }

    private TimeSpan Timeout => TimeSpan.FromSeconds(_options.TimeoutSeconds);
    /// <summary>How long a claimed delivery is left alone: the attempt's timeout and a margin for recording it.</summary>
    private TimeSpan Claim => Timeout + TimeSpan.FromSeconds(30);

    protected override TimeSpan Interval => TimeSpan.FromSeconds(_options.DispatchIntervalSeconds);

    public override async Task<bool> RunOnceAsync(CancellationToken ct)
    {
        if (!_options.Deliver) return false;
        var free = _slots.CurrentCount;
        if (free == 0) return false;
        await using var scope = _scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<SeedanceDb>();
        var now = Clock.GetUtcNow().UtcDateTime;
        var sending = _sending.Keys.ToArray();
        var due = await db.WebhookDeliveries.AsNoTracking()
            .Where(d => d.Status == DeliveryStatus.Pending && d.NextAttemptAt <= now && !sending.Contains(d.Id))
            .OrderBy(d => d.NextAttemptAt).Take(free)
            .Select(d => new { d.Id, d.NextAttemptAt }).ToListAsync(ct);
        foreach (var delivery in due)
        {
            if (!_slots.Wait(0)) break;
            var claimedUntil = now + Claim;
            int claimed;
            try
            {
                claimed = await db.WebhookDeliveries
                    .Where(d => d.Id == delivery.Id && d.Status == DeliveryStatus.Pending && d.NextAttemptAt == delivery.NextAttemptAt)
                    .ExecuteUpdateAsync(s => s.SetProperty(d => d.NextAttemptAt, claimedUntil), ct);
            }
            catch
            {
                _slots.Release();
                throw;
            }
            if (claimed == 0)
            {
                _slots.Release(); // another node took it
                continue;
            }
            _sending[delivery.Id] = 0;
            _ = Task.Run(() => AttemptAsync(delivery.Id, ct), CancellationToken.None);
        }
        return due.Count == free;
    }

    private async Task AttemptAsync(long deliveryId, CancellationToken stopping)
    {
        try
        {
            await using var scope = _scopes.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<SeedanceDb>();
            var delivery = await db.WebhookDeliveries.FirstAsync(d => d.Id == deliveryId, stopping);
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
            if (result is null) return; // stopping: the claim runs out and the next start sends it
            Record(db, delivery, result);
            await db.SaveChangesAsync(CancellationToken.None);
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested) { }
        catch (Exception e) { Logger.LogError(e, "Webhook delivery {DeliveryId} could not be attempted; it is tried again when its claim runs out", deliveryId); }
        finally
        {
            _sending.TryRemove(deliveryId, out _);
            _slots.Release();
            Wake();
        }
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

    /// <summary>Logs the attempt and decides what follows: delivered, failed for good (410, or no attempts left), or the next try.</summary>
    private void Record(SeedanceDb db, WebhookDelivery delivery, Outcome outcome)
    {
        delivery.Attempts++;
        delivery.LastStatus = outcome.Status;
        delivery.LastError = outcome.Error;
        db.WebhookAttempts.Add(new WebhookAttempt
        {
            DeliveryId = delivery.Id, Number = delivery.Attempts, AttemptedAt = outcome.At, HttpStatus = outcome.Status,
            Error = outcome.Error, DurationMs = (int)Math.Min(int.MaxValue, outcome.Duration.TotalMilliseconds),
        });
        var now = Clock.GetUtcNow().UtcDateTime;
        if (outcome.Error is null)
        {
            delivery.Status = DeliveryStatus.Delivered;
            delivery.DeliveredAt = now;
            return;
        }
        var next = outcome.Status == 410 ? null : WebhookSchedule.NextDelay(delivery.Attempts, outcome.RetryAfter, Random.Shared.NextDouble());
        if (next is { } delay) delivery.NextAttemptAt = now + delay;
        else
        {
            delivery.Status = DeliveryStatus.Failed;
            Logger.LogWarning("Webhook {WebhookId} of task {TaskId} failed after {Attempts} attempts: {Error}",
                delivery.WebhookId, delivery.TaskId, delivery.Attempts, outcome.Error);
        }
    }

    private static string Truncate(string text) => text.Length <= 500 ? text : text[..500];

    public override void Dispose()
    {
        _http.Dispose();
        base.Dispose();
    }
}
