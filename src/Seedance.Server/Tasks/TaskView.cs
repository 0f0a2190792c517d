using Seedance.Server.Data;
using Seedance.Server.Storage;

namespace Seedance.Server.Tasks;

/// <summary>
/// The task object of the document, as GET, list and callbacks return it. Additions come after the documented fields:
/// <c>thumbnail_url</c>, the poster (JPEG of the first frame, 320 px on the long side), signed like <c>video_url</c>; then where
/// the task stands (<see cref="TaskOutlook"/>): <c>queue_position</c>, <c>estimated_finish_at</c> and <c>progress</c>.
/// </summary>
public sealed record TaskView(
    string TaskId, string Model, string Status, string Resolution, string Ratio, int Duration, bool GenerateAudio,
    long? Seed, string? VideoUrl, string? LastFrameUrl, string? ErrorCode, string? ErrorMessage, decimal CreditCost,
    DateTime CreatedAt, DateTime UpdatedAt, string? ThumbnailUrl,
    int? QueuePosition = null, DateTime? EstimatedFinishAt = null, int? Progress = null)
{
    /// <param name="baseUrl">The base of the links when there is no request to take it from (callbacks).</param>
    /// <param name="outlook">Where the task stands; without it, a finished task's (an unfinished one's is then unknown).</param>
    public static TaskView Of(VideoTask t, PublicLinks links, string? baseUrl = null, TaskOutlook? outlook = null)
    {
        var o = outlook ?? TaskOutlook.Finished(t.Status) ?? TaskOutlook.Unknown;
        return new(
            t.TaskId, t.Model, t.Status, t.Resolution, t.Ratio, t.Duration, t.GenerateAudio, t.Seed,
            t.VideoFile is null ? null : links.Download(t.VideoFile, baseUrl),
            t.LastFrameFile is null ? null : links.Download(t.LastFrameFile, baseUrl),
            t.ErrorCode, t.ErrorMessage, t.CreditCost, t.CreatedAt, t.UpdatedAt,
            t.ThumbnailFile is null ? null : links.Download(t.ThumbnailFile, baseUrl),
            o.QueuePosition, o.EstimatedFinishAt, o.Progress);
    }
}

public sealed record SubmitResult(string TaskId, string Status, decimal CreditCost);

/// <summary>The answer to a cancel: the document's fields, then (an addition) the credits its reservation gave back, exactly the ledger's release.</summary>
public sealed record CancelResult(string TaskId, string Status, decimal RefundedCredits);

public sealed record TaskPage(IReadOnlyList<TaskView> Data, int Total, int Page, int PageSize);
