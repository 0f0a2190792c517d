using Microsoft.Extensions.Options;
using Seedance.Server.Infrastructure;

namespace Seedance.Server.Storage;

/// <summary>
/// Local file storage under <c>{DataDir}/files</c>, served by this server's own signed <c>/files/</c>
/// links. Writes land in a temporary file first and are moved into place whole.
/// </summary>
public sealed class LocalFileStore(IOptions<SeedanceOptions> options) : FileStore
{
    private readonly string _root = Path.Combine(options.Value.DataPath, "files");

    /// <summary>The physical path of a store path; refuses anything that would leave the store.</summary>
    public string PhysicalPath(string storePath)
    {
        var full = Path.GetFullPath(Path.Combine(_root, storePath));
        if (!full.StartsWith(_root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            throw new ArgumentException("Path leaves the file store", nameof(storePath));
        return full;
    }

    public bool Exists(string storePath) => File.Exists(PhysicalPath(storePath));

    public override async Task<StoredObject?> InspectAsync(string storePath, int headLength, CancellationToken ct)
    {
        var path = PhysicalPath(storePath);
        if (!File.Exists(path)) return null;
        await using var file = File.OpenRead(path);
        var head = new byte[Math.Min(headLength, file.Length)];
        await file.ReadExactlyAsync(head, ct);
        return new StoredObject(file.Length, ContentTypeOf(storePath), head);
    }

    public override Task<Stream> OpenReadAsync(string storePath, CancellationToken ct) =>
        Task.FromResult<Stream>(new FileStream(PhysicalPath(storePath), FileMode.Open, FileAccess.Read, FileShare.Read, 81920, useAsync: true));

    public override async Task WriteAsync(string storePath, Func<Stream, CancellationToken, Task> write, CancellationToken ct)
    {
        var (temp, stream) = CreateTemp(storePath);
        try
        {
            await using (stream) await write(stream, ct);
            Commit(temp, storePath);
        }
        catch
        {
            Discard(temp);
            throw;
        }
    }

    public override Task DeleteAsync(string storePath, CancellationToken ct)
    {
        var path = PhysicalPath(storePath);
        File.Delete(path);
        // A task's results folder goes with its last file (nothing writes there once the task finished); upload folders stay.
        if (storePath.StartsWith(ResultsFolder, StringComparison.Ordinal) && Path.GetDirectoryName(path) is { } folder
            && Directory.Exists(folder) && !Directory.EnumerateFileSystemEntries(folder).Any())
        {
            try { Directory.Delete(folder); }
            catch (IOException) { } // not empty after all
        }
        return Task.CompletedTask;
    }

    public override Task<string> LocalFileAsync(string storePath, string scratch, CancellationToken ct) => Task.FromResult(PhysicalPath(storePath));

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
}
