using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;

namespace Seedance.Cli;

/// <summary>
/// Help that shows a command's whole description (with its examples) but lists its subcommands by their
/// first paragraph only, so <c>seedance --help</c> stays a short list and <c>seedance generate --help</c> shows examples.
/// </summary>
internal sealed class HelpWithExamples(HelpAction help) : SynchronousCommandLineAction
{
    public override bool ClearsParseErrors => true;

    public override int Invoke(ParseResult parseResult)
    {
        var listed = parseResult.CommandResult.Command.Subcommands.Select(c => (Command: c, c.Description)).ToList();
        foreach (var (command, description) in listed) command.Description = description?.Split("\n\n")[0];
        try { return help.Invoke(parseResult); }
        finally { foreach (var (command, description) in listed) command.Description = description; }
    }

    public static void Install(RootCommand root)
    {
        var option = root.Options.OfType<HelpOption>().Single();
        option.Action = new HelpWithExamples((HelpAction)option.Action!);
    }
}
