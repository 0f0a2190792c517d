namespace Seedance.Server.Storage;

/// <summary>
/// Where uploads and results live: local files under the data directory (<see cref="LocalFileStore"/>)
/// or an S3-compatible bucket (<see cref="S3FileStore"/>), chosen by <c>Seedance:Storage:Provider</c>.
/// Paths are the same in both: uploads at their <c>file_path</c>, results under <c>results/{task_id}/</c>.
/// </summary>
public abstract class FileStore
{
    public const string RoutePrefix = "/files/";

    /// <summary>Where tasks' results are kept, one folder per task.</summary>
    public const string ResultsFolder = "results/";

    public static string ResultPath(string taskId, string name) => $"{ResultsFolder}{taskId}/{name}";

    /// <summary>A store path as it appears in a URL: each segment escaped.</summary>
    public static string EscapePath(string storePath) => string.Join('/', storePath.Split('/').Select(Uri.EscapeDataString));

    public static string ContentTypeOf(string storePath) => Path.GetExtension(storePath).ToLowerInvariant() switch
    {
        ".mp4" => "video/mp4",
        ".mov" => "video/quicktime",
        ".webm" => "video/webm",
        ".png" => "image/png",
        ".jpg" or ".jpeg" => "image/jpeg",
        ".webp" => "image/webp",
        _ => "application/octet-stream",
    };

    /// <summary>
    /// A presigned upload URL made by the store itself (S3), which then receives the bytes without this
    /// server seeing them; null when this server receives uploads on its own <c>/files/</c> route.
    /// </summary>
    public virtual string? PresignedUpload(string storePath, string contentType, DateTimeOffset expires) => null;

    /// <summary>A presigned download URL made by the store itself; null when this server serves downloads.</summary>
    public virtual string? PresignedDownload(string storePath, DateTimeOffset expires) => null;

    /// <summary>True when the store signs its own links, so they can be made without a public base URL.</summary>
    public bool SignsOwnLinks => this is not LocalFileStore;

    /// <summary>Size, content type and first bytes of a stored object; null when there is none.</summary>
    public abstract Task<StoredObject?> InspectAsync(string storePath, int headLength, CancellationToken ct);

    public abstract Task<Stream> OpenReadAsync(string storePath, CancellationToken ct);

    /// <summary>
    /// Stores what <paramref name="write"/> writes, streamed in bounded memory; the object appears whole
    /// or not at all (a failed write leaves nothing behind).
    /// </summary>
    public abstract Task WriteAsync(string storePath, Func<Stream, CancellationToken, Task> write, CancellationToken ct);

    /// <summary>Deletes an object; one that is not there is no error.</summary>
    public abstract Task DeleteAsync(string storePath, CancellationToken ct);

    /// <summary>A local file with the object's content, for tools that read files (ffmpeg); made in <paramref name="scratch"/> if needed.</summary>
    public abstract Task<string> LocalFileAsync(string storePath, string scratch, CancellationToken ct);

    /// <summary>Checks at start that the store can be used; throws with a message naming the setting otherwise.</summary>
    public virtual Task CheckAsync(CancellationToken ct) => Task.CompletedTask;
}

public sealed record StoredObject(long Size, string? ContentType, byte[] Head);
