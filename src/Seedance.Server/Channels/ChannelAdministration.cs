using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Seedance.Server.Data;
using Seedance.Server.Infrastructure;
using Seedance.Server.Providers;

namespace Seedance.Server.Channels;

/// <summary>A channel's settings as the admin API takes them: on creation, name and provider are required; on a change, absent leaves a setting as it is.</summary>
public sealed record ChannelSettings(
    string? Name = null, string? Provider = null, string? BaseUrl = null, string? ApiKey = null, Dictionary<string, string>? Models = null,
    bool? Enabled = null, int? Priority = null, int? Weight = null, int? MaxConcurrent = null, double? PollIntervalSeconds = null,
    int? MaxParallelPolls = null, double? TimeoutSeconds = null, bool? InlineImages = null, bool? AllowPrivateNetworks = null,
    int? FailuresBeforeCooldown = null, double? CooldownSeconds = null, decimal? CostPerMillionTokens = null);

/// <param name="Source"><c>configuration</c> (read-only here) or <c>database</c>.</param>
/// <param name="ApiKeyPrefix">The first characters of the upstream key; the key itself is never shown.</param>
/// <param name="State"><c>active</c>, <c>cooling_down</c>, <c>draining</c> or <c>disabled</c>.</param>
/// <param name="SuccessRate">Of the upstream calls this node made on the channel in the last hour, the share answered (0-1); null without calls.</param>
public sealed record ChannelView(
    string Name, string Source, bool ReadOnly, string Provider, string? BaseUrl, string? ApiKeyPrefix, IReadOnlyDictionary<string, string> Models,
    bool Enabled, bool Draining, int Priority, int Weight, int MaxConcurrent, double PollIntervalSeconds, int MaxParallelPolls, double TimeoutSeconds,
    bool InlineImages, bool AllowPrivateNetworks, int FailuresBeforeCooldown, double CooldownSeconds, decimal? CostPerMillionTokens,
    string State, int InFlight, int CallsLastHour, double? SuccessRate, double? AverageLatencyMs, ChannelError? LastError,
    DateTime? CooldownUntil, int ConsecutiveFailures, IReadOnlyList<ChannelError> RecentErrors, DateTime? CreatedAt, DateTime? UpdatedAt);

public sealed record ChannelTest(string Name, double LatencyMs, string Message);

public sealed record ChannelsResealed(int Resealed);

