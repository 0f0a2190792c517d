namespace Seedance.Server.Data;

public static class VideoTaskStatus
{
    public const string Pending = "pending";
    public const string Queued = "queued";
    public const string Processing = "processing";
    public const string Completed = "completed";
    public const string Failed = "failed";
    public const string Cancelled = "cancelled";
    public const string Expired = "expired";

    public static readonly string[] All = [Pending, Queued, Processing, Completed, Failed, Cancelled, Expired];
    public static readonly string[] Active = [Queued, Processing];
    public static readonly string[] NonTerminal = [Pending, Queued, Processing];
    public static readonly string[] Terminal = [Completed, Failed, Cancelled, Expired];

    public static bool IsTerminal(string status) => status is Completed or Failed or Cancelled or Expired;

    /// <summary>
    /// The life of a task: pending, handed over (queued), generating (processing), and one terminal status. Only an
    /// active task can complete; any unfinished one can fail, be cancelled or expire; nothing leaves a terminal status.
    /// </summary>
    public static bool CanMove(string from, string to) => (from, to) switch
    {
        (Pending, Queued) or (Queued, Processing) => true,
        (Queued or Processing, Completed) => true,
        (Pending or Queued or Processing, Failed or Cancelled or Expired) => true,
        _ => false,
    };
}

/// <summary>A generation task, from submission to a terminal status.</summary>
public sealed class VideoTask
{
    /// <summary>Insertion order: the FIFO of dispatch and the newest-first of listing.</summary>
    public long Seq { get; set; }
    public required string TaskId { get; set; }
    public long KeyId { get; set; }
    public required string Model { get; set; }
    public required string Status { get; set; }
    public required string Resolution { get; set; }
    public required string Ratio { get; set; }
    public int Duration { get; set; }
    public bool GenerateAudio { get; set; }
    public long? Seed { get; set; }
    public bool Watermark { get; set; }
    public bool ReturnLastFrame { get; set; }
    public string? CallbackUrl { get; set; }
    /// <summary>The base URL the task was submitted to: the links of its callback use it when no public base URL is configured.</summary>
    public string? SubmittedBaseUrl { get; set; }
    /// <summary>The validated content items, as JSON, with uploads resolved.</summary>
    public required string ContentJson { get; set; }
    public decimal CreditCost { get; set; }
    /// <summary>The credits per second the task was priced at (its key's plan at submission); null for tasks from before prices were recorded.</summary>
    public decimal? PricePerSecond { get; set; }
    public string? ErrorCode { get; set; }
    public string? ErrorMessage { get; set; }
    /// <summary>The channel (upstream account) that took the task; null while it is pending.</summary>
    public string? ChannelName { get; set; }
    public string? UpstreamTaskId { get; set; }
    /// <summary>Result files, relative to the result store.</summary>
    public string? VideoFile { get; set; }
    public string? LastFrameFile { get; set; }
    /// <summary>The poster image (JPEG of the first frame) made when the result was copied.</summary>
    public string? ThumbnailFile { get; set; }
    /// <summary>When the result files were removed (by the customer or by retention); the task stays, without links.</summary>
    public DateTime? ResultsRemovedAt { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime UpdatedAt { get; set; }
    /// <summary>When an upstream took the task (pending to queued); null before, and for tasks from before it was recorded.</summary>
    public DateTime? QueuedAt { get; set; }
    /// <summary>When the upstream started generating (queued to processing); null when it was not seen to start.</summary>
    public DateTime? ProcessingAt { get; set; }
    /// <summary>When the task reached its terminal status.</summary>
    public DateTime? FinishedAt { get; set; }
    public DateTime ExpiresAt { get; set; }
    /// <summary>A pending task whose hand-over failed waits until then.</summary>
    public DateTime? RetryAt { get; set; }
    public int DispatchAttempts { get; set; }
    /// <summary>Checks at the provider that failed in a row; reset by the next good one.</summary>
    public int FailedChecks { get; set; }
    /// <summary>The node whose work the task is (handing it over, then tracking it) while <see cref="LeaseExpiresAt"/> lies ahead; its heartbeat renews it.</summary>
    public string? LeaseOwner { get; set; }
    public DateTime? LeaseExpiresAt { get; set; }
    /// <summary>Set just before the upstream is asked to take the task, cleared when it did not: still set on a pending task whose node died, the upstream may have it.</summary>
    public DateTime? HandOverStartedAt { get; set; }
}
