using System.CommandLine;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Seedance.Server.Channels;
using Seedance.Server.Data;
using Seedance.Server.Infrastructure;
using Seedance.Server.Keys;

namespace Seedance.Server.Cli;

/// <summary>
/// The operator's commands of the server binary, working on the same data directory as the server:
/// <c>keys create|list|show|update|credits|ledger</c> and <c>channels list|show|create|update|test|drain|delete|reencrypt</c>
/// (<see cref="ChannelCommands"/>). Output is the JSON the admin API returns.
/// Configuration comes as the server's does (environment, appsettings), plus <c>--data-dir</c> and any
/// <c>settings</c> given (a host running a command in its own process, such as the tests).
/// </summary>
public static class CommandLine
{
    public const int Ok = 0, Refused = 1, BadConfiguration = 2;

    public static bool IsCommand(string[] args) => args.Length > 0 && args[0] is "keys" or "channels";

    /// <summary>Runs the command; its JSON goes to <paramref name="stdout"/>, refusals and usage errors to <paramref name="stderr"/>.</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, IReadOnlyDictionary<string, string?>? settings = null)
    {
        try
        {
            return await ParseAndRunAsync(args, new Output(stdout, stderr), settings);
        }
        catch (OptionsValidationException e)
        {
            await WriteInvalidConfigurationAsync(e, stderr);
            return BadConfiguration;
        }
    }

    /// <summary>What an invalid setting prints, for the server and the commands alike: each failure on a line, and no stack trace.</summary>
    public static async Task WriteInvalidConfigurationAsync(OptionsValidationException e, TextWriter stderr)
    {
        await stderr.WriteLineAsync("Invalid configuration:");
        foreach (var failure in e.Failures) await stderr.WriteLineAsync($"  {failure}");
    }

    private sealed record Output(TextWriter Stdout, TextWriter Stderr);

