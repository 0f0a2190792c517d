using Seedance.Server.Tests.Support;

namespace Seedance.Server.Tests.Architecture;

/// <summary>
/// The server's folders (one namespace each) depend on each other without cycles, so the tree reads as the request
/// path: endpoints, then tasks and billing, then providers and storage, then the persistence boundary and the
/// infrastructure under everything. A folder depends on another when one of its files names it (a using directive or
/// a qualified name); the migrations, which EF generates, are left out.
/// </summary>
public sealed class FeatureFolderTests
{
    [Fact]
    public void TheFoldersOfTheServerDependOnEachOtherWithoutACycle()
    {
        var graph = ServerSources.FolderDependencies();
        Assert.Contains("Tasks", graph.Keys);
        Assert.Contains("Data", graph["Tasks"]);

        var cycles = new List<string>();
        var state = new Dictionary<string, int>(); // 1 on the path, 2 done
        void Visit(string folder, List<string> path)
        {
            state[folder] = 1;
            path.Add(folder);
            foreach (var next in graph.GetValueOrDefault(folder, []).Order())
            {
                if (state.GetValueOrDefault(next) == 1) cycles.Add(string.Join(" -> ", path.SkipWhile(f => f != next).Append(next)));
                else if (state.GetValueOrDefault(next) == 0) Visit(next, path);
            }
            path.RemoveAt(path.Count - 1);
            state[folder] = 2;
        }
        foreach (var folder in graph.Keys.Order()) if (state.GetValueOrDefault(folder) == 0) Visit(folder, []);

        Assert.True(cycles.Count == 0, "Cycles between folders:\n" + string.Join("\n", cycles));
    }

    [Fact]
    public void ThePersistenceBoundaryAndTheInfrastructureDependOnNoFeature()
    {
        var graph = ServerSources.FolderDependencies();
        Assert.Equal(["Infrastructure"], graph["Data"].Order());
        Assert.Empty(graph["Infrastructure"]);
    }
}
