using System.Security.Cryptography;

namespace Seedance.Server.Infrastructure;

/// <summary>A secret kept in the data directory, readable by the server's user only (mode 0600).</summary>
public static class SecretFile
{
    public const int MinimumLength = 32;

    /// <summary>
    /// Reads the secret at <paramref name="path"/>, creating it from <paramref name="create"/> on first use.
    /// The file appears whole or not at all (written aside, then moved into place), so a crash or a second
    /// process never sees a short secret; a short or empty one is refused rather than used.
    /// </summary>
    public static byte[] ReadOrCreate(string path, Func<byte[]> create, out bool created)
    {
        created = false;
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        if (!File.Exists(path))
        {
            var temp = $"{path}.{Guid.NewGuid():N}.tmp";
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            using (var stream = new FileStream(temp, options))
            {
                stream.Write(create());
                stream.Flush(flushToDisk: true);
            }
            try
            {
                File.Move(temp, path, overwrite: false);
                created = true;
            }
            catch (IOException) when (File.Exists(path)) { /* another process created it first: use theirs */ }
            finally { File.Delete(temp); }
        }
        var secret = File.ReadAllBytes(path);
        if (secret.Length < MinimumLength)
            throw new InvalidOperationException($"The secret in {path} is shorter than {MinimumLength} bytes: delete it to have a new one made");
        return secret;
    }

    public static byte[] RandomBytes() => RandomNumberGenerator.GetBytes(MinimumLength);
}
