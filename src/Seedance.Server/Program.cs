using Microsoft.Extensions.Options;
using Seedance.Server.Cli;
using Seedance.Server.Infrastructure;
using Seedance.Server;

try
{
    if (CommandLine.IsCommand(args)) return await CommandLine.RunAsync(args, Console.Out, Console.Error);

    var app = SeedanceApp.Create(args);
    await app.PrepareAsync();
    await app.RunAsync();
    return 0;
}
catch (OptionsValidationException e)
{
    await CommandLine.WriteInvalidConfigurationAsync(e, Console.Error);
    return CommandLine.BadConfiguration;
}

public partial class Program;
