using System.CommandLine;
using Seedance.Bench.ArkPolling;

namespace Seedance.Bench;

/// <summary>The benchmark commands: each starts what it measures, prints a Markdown table and writes it to bench/results/.</summary>
public static class Program
{
    public const int Ok = 0, Failed = 1;

    public static Task<int> Main(string[] args) => RunAsync(args, Console.Out, Console.Error);

    public static Task<int> RunAsync(string[] args, TextWriter output, TextWriter error)
    {
        var root = new RootCommand("Seedance benchmarks. Each command prints a Markdown table and writes it to bench/results/.");
        root.Subcommands.Add(Bar.BarCommand.Create());
        root.Subcommands.Add(ArkPollingCommand.Create());
        root.Subcommands.Add(ArkPollingCommand.Create("tracking"));
        root.Subcommands.Add(Watching.WatchingBenchmark.Create());
        root.Subcommands.Add(Nodes.NodesCommand.Create());
        root.Subcommands.Add(Fuzz.FuzzBenchmark.Create());
        root.Subcommands.Add(Estimates.EstimatesBenchmark.Create());
        root.Subcommands.Add(Crash.CrashBenchmark.Create());
        root.Subcommands.Add(WebConsole.ConsoleBenchmark.Create());
        return root.Parse(args).InvokeAsync(new InvocationConfiguration { Output = output, Error = error });
    }
}
