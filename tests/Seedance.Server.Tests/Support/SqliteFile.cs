namespace Seedance.Server.Tests.Support;

/// <summary>A server's SQLite database file itself; <see cref="TestDatabase"/> reads and changes either provider's rows.</summary>
public static class SqliteFile
{
    public static string PathIn(string dataDir) => Path.Combine(dataDir, "seedance.db");

    /// <summary>Every byte of the database: the main file plus its write-ahead log, where recent writes live.</summary>
    public static byte[] AllBytes(string dataDir)
    {
        using var all = new MemoryStream();
        foreach (var path in new[] { PathIn(dataDir), PathIn(dataDir) + "-wal", PathIn(dataDir) + "-journal" }.Where(File.Exists))
        {
            using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            file.CopyTo(all);
        }
        return all.ToArray();
    }
}
