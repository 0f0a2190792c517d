using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Seedance.Client.Http;

namespace Seedance.Client;

/// <summary>
/// The operator's admin API (<c>/admin/v1</c>, <c>Authorization: Bearer &lt;admin token&gt;</c>): API keys and
/// their credits. Errors and retries as in <see cref="SeedanceClient"/>.
/// </summary>
public sealed class SeedanceAdminClient : IDisposable
{
    private readonly HttpClient? _owned;
    private readonly ApiTransport _transport;

    /// <summary>An admin client for the given server and token.</summary>
    public SeedanceAdminClient(string adminToken, Uri baseUrl) : this(new SeedanceClientOptions { AdminToken = adminToken, BaseUrl = baseUrl }) { }

    /// <summary>An admin client with the given settings (<see cref="SeedanceClientOptions.AdminToken"/> required).</summary>
    public SeedanceAdminClient(SeedanceClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (string.IsNullOrWhiteSpace(options.AdminToken)) throw new ArgumentException("An admin token is required (Seedance:AdminToken)", nameof(options));
        var header = new AuthenticationHeaderValue("Bearer", options.AdminToken);
        _owned = SeedanceClient.OwnedHttpClient(options);
        _transport = new ApiTransport(_owned, options, request => request.Headers.Authorization = header);
    }

    /// <summary>Creates an API key; the result holds the key itself, shown this once.</summary>
    public Task<CreatedApiKey> CreateKeyAsync(NewApiKey key, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (string.IsNullOrWhiteSpace(key.Name)) throw SeedanceException.MissingParameter("name");
        if (key.Credits < 0) throw SeedanceException.InvalidParameter("credits must be 0 or more");
        var body = new JsonObject { ["name"] = key.Name, ["credits"] = key.Credits };
        if (key.MaxConcurrent is { } concurrent) body["max_concurrent"] = concurrent;
        if (key.MaxPending is { } pending) body["max_pending"] = pending;
        if (key.RateLimitPerSecond is { } rate) body["rate_limit_per_second"] = rate;
        if (key.PricePlan is { } plan) body["price_plan"] = plan;
        if (key.DailyCreditLimit is { } daily) body["daily_credit_limit"] = daily;
        if (key.MonthlyCreditLimit is { } monthly) body["monthly_credit_limit"] = monthly;
        if (key.ResultRetentionDays is { } days) body["result_retention_days"] = days;
        return _transport.SendAsync<CreatedApiKey>(HttpMethod.Post, "admin/v1/keys", body, cancellationToken);
    }

    /// <summary>Every API key.</summary>
    public Task<IReadOnlyList<ApiKeyInfo>> ListKeysAsync(CancellationToken cancellationToken = default) =>
        _transport.SendAsync<IReadOnlyList<ApiKeyInfo>>(HttpMethod.Get, "admin/v1/keys", null, cancellationToken);

    /// <summary>One API key (<c>KEY_NOT_FOUND</c> when there is none).</summary>
    public Task<ApiKeyInfo> GetKeyAsync(long keyId, CancellationToken cancellationToken = default) =>
        _transport.SendAsync<ApiKeyInfo>(HttpMethod.Get, $"admin/v1/keys/{Id(keyId)}", null, cancellationToken);

    /// <summary>Changes a key: enables or disables it (a disabled key stops working within a second), renames it, changes its limits.</summary>
    public Task<ApiKeyInfo> UpdateKeyAsync(long keyId, ApiKeyChange change, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(change);
        var body = new JsonObject();
        if (change.Name is { } name) body["name"] = name;
        if (change.Enabled is { } enabled) body["enabled"] = enabled;
        if (change.MaxConcurrent is { } concurrent) body["max_concurrent"] = concurrent;
        if (change.MaxPending is { } pending) body["max_pending"] = pending;
        if (change.RateLimitPerSecond is { } rate) body["rate_limit_per_second"] = rate;
        if (change.PricePlan is { } plan) body["price_plan"] = plan;
        if (change.DailyCreditLimit is { } daily) body["daily_credit_limit"] = daily;
        if (change.MonthlyCreditLimit is { } monthly) body["monthly_credit_limit"] = monthly;
        if (change.ResultRetentionDays is { } days) body["result_retention_days"] = days;
        return _transport.SendAsync<ApiKeyInfo>(HttpMethod.Patch, $"admin/v1/keys/{Id(keyId)}", body, cancellationToken);
    }

    /// <summary>Adds credits to a key (a negative amount adjusts down, never below what is used and reserved).</summary>
    public Task<ApiKeyInfo> AddCreditsAsync(long keyId, decimal amount, string? note = null, CancellationToken cancellationToken = default)
    {
        if (amount == 0) throw SeedanceException.InvalidParameter("amount must not be 0");
        var body = new JsonObject { ["amount"] = amount };
        if (note is not null) body["note"] = note;
        return _transport.SendAsync<ApiKeyInfo>(HttpMethod.Post, $"admin/v1/keys/{Id(keyId)}/credits", body, cancellationToken);
    }

