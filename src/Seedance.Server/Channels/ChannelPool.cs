using System.Collections.Concurrent;
using System.Security.Cryptography;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Seedance.Server.Data;
using Seedance.Server.Infrastructure;
using Seedance.Server.Providers;
using Seedance.Server.Providers.Ark;
using Seedance.Server.Providers.Relay;
using Seedance.Server.Providers.Sandbox;
using Seedance.Server.Storage;

namespace Seedance.Server.Channels;

/// <summary>
/// The operator's channels: those of the configuration and those stored in the database, which <see cref="ReloadAsync"/>
/// reads again after a change (made here, or seen by <see cref="ChannelRefresher"/>). Dispatch takes the highest-priority
/// channel that serves the model, takes tasks, is not cooling down and has a free slot, choosing by weight among equals.
/// With neither configured nor stored channels, the one channel of <c>Seedance:Provider</c> (the sandbox) serves.
/// </summary>
public sealed class ChannelPool
{
    private readonly IReadOnlyList<ChannelOptions> _configured;
    private readonly ChannelOptions? _fallback;
    private readonly IServiceProvider _services;
    private readonly TimeProvider _clock;
    private readonly ILogger<ChannelPool> _logger;
    private readonly ConcurrentDictionary<string, ChannelHealth> _health = new();
    private readonly SemaphoreSlim _reloading = new(1, 1);
    private volatile Snapshot _snapshot;

    private sealed record Snapshot(IReadOnlyList<UpstreamChannel> All, IReadOnlyDictionary<string, UpstreamChannel> ByName, IReadOnlyDictionary<string, long> Stored);

    public ChannelPool(IOptions<SeedanceOptions> options, IServiceProvider services, TimeProvider clock, ILogger<ChannelPool> logger)
    {
        _configured = options.Value.Channels;
        _fallback = _configured.Count == 0 ? options.Value.EffectiveChannels[0] : null;
        (_services, _clock, _logger) = (services, clock, logger);
        _snapshot = Build([], null);
    }

    public IReadOnlyList<UpstreamChannel> All => _snapshot.All;

    public UpstreamChannel? Find(string name) => _snapshot.ByName.GetValueOrDefault(name);

    public UpstreamChannel Get(string name) => Find(name) ?? throw new InvalidOperationException($"No channel named '{name}' is configured");

    /// <summary>Whether a configured channel has this name (it cannot be stored too).</summary>
    public bool IsConfigured(string name) => _configured.Any(c => c.Name == name);

    /// <summary>Whether some channel that takes tasks serves <paramref name="model"/> (it may be full or cooling down: the task waits).</summary>
    public bool Serves(string model)
    {
        foreach (var channel in _snapshot.All)
            if (channel.Options.TakesTasks && channel.Options.UpstreamModel(model) is not null) return true;
        return false;
    }

