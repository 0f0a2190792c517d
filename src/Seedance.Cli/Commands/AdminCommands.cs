using System.CommandLine;
using Seedance.Client;

namespace Seedance.Cli.Commands;

/// <summary>
/// <c>seedance admin</c>: the operator's commands over the admin API (<c>SEEDANCE_ADMIN_TOKEN</c> or
/// <c>--admin-token</c>; the server from <c>SEEDANCE_BASE_URL</c> or <c>seedance login</c>).
/// </summary>
public static class AdminCommands
{
    public static Command Create(CliContext context)
    {
        var token = new Option<string?>("--admin-token") { Description = "The admin token (default SEEDANCE_ADMIN_TOKEN)", Recursive = true };
        var admin = new Command("admin", "Operator commands over the admin API: API keys and credits.\n\nExample:\n  SEEDANCE_ADMIN_TOKEN=... seedance admin keys list") { token };
        var keys = new Command("keys", "Create, list, disable and enable API keys.\n\nExample:\n  seedance admin keys create --name acme --credits 1000");
        admin.Subcommands.Add(keys);

        var name = new Option<string>("--name") { Description = "Customer or key name", Required = true };
        var credits = new Option<decimal>("--credits") { Description = "Initial credits", DefaultValueFactory = _ => 0m };
        var maxConcurrent = new Option<int?>("--max-concurrent") { Description = "Tasks queued or processing at once (server default 5)" };
        var maxPending = new Option<int?>("--max-pending") { Description = "Tasks waiting as pending (server default 100)" };
        var rateLimit = new Option<int?>("--rate-limit") { Description = "Requests per second (server default 20)" };
        var pricePlan = new Option<string?>("--price-plan") { Description = "A price plan the server configures (default: none, the list prices)" };
        var create = new Command("create", "Create a key; prints the key once.\n\nExample:\n  seedance admin keys create --name acme --credits 1000 --max-concurrent 5")
        {
            name, credits, maxConcurrent, maxPending, rateLimit, pricePlan,
        };
        create.SetAction(parse => Run(context, parse, token, async client =>
        {
            var created = await client.CreateKeyAsync(new NewApiKey(parse.GetValue(name)!, parse.GetValue(credits), parse.GetValue(maxConcurrent),
                parse.GetValue(maxPending), parse.GetValue(rateLimit), parse.GetValue(pricePlan)), context.Interrupted);
            if (parse.GetValue(SeedanceCli.Json)) Output.WriteJson(context, created);
            else
            {
                context.Out.WriteLine(created.ApiKey);
                context.Error.WriteLine($"Key {created.Key.KeyId} ({created.Key.Name}) created with {Output.Credits(created.Key.RemainCredits)} credits. The key is shown this once.");
            }
        }));
        keys.Subcommands.Add(create);

        var list = new Command("list", "List keys.\n\nExample:\n  seedance admin keys list --json");
        list.SetAction(parse => Run(context, parse, token, async client =>
        {
            var all = await client.ListKeysAsync(context.Interrupted);
            if (parse.GetValue(SeedanceCli.Json)) Output.WriteJson(context, all);
            else Output.Write(context, Output.Keys(all));
        }));
        keys.Subcommands.Add(list);

        keys.Subcommands.Add(Toggle(context, token, "disable", false, "Disable a key (it stops working within a second).\n\nExample:\n  seedance admin keys disable 3"));
        keys.Subcommands.Add(Toggle(context, token, "enable", true, "Enable a disabled key.\n\nExample:\n  seedance admin keys enable 3"));

        var planKey = KeyId();
        var planName = new Argument<string>("plan") { Description = "A price plan the server configures, or \"\" for the list prices" };
        var plan = new Command("plan", "Give a key a price plan; its next submissions pay the plan's prices.\n\nExamples:\n  seedance admin keys plan 3 partner\n  seedance admin keys plan 3 \"\"")
        {
            planKey, planName,
        };
        plan.SetAction(parse => Run(context, parse, token, async client =>
        {
            var key = await client.UpdateKeyAsync(parse.GetValue(planKey), new ApiKeyChange(PricePlan: parse.GetValue(planName) ?? ""), context.Interrupted);
            if (parse.GetValue(SeedanceCli.Json)) Output.WriteJson(context, key);
            else context.Out.WriteLine($"Key {key.KeyId} ({key.Name}) {(key.PricePlan is { } p ? $"on price plan {p}" : "on the list prices")}");
        }));
        keys.Subcommands.Add(plan);

        var limitsKey = KeyId();
        var daily = new Option<decimal?>("--daily") { Description = "Credits the key may spend per UTC day (0: no limit)" };
        var monthly = new Option<decimal?>("--monthly") { Description = "Credits the key may spend per UTC month (0: no limit)" };
        var retention = new Option<int?>("--retention-days") { Description = "Days a finished task's files are kept (0: the server's setting)" };
        var limits = new Command("limits", "Set a key's spending limits and result retention; options left out stay as they are.\n\nExamples:\n  seedance admin keys limits 3 --daily 200 --monthly 3000\n  seedance admin keys limits 3 --daily 0")
        {
            limitsKey, daily, monthly, retention,
        };
        limits.SetAction(parse => Run(context, parse, token, async client =>
        {
            var key = await client.UpdateKeyAsync(parse.GetValue(limitsKey),
                new ApiKeyChange(DailyCreditLimit: parse.GetValue(daily), MonthlyCreditLimit: parse.GetValue(monthly), ResultRetentionDays: parse.GetValue(retention)), context.Interrupted);
            if (parse.GetValue(SeedanceCli.Json)) Output.WriteJson(context, key);
            else context.Out.WriteLine($"Key {key.KeyId} ({key.Name}): daily limit {Limit(key.DailyCreditLimit)} ({Output.Credits(key.DailyUsed ?? 0)} used today), " +
                $"monthly limit {Limit(key.MonthlyCreditLimit)} ({Output.Credits(key.MonthlyUsed ?? 0)} used this month), " +
                $"results kept {(key.ResultRetentionDays is { } days ? $"{days} days" : "as the server sets")}");
        }));
        keys.Subcommands.Add(limits);

        var creditsCommand = new Command("credits", "Add credits to a key.\n\nExample:\n  seedance admin credits add 3 --amount 500 --note \"invoice 42\"");
        admin.Subcommands.Add(creditsCommand);
        var keyId = KeyId();
        var amount = new Option<decimal>("--amount") { Description = "Credits to add (negative to adjust down)", Required = true };
        var note = new Option<string?>("--note") { Description = "Why" };
        var add = new Command("add", "Add credits to a key (negative amounts adjust down, never below what is used and reserved).\n\nExample:\n  seedance admin credits add 3 --amount 500 --note \"invoice 42\"")
        {
            keyId, amount, note,
        };
        add.SetAction(parse => Run(context, parse, token, async client =>
        {
            var key = await client.AddCreditsAsync(parse.GetValue(keyId), parse.GetValue(amount), parse.GetValue(note), context.Interrupted);
            if (parse.GetValue(SeedanceCli.Json)) Output.WriteJson(context, key);
            else context.Out.WriteLine($"Key {key.KeyId}: {Output.Credits(key.RemainCredits)} credits left (total {Output.Credits(key.TotalCredits)})");
        }));
        creditsCommand.Subcommands.Add(add);
        return admin;
    }

    private static string Limit(decimal? limit) => limit is { } credits ? Output.Credits(credits) : "none";

    private static Argument<long> KeyId() => new("key-id") { Description = "The numeric key id (see admin keys list)" };

    private static Command Toggle(CliContext context, Option<string?> token, string verb, bool enabled, string description)
    {
        var keyId = KeyId();
        var command = new Command(verb, description) { keyId };
        command.SetAction(parse => Run(context, parse, token, async client =>
        {
            var key = await client.UpdateKeyAsync(parse.GetValue(keyId), new ApiKeyChange(Enabled: enabled), context.Interrupted);
            if (parse.GetValue(SeedanceCli.Json)) Output.WriteJson(context, key);
            else context.Out.WriteLine($"Key {key.KeyId} ({key.Name}) {(key.Enabled ? "enabled" : "disabled")}");
        }));
        return command;
    }

    private static async Task<int> Run(CliContext context, ParseResult parse, Option<string?> token, Func<SeedanceAdminClient, Task> action)
    {
        using var client = CliConfig.Load(context).AdminClient(parse.GetValue(token));
        await action(client);
        return ExitCodes.Ok;
    }
}
