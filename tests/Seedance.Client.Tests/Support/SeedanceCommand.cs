using System.Diagnostics;
using Seedance.Cli;

namespace Seedance.Client.Tests.Support;

/// <summary>The <c>seedance</c> command, run in this process through its entry point or as a process of its own.</summary>
public sealed class SeedanceCommand : IDisposable
{
    public SeedanceCommand(Dictionary<string, string>? environment = null)
    {
        ConfigDirectory = TempDir.Create();
        Environment = environment ?? [];
    }

    public string ConfigDirectory { get; }
    public Dictionary<string, string> Environment { get; }

    public static SeedanceCommand For(RunningServer server, string apiKey) =>
        new(new() { ["SEEDANCE_API_KEY"] = apiKey, ["SEEDANCE_BASE_URL"] = server.BaseUrl });

    public sealed record Result(int ExitCode, string Out, string Error)
    {
        public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Out}\n--- stderr\n{Error}";
    }

    public async Task<Result> RunAsync(params string[] args) => await RunAsync(CancellationToken.None, args);

    public async Task<Result> RunAsync(CancellationToken interrupted, params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await SeedanceCli.RunAsync(args, CliContext.ForTests(output, error, Environment, ConfigDirectory, interrupted));
        return new Result(code, output.ToString(), error.ToString());
    }

    /// <summary>The command's own build output (with its own dependencies), built with the same configuration as the tests.</summary>
    public static string Dll
    {
        get
        {
            var output = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
            return Path.Combine(RepositoryRoot.Path, "src", "Seedance.Cli", "bin", output.Parent!.Name, output.Name, "seedance.dll");
        }
    }

    /// <summary>Runs <c>dotnet seedance.dll</c> as a process, with only this environment's SEEDANCE_ variables set.</summary>
    public async Task<Result> RunProcessAsync(params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        info.ArgumentList.Add(Dll);
        foreach (var arg in args) info.ArgumentList.Add(arg);
        foreach (var name in info.Environment.Keys.Where(k => k.StartsWith("SEEDANCE_", StringComparison.Ordinal)).ToList()) info.Environment.Remove(name);
        foreach (var (name, value) in Environment) info.Environment[name] = value;
        info.Environment["SEEDANCE_CONFIG_DIR"] = ConfigDirectory;
        using var process = Process.Start(info)!;
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await process.WaitForExitAsync(timeout.Token);
        return new Result(process.ExitCode, await output, await error);
    }

    public void Dispose() => TempDir.Delete(ConfigDirectory);
}
