namespace Seedance.Server.Data;

public static class DeliveryStatus
{
    public const string Pending = "pending";
    public const string Delivered = "delivered";
    public const string Failed = "failed";
}

/// <summary>
/// One series of attempts to POST a task's terminal state to its <c>callback_url</c>: the outbox row,
/// written in the same transaction as the status change. A redelivery is a new series with the same
/// <see cref="WebhookId"/>.
/// </summary>
public sealed class WebhookDelivery
{
    public long Id { get; set; }
    /// <summary>The Standard Webhooks message id (<c>msg_...</c>): the receiver's deduplication key.</summary>
    public required string WebhookId { get; set; }
    public required string TaskId { get; set; }
    public long KeyId { get; set; }
    public required string Url { get; set; }
    /// <summary>The exact body that is signed and sent: the task object as the API returns it.</summary>
    public required string Payload { get; set; }
    public required string Status { get; set; }
    public int Attempts { get; set; }
    /// <summary>When the next attempt is due.</summary>
    public DateTime NextAttemptAt { get; set; }
    /// <summary>The node making an attempt now, while <see cref="LeaseExpiresAt"/> lies ahead (its heartbeat renews it).</summary>
    public string? LeaseOwner { get; set; }
    public DateTime? LeaseExpiresAt { get; set; }
    public int? LastStatus { get; set; }
    public string? LastError { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime? DeliveredAt { get; set; }
}

/// <summary>One POST of a delivery: when, what the receiver answered (or what went wrong), how long it took.</summary>
public sealed class WebhookAttempt
{
    public long Id { get; set; }
    public long DeliveryId { get; set; }
    public int Number { get; set; }
    public DateTime AttemptedAt { get; set; }
    public int? HttpStatus { get; set; }
    public string? Error { get; set; }
    public int DurationMs { get; set; }
}
