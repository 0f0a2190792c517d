namespace Seedance.Client;

/// <summary>A video generation task as the server reports it.</summary>
public sealed record VideoTask
{
    /// <summary>The task id.</summary>
    public required string TaskId { get; init; }
    /// <summary>The model.</summary>
    public VideoModel Model { get; init; }
    /// <summary>The status; see <see cref="IsFinal"/>.</summary>
    public VideoTaskStatus Status { get; init; }
    /// <summary>The resolution.</summary>
    public VideoResolution Resolution { get; init; }
    /// <summary>The aspect ratio.</summary>
    public AspectRatio Ratio { get; init; }
    /// <summary>The length in seconds.</summary>
    public int Duration { get; init; }
    /// <summary>Whether the video has an audio track.</summary>
    public bool GenerateAudio { get; init; }
    /// <summary>The random seed, when one was given.</summary>
    public long? Seed { get; init; }
    /// <summary>Where to download the video (signed for 7 days), once completed.</summary>
    public Uri? VideoUrl { get; init; }
    /// <summary>Where to download the last frame (PNG), when it was asked for.</summary>
    public Uri? LastFrameUrl { get; init; }
    /// <summary>The error code of a failed task (one of <see cref="SeedanceErrorCodes"/>).</summary>
    public string? ErrorCode { get; init; }
    /// <summary>Why the task failed or expired.</summary>
    public string? ErrorMessage { get; init; }
    /// <summary>The task's cost in credits (charged only when it completes).</summary>
    public decimal CreditCost { get; init; }
    /// <summary>When the task was created.</summary>
    public DateTimeOffset CreatedAt { get; init; }
    /// <summary>When the task last changed.</summary>
    public DateTimeOffset UpdatedAt { get; init; }
    /// <summary>
    /// Where to download the poster (JPEG of the first frame, 320 px on the long side; signed like <see cref="VideoUrl"/>), once
    /// completed; an addition of this server to the API document, so null from servers without it, and when the poster could not be made.
    /// </summary>
    public Uri? ThumbnailUrl { get; init; }
    /// <summary>
    /// For a pending task, how many of the key's tasks are handed over before it (0: it is next); null otherwise. An addition
    /// of this server to the API document, as are <see cref="EstimatedFinishAt"/> and <see cref="Progress"/>.
    /// </summary>
    public int? QueuePosition { get; init; }
    /// <summary>When the task should finish, from what the server measured lately for tasks like it; null until it has that history, and once the task has finished.</summary>
    public DateTimeOffset? EstimatedFinishAt { get; init; }
    /// <summary>How far the task has got, 0-100 (an estimate from the time it has run; 100 only once completed); null without a history.</summary>
    public int? Progress { get; init; }

    /// <summary>True once the status is final: completed, failed, cancelled or expired.</summary>
    public bool IsFinal => IsFinalStatus(Status);

    /// <summary>True for the final statuses: completed, failed, cancelled and expired.</summary>
    public static bool IsFinalStatus(VideoTaskStatus status) => status >= VideoTaskStatus.Completed;

    /// <summary>Throws a <see cref="SeedanceException"/> carrying the task's error unless it completed.</summary>
    public void EnsureCompleted()
    {
        if (Status == VideoTaskStatus.Completed) return;
        var (code, message) = Status switch
        {
            VideoTaskStatus.Failed => (ErrorCode ?? SeedanceErrorCodes.TaskFailed, ErrorMessage ?? "The task failed"),
            VideoTaskStatus.Cancelled => (SeedanceErrorCodes.TaskCancelled, ErrorMessage ?? "The task was cancelled"),
            VideoTaskStatus.Expired => (SeedanceErrorCodes.TaskExpired, ErrorMessage ?? "The task expired before it finished"),
            _ => throw new InvalidOperationException($"Task {TaskId} is still {WireName.Of(Status)}"),
        };
        throw new SeedanceException(code, message, taskId: TaskId);
    }
}

/// <summary>One page of the task list, newest first.</summary>
/// <param name="Data">The tasks of this page.</param>
/// <param name="Total">How many tasks match, over all pages.</param>
/// <param name="Page">This page's number, from 1.</param>
/// <param name="PageSize">The page size asked for.</param>
public sealed record VideoTaskPage(IReadOnlyList<VideoTask> Data, int Total, int Page, int PageSize);

/// <summary>The answer to a cancel: the task's status after it (<see cref="VideoTaskStatus.Cancelled"/>).</summary>
/// <param name="TaskId">The task id.</param>
/// <param name="Status">Its status now.</param>
public sealed record TaskCancellation(string TaskId, VideoTaskStatus Status)
{
    /// <summary>The credits the cancel gave back (the task's whole reservation); null from servers that do not say.</summary>
    public decimal? RefundedCredits { get; init; }
}

