using Microsoft.EntityFrameworkCore;

namespace Seedance.Server.Data;

/// <summary>
/// The callbacks to send: one row per delivery series, written in the transaction of the status change that
/// causes it, and every attempt made. Which node sends a delivery is a lease (<see cref="LeaseStore"/>).
/// </summary>
public sealed class CallbackOutbox(DatabaseWriter writer) : Store(writer)
{
    /// <summary>A new series of the latest delivery (same webhook-id, same body), due now.</summary>
    public Task<WebhookDelivery> RedeliverAsync(WebhookDelivery latest, DateTime now, CancellationToken ct) =>
        WriteAsync(async (db, token) =>
        {
            var again = new WebhookDelivery
            {
                WebhookId = latest.WebhookId, TaskId = latest.TaskId, KeyId = latest.KeyId, Url = latest.Url, Payload = latest.Payload,
                Status = DeliveryStatus.Pending, NextAttemptAt = now, CreatedAt = now,
            };
            db.WebhookDeliveries.Add(again);
            await db.SaveChangesAsync(token);
            return again;
        }, ct);

    /// <summary>Logs <paramref name="attempt"/> and stores what the delivery became after it (delivered, failed, or its next try); gives up the lease.</summary>
    public Task RecordAttemptAsync(WebhookDelivery delivery, WebhookAttempt attempt, CancellationToken ct) =>
        WriteAsync(async (db, token) =>
        {
            db.WebhookAttempts.Add(attempt);
            await db.SaveChangesAsync(token);
            return await db.WebhookDeliveries.Where(d => d.Id == delivery.Id).ExecuteUpdateAsync(s => s
                .SetProperty(d => d.Attempts, delivery.Attempts)
                .SetProperty(d => d.LastStatus, delivery.LastStatus)
                .SetProperty(d => d.LastError, delivery.LastError)
                .SetProperty(d => d.Status, delivery.Status)
                .SetProperty(d => d.NextAttemptAt, delivery.NextAttemptAt)
                .SetProperty(d => d.DeliveredAt, delivery.DeliveredAt)
                .SetProperty(d => d.LeaseOwner, (string?)null)
                .SetProperty(d => d.LeaseExpiresAt, (DateTime?)null), token);
        }, ct);

    /// <summary>Gives back a delivery this node claimed but made no attempt of: any node may send it at once.</summary>
    public Task GiveBackAsync(long deliveryId, string node, CancellationToken ct) =>
        WriteAsync((db, token) => db.WebhookDeliveries.Where(d => d.Id == deliveryId && d.LeaseOwner == node)
            .ExecuteUpdateAsync(s => s.SetProperty(d => d.LeaseOwner, (string?)null).SetProperty(d => d.LeaseExpiresAt, (DateTime?)null), token), ct);

    /// <summary>
    /// Forgets up to <paramref name="batch"/> finished deliveries (delivered, or failed for good) created before
    /// <paramref name="cutoff"/>, with their attempts; one still being tried stays. Returns how many deliveries.
    /// </summary>
    public Task<int> PruneAsync(DateTime cutoff, int batch, CancellationToken ct) =>
        WriteAsync(async (db, token) =>
        {
            var ids = await db.WebhookDeliveries.Where(d => d.Status != DeliveryStatus.Pending && d.CreatedAt < cutoff)
                .OrderBy(d => d.Id).Take(batch).Select(d => d.Id).ToListAsync(token);
            if (ids.Count == 0) return 0;
            await db.WebhookAttempts.Where(a => ids.Contains(a.DeliveryId)).ExecuteDeleteAsync(token);
            return await db.WebhookDeliveries.Where(d => ids.Contains(d.Id)).ExecuteDeleteAsync(token);
        }, ct);

    /// <summary>The Standard Webhooks message id of a new callback: the receiver's deduplication key, kept by its redeliveries.</summary>
    public static string NewWebhookId() => "msg_" + Guid.CreateVersion7().ToString("N");

    /// <summary>Adds the callback of a task that just ended (the caller's <c>SaveChanges</c> writes it, in its transaction).</summary>
    internal static void EnqueueIn(SeedanceDb db, VideoTask ended, string payload, DateTime now) =>
        db.WebhookDeliveries.Add(new WebhookDelivery
        {
            WebhookId = NewWebhookId(), TaskId = ended.TaskId, KeyId = ended.KeyId, Url = ended.CallbackUrl!,
            Payload = payload, Status = DeliveryStatus.Pending, NextAttemptAt = now, CreatedAt = now,
        });
}
