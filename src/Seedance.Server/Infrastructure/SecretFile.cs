using System.Security.Cryptography;

namespace Seedance.Server.Infrastructure;

/// <summary>A secret kept in the data directory, readable by the server's user only (mode 0600).</summary>
public static class SecretFile
{
    /// <summary>Reads the secret at <paramref name="path"/>, creating it from <paramref name="create"/> on first use.</summary>
    public static byte[] ReadOrCreate(string path, Func<byte[]> create, out bool created)
    {
        created = false;
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        if (!File.Exists(path))
        {
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            try
            {
                using var stream = new FileStream(path, options);
                stream.Write(create());
                created = true;
            }
            catch (IOException) when (File.Exists(path)) { /* another process created it first */ }
        }
        return File.ReadAllBytes(path);
    }

    public static byte[] RandomBytes() => RandomNumberGenerator.GetBytes(32);
}
