using System.Text.Json;
using Seedance.Server.Infrastructure;

namespace Seedance.Server.Data;

/// <summary>
/// A channel the operator manages at runtime (the admin API, the <c>channels</c> commands), beside those of the
/// configuration. Its upstream API key is kept only sealed (<see cref="SecretBox"/>), with a prefix to recognise it.
/// </summary>
public sealed class StoredChannel
{
    public required string Name { get; set; }
    public required string Provider { get; set; }
    public string? BaseUrl { get; set; }
    /// <summary>The upstream API key, sealed with <c>Seedance:SecretsKey</c> and the channel's name.</summary>
    public string? ApiKeySealed { get; set; }
    public string? ApiKeyPrefix { get; set; }
    /// <summary>This product's model names to the upstream's, as a JSON object.</summary>
    public string ModelsJson { get; set; } = "{}";
    public bool Enabled { get; set; } = true;
    public bool Draining { get; set; }
    public int Priority { get; set; }
    public int Weight { get; set; }
    public int MaxConcurrent { get; set; }
    public double PollIntervalSeconds { get; set; }
    public int MaxParallelPolls { get; set; }
    public double TimeoutSeconds { get; set; }
    public bool InlineImages { get; set; }
    public bool AllowPrivateNetworks { get; set; }
    public int FailuresBeforeCooldown { get; set; }
    public double CooldownSeconds { get; set; }
    /// <summary>What the upstream charges per million usage tokens, in credits (reconciliation's estimated cost); null when not set.</summary>
    public decimal? CostPerMillionTokens { get; set; }
    /// <summary>Counts the changes: the nodes reload a channel whose version moved, and an edit is guarded by the version it read.</summary>
    public long Version { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime UpdatedAt { get; set; }

    /// <summary>The settings as the pool runs them, the key opened (without <paramref name="secrets"/>, left out).</summary>
    public ChannelOptions ToOptions(SecretBox? secrets) => new()
    {
        Name = Name, Provider = Provider, BaseUrl = BaseUrl, ApiKey = ApiKeySealed is null || secrets is null ? null : secrets.Open(ApiKeySealed, Name),
        Models = JsonSerializer.Deserialize<Dictionary<string, string>>(ModelsJson) ?? [], Enabled = Enabled, Draining = Draining,
        Priority = Priority, Weight = Weight, MaxConcurrent = MaxConcurrent, PollIntervalSeconds = PollIntervalSeconds,
        MaxParallelPolls = MaxParallelPolls, TimeoutSeconds = TimeoutSeconds, InlineImages = InlineImages,
        AllowPrivateNetworks = AllowPrivateNetworks, FailuresBeforeCooldown = FailuresBeforeCooldown, CooldownSeconds = CooldownSeconds,
        CostPerMillionTokens = CostPerMillionTokens,
    };

    /// <summary>Takes <paramref name="options"/>' settings, sealing the key when it is not the one already kept.</summary>
    internal void Apply(ChannelOptions options, SecretBox secrets)
    {
        Provider = options.Provider;
        BaseUrl = options.BaseUrl;
        if (options.ApiKey is not { Length: > 0 } key) (ApiKeySealed, ApiKeyPrefix) = (null, null);
        else if (!Holds(secrets, key)) (ApiKeySealed, ApiKeyPrefix) = (secrets.Seal(key, Name), PrefixOf(key));
        ModelsJson = JsonSerializer.Serialize(options.Models);
        Enabled = options.Enabled;
        Draining = options.Draining;
        Priority = options.Priority;
        Weight = options.Weight;
        MaxConcurrent = options.MaxConcurrent;
        PollIntervalSeconds = options.PollIntervalSeconds;
        MaxParallelPolls = options.MaxParallelPolls;
        TimeoutSeconds = options.TimeoutSeconds;
        InlineImages = options.InlineImages;
        AllowPrivateNetworks = options.AllowPrivateNetworks;
        FailuresBeforeCooldown = options.FailuresBeforeCooldown;
        CooldownSeconds = options.CooldownSeconds;
        CostPerMillionTokens = options.CostPerMillionTokens;
    }

    private bool Holds(SecretBox secrets, string key)
    {
        try { return ApiKeySealed is not null && secrets.Open(ApiKeySealed, Name) == key; }
        catch (System.Security.Cryptography.CryptographicException) { return false; }
    }

    /// <summary>Enough of a key for an operator to recognise it, and never more than a quarter of it.</summary>
    public static string? PrefixOf(string? key) => key is { Length: > 0 } ? key[..Math.Min(8, key.Length / 4)] + "..." : null;
}