    private static async Task<int> ParseAndRunAsync(string[] args, Output output, IReadOnlyDictionary<string, string?>? settings)
    {
        var dataDir = new Option<string?>("--data-dir") { Description = "Data directory (default: Seedance__DataDir or ./data)", Recursive = true };
        Task<int> Administer<T>(ParseResult p, CancellationToken ct, Func<KeyAdministration, Task<T>> action) => Run(p, dataDir, output, settings, ct, action);
        var root = new RootCommand("Seedance 2.0 API server. Without a command it serves the API.") { dataDir };
        root.Subcommands.Add(ChannelCommands.Create((p, ct, action) => Run(p, dataDir, output, settings, ct, action)));
        var keys = new Command("keys", "Manage API keys and their credits");
        root.Subcommands.Add(keys);

        var name = new Option<string>("--name") { Description = "Customer or key name", Required = true };
        var credits = new Option<decimal>("--credits") { Description = "Initial credits", DefaultValueFactory = _ => 0m };
        var maxConcurrent = new Option<int?>("--max-concurrent") { Description = "Tasks queued or processing at once (default 5)" };
        var maxPending = new Option<int?>("--max-pending") { Description = "Tasks waiting as pending (default 100)" };
        var rateLimit = new Option<int?>("--rate-limit") { Description = "Requests per second" };
        var pricePlan = new Option<string?>("--price-plan") { Description = "A price plan of Seedance:PricePlans (update: \"\" for the list prices)" };
        var dailyLimit = new Option<decimal?>("--daily-limit") { Description = "Credits the key may spend per UTC day (0: no limit)" };
        var monthlyLimit = new Option<decimal?>("--monthly-limit") { Description = "Credits the key may spend per UTC month (0: no limit)" };
        var retention = new Option<int?>("--retention-days") { Description = "Days a finished task's files are kept (0: the server's Seedance:Tasks:ResultRetentionDays)" };
        var create = new Command("create", "Create a key; prints the key once") { name, credits, maxConcurrent, maxPending, rateLimit, pricePlan, dailyLimit, monthlyLimit, retention };
        create.SetAction((p, ct) => Administer(p, ct, k => k.CreateAsync(
            new NewKey(p.GetValue(name), p.GetValue(credits), p.GetValue(maxConcurrent), p.GetValue(maxPending), p.GetValue(rateLimit), p.GetValue(pricePlan),
                p.GetValue(dailyLimit), p.GetValue(monthlyLimit), p.GetValue(retention)), ct)));
        keys.Subcommands.Add(create);

        var list = new Command("list", "List keys");
        list.SetAction((p, ct) => Administer(p, ct, k => k.ListAsync(ct)));
        keys.Subcommands.Add(list);

        var keyId = new Argument<long>("key-id") { Description = "Numeric key id" };
        var show = new Command("show", "Show one key") { keyId };
        show.SetAction((p, ct) => Administer(p, ct, k => k.GetAsync(p.GetValue(keyId), ct)));
        keys.Subcommands.Add(show);

        var rename = new Option<string?>("--name") { Description = "New name" };
        var enable = new Option<bool>("--enable") { Description = "Enable the key" };
        var disable = new Option<bool>("--disable") { Description = "Disable the key (stops working within a second)" };
        var update = new Command("update", "Enable, disable, change limits, spending limits, retention or the price plan")
        {
            keyId, rename, enable, disable, maxConcurrent, maxPending, rateLimit, pricePlan, dailyLimit, monthlyLimit, retention,
        };
        update.Validators.Add(r =>
        {
            if (r.GetValue(enable) && r.GetValue(disable)) r.AddError("--enable and --disable cannot be used together");
        });
        update.SetAction((p, ct) => Administer(p, ct, k => k.UpdateAsync(p.GetValue(keyId), new KeyChange(
            p.GetValue(rename), p.GetValue(enable) ? true : p.GetValue(disable) ? false : null,
            p.GetValue(maxConcurrent), p.GetValue(maxPending), p.GetValue(rateLimit), p.GetValue(pricePlan),
            p.GetValue(dailyLimit), p.GetValue(monthlyLimit), p.GetValue(retention)), ct)));
        keys.Subcommands.Add(update);

        var amount = new Option<decimal>("--amount") { Description = "Credits to add (negative to adjust down)", Required = true };
        var note = new Option<string?>("--note") { Description = "Why" };
        var topUp = new Command("credits", "Top up or adjust credits") { keyId, amount, note };
        topUp.SetAction((p, ct) => Administer(p, ct, k => k.AdjustCreditsAsync(p.GetValue(keyId), new CreditChange(p.GetValue(amount), p.GetValue(note)), ct)));
        keys.Subcommands.Add(topUp);

        var page = new Option<int>("--page") { DefaultValueFactory = _ => 1 };
        var pageSize = new Option<int>("--page-size") { DefaultValueFactory = _ => 100 };
        var ledger = new Command("ledger", "Credit movements of a key, newest first") { keyId, page, pageSize };
        ledger.SetAction((p, ct) => Administer(p, ct, k => k.LedgerAsync(p.GetValue(keyId), p.GetValue(page), p.GetValue(pageSize), ct)));
        keys.Subcommands.Add(ledger);

        // Exceptions come out of the invocation: RunAsync reports an invalid configuration as the server does (exit 2).
        return await root.Parse(args).InvokeAsync(new InvocationConfiguration
        {
            EnableDefaultExceptionHandler = false, Output = output.Stdout, Error = output.Stderr,
        });
    }

    private static async Task<int> Run<TAdministration, T>(ParseResult parse, Option<string?> dataDir, Output output, IReadOnlyDictionary<string, string?>? settings,
        CancellationToken ct, Func<TAdministration, Task<T>> action) where TAdministration : notnull
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { ContentRootPath = AppContext.BaseDirectory });
        if (settings is not null) builder.Configuration.AddInMemoryCollection(settings);
        if (parse.GetValue(dataDir) is { } dir) builder.Configuration[$"{SeedanceOptions.Section}:DataDir"] = dir;
        builder.Logging.ClearProviders();
        builder.Services.AddSeedanceCore(builder.Configuration);
        var host = builder.Build();
        await using var disposing = (IAsyncDisposable)host; // the database writer finishes its writes asynchronously
        await DatabaseSetup.MigrateAsync(host.Services, ct);
        await using var scope = host.Services.CreateAsyncScope();
        try
        {
            var result = await action(scope.ServiceProvider.GetRequiredService<TAdministration>());
            await output.Stdout.WriteLineAsync(JsonSerializer.Serialize(result, new JsonSerializerOptions(Json.Options) { WriteIndented = true }));
            return Ok;
        }
        catch (ApiError e)
        {
            await output.Stderr.WriteLineAsync($"{e.Code}: {e.Message}");
            return Refused;
        }
    }
}
