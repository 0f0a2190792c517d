using Microsoft.Extensions.Options;
using Seedance.Server.Infrastructure;
using Seedance.Server.Providers;
using Seedance.Server.Providers.Ark;
using Seedance.Server.Providers.Relay;
using Seedance.Server.Providers.Sandbox;
using Seedance.Server.Storage;

namespace Seedance.Server.Channels;

/// <summary>
/// The operator's channels. Dispatch takes the highest-priority channel that serves the model, is not
/// cooling down and has a free slot, choosing by weight among equals.
/// </summary>
public sealed class ChannelPool
{
    private readonly Dictionary<string, UpstreamChannel> _byName;

    public ChannelPool(IOptions<SeedanceOptions> options, IServiceProvider services)
    {
        All = options.Value.EffectiveChannels.Select(c => new UpstreamChannel(c, Create(c, services))).ToList();
        _byName = All.ToDictionary(c => c.Name);
    }

    public IReadOnlyList<UpstreamChannel> All { get; }

    public UpstreamChannel? Find(string name) => _byName.GetValueOrDefault(name);

    public UpstreamChannel Get(string name) =>
        _byName.TryGetValue(name, out var channel) ? channel : throw new InvalidOperationException($"No channel named '{name}' is configured");

    /// <summary>Where a task of <paramref name="model"/> goes now, or null when no channel can take it.</summary>
    public UpstreamChannel? Pick(string model, IReadOnlyDictionary<string, int> inFlight, IReadOnlySet<string> excluded, DateTime now)
    {
        var open = All.Where(c => !excluded.Contains(c.Name) && c.Options.UpstreamModel(model) is not null && !c.IsCoolingDown(now)
                                  && inFlight.GetValueOrDefault(c.Name) < c.Options.MaxConcurrent).ToList();
        if (open.Count == 0) return null;
        var best = open.Max(c => c.Options.Priority);
        var equals = open.Where(c => c.Options.Priority == best).ToList();
        var ticket = Random.Shared.Next(equals.Sum(c => c.Options.Weight));
        foreach (var channel in equals)
        {
            ticket -= channel.Options.Weight;
            if (ticket < 0) return channel;
        }
        return equals[^1];
    }

    private static IVideoProvider Create(ChannelOptions channel, IServiceProvider services) => channel.Provider switch
    {
        "sandbox" => services.GetRequiredService<SandboxProvider>(),
        "ark" => new ArkProvider(channel, UpstreamHttp.CreateClient(channel), UpstreamHttp.CreateLinkClient(channel),
            services.GetRequiredService<FileStore>(), services.GetRequiredService<PublicLinks>()),
        "relay" => new RelayProvider(channel, UpstreamHttp.CreateClient(channel), UpstreamHttp.CreateLinkClient(channel), services.GetRequiredService<FileStore>()),
        _ => throw new InvalidOperationException($"Unknown provider '{channel.Provider}' for channel '{channel.Name}'"),
    };
}