    /// <summary>Where a task of <paramref name="model"/> goes now, or null when no channel can take it.</summary>
    public UpstreamChannel? Pick(string model, IReadOnlyDictionary<string, int> inFlight, IReadOnlySet<string> excluded, DateTime now)
    {
        var open = All.Where(c => c.Options.TakesTasks && !excluded.Contains(c.Name) && c.Options.UpstreamModel(model) is not null && !c.IsCoolingDown(now)
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

    /// <summary>Reads the stored channels again if any was added, changed or removed since the last read; true when it did.</summary>
    public async Task<bool> RefreshAsync(CancellationToken ct)
    {
        await using var scope = _services.CreateAsyncScope();
        var versions = await scope.ServiceProvider.GetRequiredService<SeedanceDb>().Channels.AsNoTracking()
            .Select(c => new { c.Name, c.Version }).ToDictionaryAsync(c => c.Name, c => c.Version, ct);
        var known = _snapshot.Stored;
        if (versions.Count == known.Count && versions.All(v => known.GetValueOrDefault(v.Key) == v.Value)) return false;
        await ReloadAsync(ct);
        return true;
    }

    /// <summary>Reads the stored channels and runs them from now on; a channel whose settings did not change keeps its provider.</summary>
    public async Task ReloadAsync(CancellationToken ct)
    {
        await _reloading.WaitAsync(ct);
        try
        {
            await using var scope = _services.CreateAsyncScope();
            var stored = await scope.ServiceProvider.GetRequiredService<SeedanceDb>().Channels.AsNoTracking().OrderBy(c => c.Name).ToListAsync(ct);
            _snapshot = Build(stored, _snapshot);
        }
        finally { _reloading.Release(); }
    }

    private Snapshot Build(IReadOnlyList<StoredChannel> stored, Snapshot? previous)
    {
        var all = _configured.Select(c => Reuse(previous, c.Name, ChannelSource.Configuration, 0) ?? Create(c, ChannelSource.Configuration, 0)).ToList();
        foreach (var row in stored)
        {
            if (IsConfigured(row.Name))
            {
                _logger.LogWarning("Stored channel {Channel} has the name of a configured one: the configured one serves", row.Name);
                continue;
            }
            all.Add(Reuse(previous, row.Name, ChannelSource.Database, row.Version) ?? Open(row));
        }
        if (_fallback is not null && stored.Count == 0) all.Add(Reuse(previous, _fallback.Name, ChannelSource.Configuration, 0) ?? Create(_fallback, ChannelSource.Configuration, 0));
        return new Snapshot(all, all.ToDictionary(c => c.Name), stored.ToDictionary(c => c.Name, c => c.Version));
    }

    private static UpstreamChannel? Reuse(Snapshot? previous, string name, ChannelSource source, long version) =>
        previous?.ByName.GetValueOrDefault(name) is { } known && known.Source == source && known.Version == version ? known : null;

    private UpstreamChannel Open(StoredChannel row)
    {
        try
        {
            return Create(row.ToOptions(_services.GetRequiredService<SecretBox>()), ChannelSource.Database, row.Version);
        }
        catch (CryptographicException e)
        {
            // Never the key itself: only why it cannot be opened.
            _logger.LogError("The API key of channel {Channel} cannot be opened on this node ({Why}); the channel takes no tasks here", row.Name, e.Message);
            var options = new ChannelOptions { Name = row.Name, Provider = row.Provider, BaseUrl = row.BaseUrl, Enabled = row.Enabled, Draining = row.Draining };
            var health = _health.GetOrAdd(row.Name, _ => new ChannelHealth());
            health.RecordFailure($"The API key cannot be opened: {e.Message}", _clock.GetUtcNow().UtcDateTime, options);
            return new UpstreamChannel(options, new UnavailableProvider(row.Name, e.Message), health, ChannelSource.Database, row.Version);
        }
    }

    private UpstreamChannel Create(ChannelOptions options, ChannelSource source, long version)
    {
        var health = _health.GetOrAdd(options.Name, _ => new ChannelHealth());
        var measured = new MeasuredProvider(CreateProvider(options, _services), health, _clock, options.Name, _services.GetRequiredService<SeedanceMetrics>());
        return new UpstreamChannel(options, measured, health, source, version);
    }

    /// <summary>The provider of a channel's settings, as the pool runs it (also for a test of settings not stored yet).</summary>
    public static IVideoProvider CreateProvider(ChannelOptions channel, IServiceProvider services)
    {
        var limits = services.GetRequiredService<IOptions<SeedanceOptions>>().Value.Upstream;
        return channel.Provider switch
        {
            "sandbox" => services.GetRequiredService<SandboxProvider>(),
            "ark" => new ArkProvider(channel, UpstreamHttp.CreateClient(channel, limits), UpstreamHttp.CreateLinkClient(channel, limits),
                services.GetRequiredService<FileStore>(), services.GetRequiredService<PublicLinks>(), limits),
            "relay" => new RelayProvider(channel, UpstreamHttp.CreateClient(channel, limits), UpstreamHttp.CreateLinkClient(channel, limits),
                services.GetRequiredService<FileStore>(), limits),
            _ => throw new InvalidOperationException($"Unknown provider '{channel.Provider}' for channel '{channel.Name}'"),
        };
    }
}
