namespace Seedance.Bench;

/// <summary>Where the harness finds the server it measures and puts its results, relative to the checkout.</summary>
public static class BenchPaths
{
    /// <summary>The checkout (the folder holding Seedance.slnx) above the working directory or this binary.</summary>
    public static string RepositoryRoot =>
        Above(Environment.CurrentDirectory) ?? Above(AppContext.BaseDirectory)
        ?? throw new InvalidOperationException("Seedance.slnx not found above the working directory or " + AppContext.BaseDirectory);

    /// <summary>The Release build of the server that <c>./bench/run</c> makes.</summary>
    public static string ServerDll => Path.Combine(RepositoryRoot, "src", "Seedance.Server", "bin", "Release", "net10.0", "Seedance.Server.dll");

    /// <summary>The bare app the bar benchmark measures the server against: the harness references it, so it sits beside this binary.</summary>
    public static string BaselineDll => Path.Combine(AppContext.BaseDirectory, "Seedance.Bench.Baseline.dll");

    public static string ResultsDir => Path.Combine(RepositoryRoot, "bench", "results");

    private static string? Above(string start)
    {
        for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Seedance.slnx"))) return dir.FullName;
        return null;
    }
}
