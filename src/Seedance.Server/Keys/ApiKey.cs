namespace Seedance.Server.Keys;

/// <summary>One customer's key: its hash (never the key), its credits and its limits.</summary>
public sealed class ApiKey
{
    public long Id { get; set; }
    public required string Name { get; set; }
    public required byte[] KeyHash { get; set; }
    /// <summary>The first characters of the key, enough for an operator to recognise it.</summary>
    public required string KeyPrefix { get; set; }
    public bool Enabled { get; set; } = true;
    public decimal TotalCredits { get; set; }
    public decimal UsedCredits { get; set; }
    public decimal ReservedCredits { get; set; }
    public int MaxConcurrent { get; set; }
    public int MaxPending { get; set; }
    public int RateLimitPerSecond { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime UpdatedAt { get; set; }
    /// <summary>When what authentication depends on (enabled, rate limit) last changed: caches refresh from it.</summary>
    public DateTime AuthChangedAt { get; set; }
    /// <summary>Signs this key's callbacks (<c>whsec_...</c>). Kept readable, since signing needs it; never logged.</summary>
    public string? WebhookSecret { get; set; }
    /// <summary>The secret before the last rotation, which still signs until <see cref="PreviousWebhookSecretUntil"/>.</summary>
    public string? PreviousWebhookSecret { get; set; }
    public DateTime? PreviousWebhookSecretUntil { get; set; }

    public decimal RemainCredits => TotalCredits - UsedCredits - ReservedCredits;
}
