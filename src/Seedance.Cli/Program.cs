using Seedance.Cli;

return await SeedanceCli.RunAsync(args, CliContext.FromProcess());