    /// <summary>Every upstream channel, configured and stored, with its state and health.</summary>
    public Task<IReadOnlyList<ChannelInfo>> ListChannelsAsync(CancellationToken cancellationToken = default) =>
        _transport.SendAsync<IReadOnlyList<ChannelInfo>>(HttpMethod.Get, "admin/v1/channels", null, cancellationToken);

    /// <summary>One upstream channel (<c>CHANNEL_NOT_FOUND</c> when there is none).</summary>
    public Task<ChannelInfo> GetChannelAsync(string name, CancellationToken cancellationToken = default) =>
        _transport.SendAsync<ChannelInfo>(HttpMethod.Get, Channel(name), null, cancellationToken);

    /// <summary>Adds an upstream channel; it serves at once. Its API key is stored encrypted and never shown again.</summary>
    public Task<ChannelInfo> CreateChannelAsync(NewChannel channel, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(channel);
        if (string.IsNullOrWhiteSpace(channel.Name)) throw SeedanceException.MissingParameter("name");
        if (string.IsNullOrWhiteSpace(channel.Provider)) throw SeedanceException.MissingParameter("provider");
        var body = ChannelBody(channel.BaseUrl, channel.ApiKey, channel.Models, channel.Enabled, channel.Priority, channel.Weight, channel.MaxConcurrent,
            channel.PollIntervalSeconds, channel.InlineImages, channel.AllowPrivateNetworks);
        body["name"] = channel.Name;
        body["provider"] = channel.Provider;
        return _transport.SendAsync<ChannelInfo>(HttpMethod.Post, "admin/v1/channels", body, cancellationToken);
    }

    /// <summary>Changes a stored channel (its API key included); tasks in flight keep their channel. <c>Enabled = true</c> ends a drain.</summary>
    public Task<ChannelInfo> UpdateChannelAsync(string name, ChannelChange change, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(change);
        return _transport.SendAsync<ChannelInfo>(HttpMethod.Patch, Channel(name), ChannelBody(change.BaseUrl, change.ApiKey, change.Models, change.Enabled,
            change.Priority, change.Weight, change.MaxConcurrent, change.PollIntervalSeconds, change.InlineImages, change.AllowPrivateNetworks), cancellationToken);
    }

    /// <summary>Proves the channel's credentials and model mapping with a cheap upstream call (<c>CHANNEL_TEST_FAILED</c> saying why otherwise).</summary>
    public Task<ChannelTestResult> TestChannelAsync(string name, CancellationToken cancellationToken = default) =>
        _transport.SendAsync<ChannelTestResult>(HttpMethod.Post, Channel(name) + "/test", null, cancellationToken);

    /// <summary>The channel takes no new tasks and keeps tracking those it has.</summary>
    public Task<ChannelInfo> DrainChannelAsync(string name, CancellationToken cancellationToken = default) =>
        _transport.SendAsync<ChannelInfo>(HttpMethod.Post, Channel(name) + "/drain", null, cancellationToken);

    /// <summary>Removes a stored channel (<c>CHANNEL_IN_USE</c> while it has tasks in flight).</summary>
    public Task<ChannelInfo> DeleteChannelAsync(string name, CancellationToken cancellationToken = default) =>
        _transport.SendAsync<ChannelInfo>(HttpMethod.Delete, Channel(name), null, cancellationToken);

    /// <summary>Releases the client's connections.</summary>
    public void Dispose() => _owned?.Dispose();

    private static string Id(long keyId) => keyId.ToString(CultureInfo.InvariantCulture);

    private static string Channel(string name) =>
        string.IsNullOrWhiteSpace(name) ? throw SeedanceException.MissingParameter("name") : "admin/v1/channels/" + Uri.EscapeDataString(name);

    private static JsonObject ChannelBody(string? baseUrl, string? apiKey, IReadOnlyDictionary<string, string>? models, bool? enabled, int? priority,
        int? weight, int? maxConcurrent, double? pollIntervalSeconds, bool? inlineImages, bool? allowPrivateNetworks)
    {
        var body = new JsonObject();
        if (baseUrl is not null) body["base_url"] = baseUrl;
        if (apiKey is not null) body["api_key"] = apiKey;
        if (models is not null) body["models"] = new JsonObject(models.Select(m => KeyValuePair.Create(m.Key, (JsonNode?)m.Value)));
        if (enabled is { } e) body["enabled"] = e;
        if (priority is { } p) body["priority"] = p;
        if (weight is { } w) body["weight"] = w;
        if (maxConcurrent is { } c) body["max_concurrent"] = c;
        if (pollIntervalSeconds is { } i) body["poll_interval_seconds"] = i;
        if (inlineImages is { } inline) body["inline_images"] = inline;
        if (allowPrivateNetworks is { } allow) body["allow_private_networks"] = allow;
        return body;
    }
}

