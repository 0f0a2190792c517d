using System.Text.RegularExpressions;

namespace Seedance.Server.Tests.Support;

/// <summary>The server's C# sources as text, by top-level folder (each folder is one namespace), generated migrations left out.</summary>
public static partial class ServerSources
{
    public sealed record SourceFile(string Path, string Folder, string[] Lines);

    private static string Root => System.IO.Path.Combine(RepositoryRoot.Path, "src", "Seedance.Server");

    public static IEnumerable<SourceFile> Files() =>
        Directory.EnumerateFiles(Root, "*.cs", SearchOption.AllDirectories)
            .Select(p => System.IO.Path.GetRelativePath(Root, p))
            .Where(p => !p.Split('/').Any(part => part is "bin" or "obj" || part.EndsWith("Migrations", StringComparison.Ordinal)))
            .Select(p => new SourceFile(p, p.Contains('/') ? p[..p.IndexOf('/')] : "", File.ReadAllLines(System.IO.Path.Combine(Root, p))));

    /// <summary>For each folder, the other folders its files name.</summary>
    public static Dictionary<string, HashSet<string>> FolderDependencies()
    {
        var graph = new Dictionary<string, HashSet<string>>();
        foreach (var file in Files().Where(f => f.Folder != ""))
        {
            var named = graph.TryGetValue(file.Folder, out var set) ? set : graph[file.Folder] = [];
            foreach (Match m in Named().Matches(string.Join('\n', file.Lines)))
                if (m.Groups[1].Value != file.Folder) named.Add(m.Groups[1].Value);
        }
        return graph;
    }

    [GeneratedRegex(@"\bSeedance\.Server\.([A-Z][A-Za-z]*)")]
    private static partial Regex Named();
}
