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

    /// <summary>Prints a benchmark's table and writes it to <c>{resultsDir}/{name}.md</c>.</summary>
    public static async Task WriteTableAsync(TextWriter output, string resultsDir, string name, string table, CancellationToken ct)
    {
        await output.WriteLineAsync(table);
        Directory.CreateDirectory(resultsDir);
        var file = Path.Combine(resultsDir, name + ".md");
        await File.WriteAllTextAsync(file, table, ct);
        await output.WriteLineAsync($"Written to {file}");
    }

    private static string? Above(string start)
    {
        for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Seedance.slnx"))) return dir.FullName;
        return null;
    }
}