/// <summary>A key to create.</summary>
/// <param name="Name">The customer or key name.</param>
/// <param name="Credits">Initial credits.</param>
/// <param name="MaxConcurrent">Tasks queued or processing at once (server default 5).</param>
/// <param name="MaxPending">Tasks waiting as pending beyond that (server default 100).</param>
/// <param name="RateLimitPerSecond">Requests per second (server default 20).</param>
/// <param name="PricePlan">A price plan the server's operator configured (server default: none, the list prices).</param>
/// <param name="DailyCreditLimit">Credits the key may spend per UTC day (null or 0: no limit).</param>
/// <param name="MonthlyCreditLimit">Credits the key may spend per UTC month (null or 0: no limit).</param>
/// <param name="ResultRetentionDays">Days a finished task's files are kept (null or 0: the server's setting).</param>
public sealed record NewApiKey(string Name, decimal Credits = 0, int? MaxConcurrent = null, int? MaxPending = null, int? RateLimitPerSecond = null,
    string? PricePlan = null, decimal? DailyCreditLimit = null, decimal? MonthlyCreditLimit = null, int? ResultRetentionDays = null);

/// <summary>A change to a key; null fields stay as they are.</summary>
/// <param name="Name">A new name.</param>
/// <param name="Enabled">Enable or disable the key.</param>
/// <param name="MaxConcurrent">A new concurrency limit.</param>
/// <param name="MaxPending">A new backlog limit.</param>
/// <param name="RateLimitPerSecond">A new request rate.</param>
/// <param name="PricePlan">A new price plan; an empty string takes the key back to the list prices.</param>
/// <param name="DailyCreditLimit">A new daily spending limit; 0 removes it.</param>
/// <param name="MonthlyCreditLimit">A new monthly spending limit; 0 removes it.</param>
/// <param name="ResultRetentionDays">A new result retention in days; 0 takes the key back to the server's setting.</param>
public sealed record ApiKeyChange(string? Name = null, bool? Enabled = null, int? MaxConcurrent = null, int? MaxPending = null, int? RateLimitPerSecond = null,
    string? PricePlan = null, decimal? DailyCreditLimit = null, decimal? MonthlyCreditLimit = null, int? ResultRetentionDays = null);

/// <summary>A created key: the plaintext <paramref name="ApiKey"/> appears here once and nowhere else.</summary>
/// <param name="ApiKey">The key to hand to the customer (<c>sk-sd2-...</c>).</param>
/// <param name="Key">The key's record.</param>
public sealed record CreatedApiKey(string ApiKey, ApiKeyInfo Key);

/// <summary>An API key as the operator sees it (never the key itself).</summary>
/// <param name="KeyId">The numeric id.</param>
/// <param name="Name">The name.</param>
/// <param name="KeyPrefix">The first characters of the key, to recognise it.</param>
/// <param name="Enabled">Whether the key works.</param>
/// <param name="TotalCredits">Credits ever granted.</param>
/// <param name="UsedCredits">Credits spent.</param>
/// <param name="ReservedCredits">Credits held by running tasks.</param>
/// <param name="RemainCredits">Credits available.</param>
/// <param name="MaxConcurrent">Concurrency limit.</param>
/// <param name="MaxPending">Backlog limit.</param>
/// <param name="RateLimitPerSecond">Requests per second.</param>
/// <param name="CreatedAt">When it was created.</param>
/// <param name="UpdatedAt">When it last changed.</param>
/// <param name="PricePlan">The key's price plan, or null for the list prices.</param>
/// <param name="DailyCreditLimit">The daily spending limit, or null for none.</param>
/// <param name="MonthlyCreditLimit">The monthly spending limit, or null for none.</param>
/// <param name="DailyUsed">Credits reserved or used by tasks submitted today (UTC).</param>
/// <param name="MonthlyUsed">Credits reserved or used by tasks submitted this month (UTC).</param>
/// <param name="ResultRetentionDays">Days a finished task's files are kept, or null for the server's setting.</param>
public sealed record ApiKeyInfo(
    long KeyId, string Name, string KeyPrefix, bool Enabled, decimal TotalCredits, decimal UsedCredits, decimal ReservedCredits,
    decimal RemainCredits, int MaxConcurrent, int MaxPending, int RateLimitPerSecond, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt,
    string? PricePlan = null, decimal? DailyCreditLimit = null, decimal? MonthlyCreditLimit = null, decimal? DailyUsed = null, decimal? MonthlyUsed = null,
    int? ResultRetentionDays = null);
