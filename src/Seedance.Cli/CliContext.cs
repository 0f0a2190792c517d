using Spectre.Console;

namespace Seedance.Cli;

/// <summary>Everything the command line touches outside itself, so tests can run it in-process.</summary>
public sealed class CliContext
{
    /// <summary>Standard output (results: tables, ids, paths, JSON).</summary>
    public required TextWriter Out { get; init; }
    /// <summary>Standard error (progress, questions, errors).</summary>
    public required TextWriter Error { get; init; }
    /// <summary>Environment variables.</summary>
    public required Func<string, string?> Environment { get; init; }
    /// <summary>The folder holding <c>seedance/config.json</c>.</summary>
    public required string ConfigDirectory { get; init; }
    /// <summary>True when a person is at the terminal: questions are asked, progress is drawn.</summary>
    public bool Interactive { get; init; }
    /// <summary>Cancelled by Ctrl-C.</summary>
    public CancellationToken Interrupted { get; init; }
    /// <summary>Where questions are asked and progress is drawn (standard error).</summary>
    public IAnsiConsole Console { get; init; } = null!;

    /// <summary>The real process: its console, environment and Ctrl-C.</summary>
    public static CliContext FromProcess()
    {
        var interrupt = new CancellationTokenSource();
        System.Console.CancelKeyPress += (_, e) =>
        {
            if (interrupt.IsCancellationRequested) return; // a second Ctrl-C ends the process
            e.Cancel = true;
            interrupt.Cancel();
        };
        var interactive = !System.Console.IsInputRedirected && !System.Console.IsErrorRedirected;
        return new CliContext
        {
            Out = System.Console.Out,
            Error = System.Console.Error,
            Environment = System.Environment.GetEnvironmentVariable,
            ConfigDirectory = System.Environment.GetEnvironmentVariable("SEEDANCE_CONFIG_DIR") is { Length: > 0 } dir
                ? dir : System.Environment.GetFolderPath(System.Environment.SpecialFolder.ApplicationData, System.Environment.SpecialFolderOption.Create),
            Interactive = interactive,
            Interrupted = interrupt.Token,
            Console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(System.Console.Error) }),
        };
    }

    /// <summary>A context for tests: text writers, a fixed environment, no terminal.</summary>
    public static CliContext ForTests(TextWriter output, TextWriter error, IReadOnlyDictionary<string, string> environment, string configDirectory,
        CancellationToken interrupted = default) => new()
    {
        Out = output,
        Error = error,
        Environment = name => environment.GetValueOrDefault(name),
        ConfigDirectory = configDirectory,
        Interactive = false,
        Interrupted = interrupted,
        Console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(error), Ansi = AnsiSupport.No, ColorSystem = ColorSystemSupport.NoColors, Interactive = InteractionSupport.No,
        }),
    };
}
