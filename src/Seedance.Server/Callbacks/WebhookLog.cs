using Microsoft.EntityFrameworkCore;
using Seedance.Server.Data;
using Seedance.Server.Infrastructure;

namespace Seedance.Server.Callbacks;

public sealed record WebhookAttemptView(int Attempt, DateTime AttemptedAt, int? HttpStatus, string? Error, int DurationMs);

public sealed record WebhookDeliveryView(
    long DeliveryId, string WebhookId, string Url, string Status, int AttemptCount, DateTime? NextAttemptAt, int? LastStatus,
    string? LastError, DateTime CreatedAt, DateTime? DeliveredAt, IReadOnlyList<WebhookAttemptView> Attempts);

public sealed record TaskWebhooks(string TaskId, IReadOnlyList<WebhookDeliveryView> Deliveries);

/// <summary>
/// A task's callbacks as its owner and the operator see them: every delivery series with every attempt,
/// and redelivery, which queues a new series of the latest one (same webhook-id, same body).
/// </summary>
public sealed class WebhookLog(SeedanceDb db, CallbackOutbox outbox, TimeProvider clock, WebhookDispatcher dispatcher)
{
    /// <param name="keyId">The caller's key, or null for the operator.</param>
    public async Task<TaskWebhooks> ForTaskAsync(string taskId, long? keyId, CancellationToken ct)
    {
        await FindTaskAsync(taskId, keyId, ct);
        var deliveries = await db.WebhookDeliveries.AsNoTracking().Where(d => d.TaskId == taskId).OrderBy(d => d.Id).ToListAsync(ct);
        var ids = deliveries.Select(d => d.Id).ToArray();
        var attempts = (await db.WebhookAttempts.AsNoTracking().Where(a => ids.Contains(a.DeliveryId)).OrderBy(a => a.Number).ToListAsync(ct))
            .ToLookup(a => a.DeliveryId);
        return new TaskWebhooks(taskId, deliveries.Select(d => View(d, attempts[d.Id])).ToList());
    }

    public async Task<WebhookDeliveryView> RedeliverAsync(string taskId, long? keyId, CancellationToken ct)
    {
        await FindTaskAsync(taskId, keyId, ct);
        var latest = await db.WebhookDeliveries.AsNoTracking().Where(d => d.TaskId == taskId).OrderByDescending(d => d.Id).FirstOrDefaultAsync(ct)
            ?? throw ApiError.InvalidParameter("task has no callback to redeliver (no callback_url, or not finished yet)");
        var again = await outbox.RedeliverAsync(latest, clock.GetUtcNow().UtcDateTime, ct);
        dispatcher.Wake();
        return View(again, []);
    }

    private async Task FindTaskAsync(string taskId, long? keyId, CancellationToken ct)
    {
        var found = await db.Tasks.AsNoTracking().AnyAsync(t => t.TaskId == taskId && (keyId == null || t.KeyId == keyId), ct);
        if (!found) throw ApiError.TaskNotFound();
    }

    private static WebhookDeliveryView View(WebhookDelivery d, IEnumerable<WebhookAttempt> attempts) => new(
        d.Id, d.WebhookId, d.Url, d.Status, d.Attempts, d.Status == DeliveryStatus.Pending ? d.NextAttemptAt : null, d.LastStatus, d.LastError,
        d.CreatedAt, d.DeliveredAt, attempts.Select(a => new WebhookAttemptView(a.Number, a.AttemptedAt, a.HttpStatus, a.Error, a.DurationMs)).ToList());
}