/// <summary>The credits of the key's account. <c>TotalCredits = UsedCredits + ReservedCredits + RemainCredits</c>.</summary>
/// <param name="TotalCredits">Credits ever granted.</param>
/// <param name="UsedCredits">Credits spent on completed tasks.</param>
/// <param name="RemainCredits">Credits available for new tasks.</param>
/// <param name="ReservedCredits">Credits held by tasks still running (null from servers that do not report it).</param>
/// <param name="DailyUsed">Credits reserved or used by tasks submitted today, UTC (null from servers that do not report it).</param>
/// <param name="MonthlyUsed">Credits reserved or used by tasks submitted this month, UTC (null from servers that do not report it).</param>
/// <param name="DailyCreditLimit">The key's daily spending limit, or null for none.</param>
/// <param name="MonthlyCreditLimit">The key's monthly spending limit, or null for none.</param>
public sealed record Balance(decimal TotalCredits, decimal UsedCredits, decimal RemainCredits, decimal? ReservedCredits,
    decimal? DailyUsed = null, decimal? MonthlyUsed = null, decimal? DailyCreditLimit = null, decimal? MonthlyCreditLimit = null);

/// <summary>A model the server offers, as <see cref="SeedanceClient.GetModelsAsync"/> reads it.</summary>
/// <param name="Model">The model.</param>
/// <param name="Default">Whether a request that names no model gets this one.</param>
/// <param name="Resolutions">The resolutions offered, lowest first.</param>
/// <param name="DefaultResolution">The resolution of a request that names none.</param>
/// <param name="Ratios">The aspect ratios offered.</param>
/// <param name="DefaultRatio">The ratio of a request that names none.</param>
/// <param name="Duration">The durations allowed, in seconds, and the default.</param>
/// <param name="Audio">Whether <see cref="VideoGenerationRequest.GenerateAudio"/> may be true.</param>
/// <param name="Prices">Credits per second of video, per resolution (the key's own prices).</param>
public sealed record VideoModelInfo(
    VideoModel Model, bool Default, IReadOnlyList<VideoResolution> Resolutions, VideoResolution DefaultResolution, IReadOnlyList<AspectRatio> Ratios,
    AspectRatio DefaultRatio, DurationRange Duration, bool Audio, IReadOnlyDictionary<string, decimal> Prices)
{
    /// <summary>What a video of <paramref name="durationSeconds"/> at <paramref name="resolution"/> costs: the price per second times the seconds, to the cent (as the server reserves it).</summary>
    public decimal Cost(VideoResolution resolution, int durationSeconds) =>
        Prices.TryGetValue(resolution.Name, out var price)
            ? Math.Round(price * durationSeconds, 2, MidpointRounding.AwayFromZero)
            : throw new ArgumentOutOfRangeException(nameof(resolution), $"{Model} is not offered at {resolution}");
}

/// <summary>The durations a model allows, in seconds.</summary>
/// <param name="Min">The shortest.</param>
/// <param name="Max">The longest.</param>
/// <param name="Default">The duration of a request that names none.</param>
public sealed record DurationRange(int Min, int Max, int Default);

/// <summary>What a request would cost, as <see cref="SeedanceClient.QuoteAsync"/> reads it from the server.</summary>
/// <param name="Model">The model, the request's or the server's default.</param>
/// <param name="Resolution">The resolution, the request's or the model's default.</param>
/// <param name="Duration">The duration in seconds, the request's or the model's default.</param>
/// <param name="CreditCost">What a submission of the request would reserve, in credits.</param>
/// <param name="RemainCredits">The key's credits available now.</param>
/// <param name="Affordable">Whether <paramref name="RemainCredits"/> cover the cost.</param>
public sealed record VideoQuote(VideoModel Model, VideoResolution Resolution, int Duration, decimal CreditCost, decimal RemainCredits, bool Affordable);

internal sealed record ModelList(IReadOnlyList<VideoModelInfo> Data);

/// <summary>How far a transfer has got.</summary>
/// <param name="BytesTransferred">Bytes sent or received so far.</param>
/// <param name="TotalBytes">The full size, when known.</param>
public readonly record struct TransferProgress(long BytesTransferred, long? TotalBytes)
{
    /// <summary>The fraction done from 0 to 1, when the size is known.</summary>
    public double? Fraction => TotalBytes is > 0 ? (double)BytesTransferred / TotalBytes.Value : null;
}
