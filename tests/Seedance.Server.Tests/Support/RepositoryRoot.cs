namespace Seedance.Server.Tests.Support;

public static class RepositoryRoot
{
    /// <summary>The checkout this test run was built from (the folder holding Seedance.slnx).</summary>
    public static string Path
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(System.IO.Path.Combine(dir.FullName, "Seedance.slnx"))) dir = dir.Parent;
            return dir?.FullName ?? throw new InvalidOperationException("Seedance.slnx not found above " + AppContext.BaseDirectory);
        }
    }
}
