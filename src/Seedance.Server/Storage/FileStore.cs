using Microsoft.Extensions.Options;
using Seedance.Server.Infrastructure;

namespace Seedance.Server.Storage;

/// <summary>
/// Local file storage under <c>{DataDir}/files</c>: uploads at their <c>file_path</c>, results under
/// <c>results/{task_id}/</c>. Writes land in a temporary file first and are moved into place whole.
/// </summary>
public sealed class FileStore(IOptions<SeedanceOptions> options)
{
    public const string RoutePrefix = "/files/";
    private readonly string _root = Path.Combine(options.Value.DataPath, "files");

    public static string ResultPath(string taskId, string name) => $"results/{taskId}/{name}";

    /// <summary>A store path as it appears in a URL: each segment escaped.</summary>
    public static string EscapePath(string storePath) => string.Join('/', storePath.Split('/').Select(Uri.EscapeDataString));

    /// <summary>The physical path of a store path; refuses anything that would leave the store.</summary>
    public string PhysicalPath(string storePath)
    {
        var full = Path.GetFullPath(Path.Combine(_root, storePath));
        if (!full.StartsWith(_root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            throw new ArgumentException("Path leaves the file store", nameof(storePath));
        return full;
    }

    public bool Exists(string storePath) => File.Exists(PhysicalPath(storePath));

    public Stream OpenRead(string storePath) =>
        new FileStream(PhysicalPath(storePath), FileMode.Open, FileAccess.Read, FileShare.Read, 81920, useAsync: true);

    /// <summary>A temporary file beside the destination, to be committed with <see cref="Commit"/>.</summary>
    public (string TempPath, FileStream Stream) CreateTemp(string storePath)
    {
        var destination = PhysicalPath(storePath);
        Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
        var temp = destination + ".tmp-" + Guid.NewGuid().ToString("N");
        return (temp, new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 81920, useAsync: true));
    }

    public void Commit(string tempPath, string storePath) => File.Move(tempPath, PhysicalPath(storePath), overwrite: true);

    public static void Discard(string tempPath)
    {
        try { File.Delete(tempPath); } catch (IOException) { }
    }

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
}
