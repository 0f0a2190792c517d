using Seedance.Server.Data;
using Seedance.Server.Storage;

namespace Seedance.Server.Tasks;

/// <summary>
/// The task object of the document, as GET, list and callbacks return it. Additions come after the documented fields:
/// <c>thumbnail_url</c>, the poster (JPEG of the first frame, 320 px on the long side), signed like <c>video_url</c>.
/// </summary>
public sealed record TaskView(
    string TaskId, string Model, string Status, string Resolution, string Ratio, int Duration, bool GenerateAudio,
    long? Seed, string? VideoUrl, string? LastFrameUrl, string? ErrorCode, string? ErrorMessage, decimal CreditCost,
    DateTime CreatedAt, DateTime UpdatedAt, string? ThumbnailUrl)
{
    /// <param name="baseUrl">The base of the links when there is no request to take it from (callbacks).</param>
    public static TaskView Of(VideoTask t, PublicLinks links, string? baseUrl = null) => new(
        t.TaskId, t.Model, t.Status, t.Resolution, t.Ratio, t.Duration, t.GenerateAudio, t.Seed,
        t.VideoFile is null ? null : links.Download(t.VideoFile, baseUrl),
        t.LastFrameFile is null ? null : links.Download(t.LastFrameFile, baseUrl),
        t.ErrorCode, t.ErrorMessage, t.CreditCost, t.CreatedAt, t.UpdatedAt,
        t.ThumbnailFile is null ? null : links.Download(t.ThumbnailFile, baseUrl));
}

public sealed record SubmitResult(string TaskId, string Status, decimal CreditCost);

public sealed record CancelResult(string TaskId, string Status);

public sealed record TaskPage(IReadOnlyList<TaskView> Data, int Total, int Page, int PageSize);
