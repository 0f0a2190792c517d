using System.CommandLine;
using Seedance.Cli.Commands;
using Seedance.Client;

namespace Seedance.Cli;

/// <summary>
/// The <c>seedance</c> command line: its commands, and one place that turns every failure into a line on
/// standard error (message and code) and an exit code (<see cref="ExitCodes"/>).
/// </summary>
public static class SeedanceCli
{
    /// <summary>Options every command takes.</summary>
    public static readonly Option<bool> Json = new("--json") { Description = "Print the result as JSON (for scripts)", Recursive = true };

    /// <summary>Runs the command line with <paramref name="args"/> and returns the exit code.</summary>
    public static async Task<int> RunAsync(string[] args, CliContext context)
    {
        var parse = Build(context).Parse(args);
        var configuration = new InvocationConfiguration { Output = context.Out, Error = context.Error, EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null };
        try
        {
            var code = await parse.InvokeAsync(configuration, context.Interrupted);
            return parse.Errors.Count > 0 ? ExitCodes.UserError : code;
        }
        catch (Exception e)
        {
            return Fail(context, e);
        }
    }

    /// <summary>The command tree.</summary>
    public static RootCommand Build(CliContext context)
    {
        var root = new RootCommand(
            "Generate videos with the Seedance 2.0 API.\n\n" +
            "Configure with `seedance login`, or SEEDANCE_API_KEY and SEEDANCE_BASE_URL.\n" + ExitCodes.Help +
            "\n\nExample:\n  seedance generate \"A cat running under cherry blossoms\" --duration 5 -o cat.mp4")
        {
            Json,
        };
        root.Subcommands.Add(GenerateCommand.Create(context));
        foreach (var command in TaskCommands.Create(context)) root.Subcommands.Add(command);
        foreach (var command in AccountCommands.Create(context)) root.Subcommands.Add(command);
        root.Subcommands.Add(AdminCommands.Create(context));
        HelpWithExamples.Install(root);
        return root;
    }

    /// <summary>Reports a failure as one line (and the document's code) and returns its exit code.</summary>
    public static int Fail(CliContext context, Exception e)
    {
        var (message, code, exit) = e switch
        {
            SeedanceException s => (s.Message, s.Code, ExitCodes.For(s.Code)),
            CliException c => (c.Message, c.Code, c.ExitCode),
            OperationCanceledException when context.Interrupted.IsCancellationRequested => ("Interrupted", null, ExitCodes.Interrupted),
            IOException or UnauthorizedAccessException => (e.Message, null, ExitCodes.UserError),
            _ => ($"Unexpected failure ({e.GetType().Name}): {e.Message}", null, ExitCodes.Failure),
        };
        var taskId = (e as SeedanceException)?.TaskId;
        context.Error.WriteLine($"error: {message}{(code is null ? "" : $" ({code})")}{(taskId is null ? "" : $" [task {taskId}]")}");
        return exit;
    }
}
