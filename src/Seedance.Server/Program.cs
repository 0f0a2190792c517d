using Microsoft.Extensions.Options;
using Seedance.Server.Cli;
using Seedance.Server.Infrastructure;
using Seedance.Server;

try
{
    if (CommandLine.IsCommand(args)) return await CommandLine.RunAsync(args);

    var app = SeedanceApp.Create(args);
    await app.PrepareAsync();
    await app.RunAsync();
    return 0;
}
catch (OptionsValidationException e)
{
    Console.Error.WriteLine("Invalid configuration:");
    foreach (var failure in e.Failures) Console.Error.WriteLine($"  {failure}");
    return 2;
}

public partial class Program;
