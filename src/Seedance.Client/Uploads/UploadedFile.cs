namespace Seedance.Client;

/// <summary>A file uploaded to the server's store, to be referenced in a task's content.</summary>
/// <param name="FilePath">The <c>file_path</c> to reference (<c>api/uploads/...</c>).</param>
/// <param name="ContentType">Its MIME type.</param>
/// <param name="Size">Bytes sent, when known.</param>
public sealed record UploadedFile(string FilePath, string ContentType, long? Size);

/// <summary>The six file types the API accepts, by extension.</summary>
public static class UploadContentTypes
{
    private static readonly Dictionary<string, string> ByExtension = new(StringComparer.OrdinalIgnoreCase)
    {
        [".png"] = "image/png",
        [".jpg"] = "image/jpeg",
        [".jpeg"] = "image/jpeg",
        [".webp"] = "image/webp",
        [".mp4"] = "video/mp4",
        [".mov"] = "video/quicktime",
        [".webm"] = "video/webm",
    };

    /// <summary>The accepted extensions.</summary>
    public static IReadOnlyCollection<string> Extensions => ByExtension.Keys;

    /// <summary>The content type for a file name, or null when its extension is not accepted.</summary>
    public static string? For(string fileName) => ByExtension.GetValueOrDefault(Path.GetExtension(fileName));

    /// <summary>True for the image types.</summary>
    public static bool IsImage(string contentType) => contentType.StartsWith("image/", StringComparison.Ordinal);
}
