using System.CommandLine;
using Seedance.Server.Channels;

namespace Seedance.Server.Cli;

/// <summary>
/// <c>channels list|show|create|update|test|drain|delete|reencrypt</c>: the admin API's channel operations on the server's
/// database; a running server picks a change up within a second.
/// </summary>
public static class ChannelCommands
{
    public static Command Create(Func<ParseResult, CancellationToken, Func<ChannelAdministration, Task<object>>, Task<int>> run)
    {
        var channels = new Command("channels", "Manage upstream channels (Ark, relay) kept in the database");
        var name = new Argument<string>("name") { Description = "Channel name" };

        var list = new Command("list", "List channels, configured and stored");
        list.SetAction((p, ct) => run(p, ct, async a => await a.ListAsync(ct)));
        channels.Subcommands.Add(list);

        var show = new Command("show", "Show one channel") { name };
        show.SetAction((p, ct) => run(p, ct, async a => await a.GetAsync(p.GetValue(name)!, ct)));
        channels.Subcommands.Add(show);

        var provider = new Option<string?>("--provider") { Description = "ark, relay or sandbox" };
        var baseUrl = new Option<string?>("--base-url") { Description = "The upstream's base URL (Ark: https://ark.cn-beijing.volces.com/api/v3)" };
        var apiKey = new Option<string?>("--api-key") { Description = "The upstream API key (stored encrypted, never shown again)" };
        var models = new Option<string[]>("--model") { Description = "A model mapping, product=upstream (repeat for each)", AllowMultipleArgumentsPerToken = false };
        var priority = new Option<int?>("--priority") { Description = "Higher serves first" };
        var weight = new Option<int?>("--weight") { Description = "Share among channels of equal priority" };
        var maxConcurrent = new Option<int?>("--max-concurrent") { Description = "Tasks in flight at once on this channel" };
        var pollInterval = new Option<double?>("--poll-interval") { Description = "Seconds between checks of a task" };
        var inlineImages = new Option<bool?>("--inline-images") { Description = "Send uploaded images inline (base64)" };
        var allowPrivate = new Option<bool?>("--allow-private-networks") { Description = "Accept result links on private addresses" };
        var enable = new Option<bool>("--enable") { Description = "Take tasks (ends a drain)" };
        var disable = new Option<bool>("--disable") { Description = "Take no new tasks" };

        ChannelSettings Settings(ParseResult p, string? channelName, string? providerName) => new(
            channelName, providerName, p.GetValue(baseUrl), p.GetValue(apiKey), Models(p.GetValue(models)),
            p.GetValue(enable) ? true : p.GetValue(disable) ? false : null, p.GetValue(priority), p.GetValue(weight), p.GetValue(maxConcurrent),
            p.GetValue(pollInterval), InlineImages: p.GetValue(inlineImages), AllowPrivateNetworks: p.GetValue(allowPrivate));

        var create = new Command("create", "Add a channel")
        {
            name, provider, baseUrl, apiKey, models, priority, weight, maxConcurrent, pollInterval, inlineImages, allowPrivate, enable, disable,
        };
        create.SetAction((p, ct) => run(p, ct, async a => await a.CreateAsync(Settings(p, p.GetValue(name), p.GetValue(provider)), ct)));
        channels.Subcommands.Add(create);

        var update = new Command("update", "Change a stored channel's settings, its API key included")
        {
            name, baseUrl, apiKey, models, priority, weight, maxConcurrent, pollInterval, inlineImages, allowPrivate, enable, disable,
        };
        update.Validators.Add(r =>
        {
            if (r.GetValue(enable) && r.GetValue(disable)) r.AddError("--enable and --disable cannot be used together");
        });
        update.SetAction((p, ct) => run(p, ct, async a => await a.UpdateAsync(p.GetValue(name)!, Settings(p, null, null), ct)));
        channels.Subcommands.Add(update);

        var test = new Command("test", "Prove the channel's credentials and model mapping with a cheap upstream call") { name };
        test.SetAction((p, ct) => run(p, ct, async a => await a.TestAsync(p.GetValue(name)!, ct)));
        channels.Subcommands.Add(test);

        var drain = new Command("drain", "Take no new tasks, keep tracking those in flight (update --enable resumes)") { name };
        drain.SetAction((p, ct) => run(p, ct, async a => await a.DrainAsync(p.GetValue(name)!, ct)));
        channels.Subcommands.Add(drain);

        var delete = new Command("delete", "Remove a stored channel without tasks in flight") { name };
        delete.SetAction((p, ct) => run(p, ct, async a => await a.DeleteAsync(p.GetValue(name)!, ct)));
        channels.Subcommands.Add(delete);

        var reencrypt = new Command("reencrypt", "Encrypt every stored API key again with Seedance:SecretsKey (after rotating it)");
        reencrypt.SetAction((p, ct) => run(p, ct, async a => await a.ResealAsync(ct)));
        channels.Subcommands.Add(reencrypt);
        return channels;
    }

    /// <summary><c>seedance-2.0=doubao-seedance-2-0-260128</c> pairs; none given: the mapping is left as it is.</summary>
    private static Dictionary<string, string>? Models(string[]? pairs) =>
        pairs is not { Length: > 0 } ? null : pairs.Select(p => p.Split('=', 2)).ToDictionary(p => p[0].Trim(), p => p.Length == 2 ? p[1].Trim() : "");
}