/// <summary>What an operator does with channels; served by the admin API and by the command line alike.</summary>
public sealed partial class ChannelAdministration(SeedanceDb db, ChannelStore store, SecretBox secrets, SqlDialect dialect, IOptions<SeedanceOptions> options,
    TimeProvider clock, IServiceProvider services)
{
    private const int EditAttempts = 5;
    private static readonly TimeSpan TestTimeout = TimeSpan.FromSeconds(30);

    /// <summary>The server's running channels (their health); the command line has none.</summary>
    private ChannelPool? Pool => services.GetService<ChannelPool>();

    public async Task<IReadOnlyList<ChannelView>> ListAsync(CancellationToken ct)
    {
        var stored = await db.Channels.AsNoTracking().OrderBy(c => c.Name).ToListAsync(ct);
        var inFlight = await db.Tasks.AsNoTracking()
            .Where(t => VideoTaskStatus.Active.Contains(t.Status) && t.ChannelName != null)
            .GroupBy(t => t.ChannelName!).Select(g => new { Channel = g.Key, Count = g.Count() })
            .ToDictionaryAsync(g => g.Channel, g => g.Count, ct);
        var configured = options.Value.Channels.Count > 0 || stored.Count == 0 ? options.Value.EffectiveChannels : [];
        return configured.Select(c => View(c, null, inFlight.GetValueOrDefault(c.Name)))
            .Concat(stored.Where(s => configured.All(c => c.Name != s.Name)).Select(s => View(s.ToOptions(null), s, inFlight.GetValueOrDefault(s.Name))))
            .ToList();
    }

    public async Task<ChannelView> GetAsync(string name, CancellationToken ct) =>
        (await ListAsync(ct)).FirstOrDefault(c => c.Name == name) ?? throw ApiError.ChannelNotFound(name);

    public async Task<ChannelView> CreateAsync(ChannelSettings request, CancellationToken ct)
    {
        var name = request.Name?.Trim();
        if (string.IsNullOrEmpty(name)) throw ApiError.MissingParameter("name");
        if (!ChannelName().IsMatch(name)) throw ApiError.InvalidParameter("name must be 1-64 letters, digits, '.', '-' or '_', starting with a letter or digit");
        if (string.IsNullOrEmpty(request.Provider)) throw ApiError.MissingParameter("provider");
        if (options.Value.Channels.Any(c => c.Name == name)) throw ApiError.InvalidParameter($"name '{name}' is taken by a channel of the configuration (Seedance:Channels)");
        var channel = Merge(new ChannelOptions { Name = name, Provider = request.Provider }, request);
        Check(channel, request);
        if (!await store.CreateAsync(channel, clock.GetUtcNow().UtcDateTime, ct)) throw ApiError.InvalidParameter($"name '{name}' is taken by another channel");
        return await ChangedAsync(name, ct);
    }

    public async Task<ChannelView> UpdateAsync(string name, ChannelSettings change, CancellationToken ct)
    {
        if (change.Name is not null && change.Name != name) throw ApiError.InvalidParameter("name cannot be changed: create a channel of the new name");
        return await EditAsync(name, current =>
        {
            if (change.Provider is not null && change.Provider != current.Provider)
                throw ApiError.InvalidParameter("provider cannot be changed: create a channel for the other provider");
            var changed = Merge(current, change);
            if (change.Enabled is not null) changed.Draining = false; // enabled again (or disabled) ends a drain
            Check(changed, change);
            return changed;
        }, ct);
    }

    /// <summary>The channel takes no new tasks and keeps tracking the ones it has; <c>enabled: true</c> takes it back.</summary>
    public Task<ChannelView> DrainAsync(string name, CancellationToken ct) => EditAsync(name, current =>
    {
        var changed = current.Copy();
        changed.Draining = true;
        return changed;
    }, ct);

    public async Task<ChannelView> DeleteAsync(string name, CancellationToken ct)
    {
        var view = await GetAsync(name, ct);
        RefuseConfigured(view);
        switch (await store.RemoveAsync(name, ct))
        {
            case ChannelRemoval.NotFound: throw ApiError.ChannelNotFound(name);
            case ChannelRemoval.InUse:
                throw ApiError.ChannelInUse(name, await db.Tasks.AsNoTracking().CountAsync(t => t.ChannelName == name && VideoTaskStatus.Active.Contains(t.Status), ct));
        }
        if (Pool is { } pool) await pool.ReloadAsync(ct);
        return view;
    }

    /// <summary>A cheap authenticated call to the upstream with the channel's settings, as they are stored now.</summary>
    public async Task<ChannelTest> TestAsync(string name, CancellationToken ct)
    {
        var stored = await db.Channels.AsNoTracking().FirstOrDefaultAsync(c => c.Name == name, ct);
        var channel = options.Value.EffectiveChannels.FirstOrDefault(c => c.Name == name) ?? (stored is null ? null : OptionsOf(stored))
            ?? throw ApiError.ChannelNotFound(name);
        if (channel.Provider == "sandbox") return new ChannelTest(name, 0, "The sandbox renders locally: nothing to prove");
        var started = Stopwatch.GetTimestamp();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TestTimeout);
        // Its own HTTP clients, let go of once the check is done (the sandbox, a shared service, answered above).
        var provider = ChannelPool.CreateProvider(channel, services);
        using var owned = provider as IDisposable;
        try
        {
            await provider.CheckAsync(timeout.Token);
        }
        catch (ProviderException e)
        {
            throw ApiError.ChannelTestFailed(name, e.Message);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw ApiError.ChannelTestFailed(name, $"the upstream did not answer within {TestTimeout.TotalSeconds:0} s");
        }
        var took = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        return new ChannelTest(name, Math.Round(took, 1),
            $"The upstream accepted the credentials and knows {string.Join(", ", channel.Models.Values.Distinct())}");
    }

    /// <summary>Seals every stored key with the current <c>Seedance:SecretsKey</c> (after a rotation, before the previous key is dropped).</summary>
    public async Task<ChannelsResealed> ResealAsync(CancellationToken ct)
    {
        var resealed = await store.ResealAsync(clock.GetUtcNow().UtcDateTime, ct);
        if (Pool is { } pool) await pool.ReloadAsync(ct);
        return new ChannelsResealed(resealed);
    }

    /// <summary>Reads the stored channel, applies <paramref name="change"/> and stores it if nobody changed it meanwhile (else reads it again).</summary>
    private async Task<ChannelView> EditAsync(string name, Func<ChannelOptions, ChannelOptions> change, CancellationToken ct)
    {
        for (var attempt = 0; attempt < EditAttempts; attempt++)
        {
            RefuseConfigured(await GetAsync(name, ct));
            var stored = await db.Channels.AsNoTracking().FirstOrDefaultAsync(c => c.Name == name, ct) ?? throw ApiError.ChannelNotFound(name);
            if (await store.UpdateAsync(change(OptionsOf(stored)), stored.Version, clock.GetUtcNow().UtcDateTime, ct)) return await ChangedAsync(name, ct);
        }
        throw ApiError.ServiceBusy();
    }

    /// <summary>After a change: this node runs it at once (the others within a second), and the operator sees it.</summary>
    private async Task<ChannelView> ChangedAsync(string name, CancellationToken ct)
    {
        if (Pool is { } pool) await pool.ReloadAsync(ct);
        return await GetAsync(name, ct);
    }

    private static void RefuseConfigured(ChannelView view)
    {
        if (view.ReadOnly) throw ApiError.InvalidParameter($"channel '{view.Name}' comes from the configuration (Seedance:Channels) and is read-only here");
    }

    private ChannelOptions OptionsOf(StoredChannel stored)
    {
        try { return stored.ToOptions(secrets); }
        catch (System.Security.Cryptography.CryptographicException e)
        {
            throw ApiError.InvalidParameter($"api_key of channel '{stored.Name}' cannot be opened here ({e.Message}): set it again");
        }
    }

    private static ChannelOptions Merge(ChannelOptions current, ChannelSettings change)
    {
        var c = current.Copy();
        c.BaseUrl = change.BaseUrl ?? c.BaseUrl;
        c.ApiKey = change.ApiKey ?? c.ApiKey;
        c.Models = change.Models is { } models ? new Dictionary<string, string>(models) : c.Models;
        c.Enabled = change.Enabled ?? c.Enabled;
        c.Priority = change.Priority ?? c.Priority;
        c.Weight = change.Weight ?? c.Weight;
        c.MaxConcurrent = change.MaxConcurrent ?? c.MaxConcurrent;
        c.PollIntervalSeconds = change.PollIntervalSeconds ?? c.PollIntervalSeconds;
        c.MaxParallelPolls = change.MaxParallelPolls ?? c.MaxParallelPolls;
        c.TimeoutSeconds = change.TimeoutSeconds ?? c.TimeoutSeconds;
        c.InlineImages = change.InlineImages ?? c.InlineImages;
        c.AllowPrivateNetworks = change.AllowPrivateNetworks ?? c.AllowPrivateNetworks;
        c.FailuresBeforeCooldown = change.FailuresBeforeCooldown ?? c.FailuresBeforeCooldown;
        c.CooldownSeconds = change.CooldownSeconds ?? c.CooldownSeconds;
        c.CostPerMillionTokens = change.CostPerMillionTokens ?? c.CostPerMillionTokens;
        return c;
    }

    /// <summary>Refuses settings the configuration's validation would refuse, naming the field; and a key this database could not share.</summary>
    private void Check(ChannelOptions channel, ChannelSettings request)
    {
        foreach (var (setting, rule) in channel.Problems())
            throw ApiError.InvalidParameter($"{JsonNamingPolicy.SnakeCaseLower.ConvertName(setting)} {rule}");
        if (channel.Provider == "ark" && !channel.InlineImages && string.IsNullOrEmpty(options.Value.PublicBaseUrl) && !options.Value.Storage.IsS3)
            throw ApiError.InvalidParameter("inline_images must be true when the upstream cannot fetch uploads (set Seedance:PublicBaseUrl or S3 storage otherwise)");
        if (request.ApiKey is not null && !dialect.ServesOneNode && !secrets.IsConfigured)
            throw ApiError.InvalidParameter("api_key cannot be stored until Seedance:SecretsKey is set (base64 of 32 bytes), the same on every node of this database");
    }

    private ChannelView View(ChannelOptions c, StoredChannel? stored, int inFlight)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        var running = Pool?.Find(c.Name);
        var health = running?.Health.Report(now);
        var state = !c.Enabled ? "disabled" : c.Draining ? "draining" : health?.CooldownUntil is not null ? "cooling_down" : "active";
        return new ChannelView(c.Name, stored is null ? "configuration" : "database", stored is null, c.Provider, c.BaseUrl,
            stored is null ? StoredChannel.PrefixOf(c.ApiKey) : stored.ApiKeyPrefix, c.Models, c.Enabled, c.Draining, c.Priority, c.Weight,
            c.MaxConcurrent, c.PollIntervalSeconds, c.MaxParallelPolls, c.TimeoutSeconds, c.InlineImages, c.AllowPrivateNetworks,
            c.FailuresBeforeCooldown, c.CooldownSeconds, c.CostPerMillionTokens, state, inFlight, health?.CallsLastHour ?? 0, health?.SuccessRate, health?.AverageLatencyMs,
            health?.RecentErrors.FirstOrDefault(), health?.CooldownUntil, health?.ConsecutiveFailures ?? 0, health?.RecentErrors ?? [],
            stored?.CreatedAt, stored?.UpdatedAt);
    }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
    private static partial Regex ChannelName();
}
