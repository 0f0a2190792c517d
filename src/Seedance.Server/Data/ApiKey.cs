
namespace Seedance.Server.Data;

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
    /// <summary>The key's price plan (<c>Seedance:PricePlans:&lt;plan&gt;</c>); null: the catalogue's list prices.</summary>
    public string? PricePlan { get; set; }
    /// <summary>
    /// Spending limits: at most this many credits reserved or used by the key's tasks submitted in one UTC day / UTC
    /// month; null: no limit. Kept with <see cref="SpendDay"/> and <see cref="SpendMonth"/>, which only the ledger's
    /// statements write.
    /// </summary>
    public decimal? DailyCreditLimit { get; set; }
    public decimal? MonthlyCreditLimit { get; set; }
    /// <summary>The UTC day (<see cref="DateOnly.DayNumber"/>) whose spending <see cref="SpendDayCredits"/> holds: reserved or used by tasks submitted that day.</summary>
    public int SpendDay { get; set; }
    public decimal SpendDayCredits { get; set; }
    /// <summary>The UTC month (year × 12 + month − 1) whose spending <see cref="SpendMonthCredits"/> holds.</summary>
    public int SpendMonth { get; set; }
    public decimal SpendMonthCredits { get; set; }
    /// <summary>How many days a finished task's result files are kept; null: <c>Seedance:Tasks:ResultRetentionDays</c>.</summary>
    public int? ResultRetentionDays { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime UpdatedAt { get; set; }
    /// <summary>When what a request's caller carries (enabled, rate limit, price plan) last changed: caches refresh from it.</summary>
    public DateTime AuthChangedAt { get; set; }
    /// <summary>Signs this key's callbacks (<c>whsec_...</c>). Kept readable, since signing needs it; never logged.</summary>
    public string? WebhookSecret { get; set; }
    /// <summary>The secret before the last rotation, which still signs until <see cref="PreviousWebhookSecretUntil"/>.</summary>
    public string? PreviousWebhookSecret { get; set; }
    public DateTime? PreviousWebhookSecretUntil { get; set; }

    /// <summary>
    /// How many of the key's tasks are in each status. Kept by the database (triggers on <c>video_tasks</c>, in
    /// the transaction that inserts, moves or deletes a task), never written by the application, so the backlog
    /// check and the list's total read one row instead of counting tasks.
    /// </summary>
    public int TasksPending { get; private set; }
    public int TasksQueued { get; private set; }
    public int TasksProcessing { get; private set; }
    public int TasksCompleted { get; private set; }
    public int TasksFailed { get; private set; }
    public int TasksCancelled { get; private set; }
    public int TasksExpired { get; private set; }

    /// <summary>How many of the key's tasks are in <paramref name="status"/>; all of them when it is null.</summary>
    public int TasksIn(string? status) => status switch
    {
        null => TasksPending + TasksQueued + TasksProcessing + TasksCompleted + TasksFailed + TasksCancelled + TasksExpired,
        VideoTaskStatus.Pending => TasksPending,
        VideoTaskStatus.Queued => TasksQueued,
        VideoTaskStatus.Processing => TasksProcessing,
        VideoTaskStatus.Completed => TasksCompleted,
        VideoTaskStatus.Failed => TasksFailed,
        VideoTaskStatus.Cancelled => TasksCancelled,
        VideoTaskStatus.Expired => TasksExpired,
        _ => throw new ArgumentOutOfRangeException(nameof(status), status, "not a task status"),
    };

    public decimal RemainCredits => TotalCredits - UsedCredits - ReservedCredits;
}
