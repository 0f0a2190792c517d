namespace Seedance.Client;

/// <summary>An upstream channel to add.</summary>
/// <param name="Name">1-64 letters, digits, '.', '-' or '_'.</param>
/// <param name="Provider"><c>ark</c> (Volcengine Ark / BytePlus ModelArk), <c>relay</c> (a server speaking this API) or <c>sandbox</c>.</param>
/// <param name="BaseUrl">The upstream's base URL (Ark: <c>https://ark.cn-beijing.volces.com/api/v3</c>).</param>
/// <param name="ApiKey">The upstream API key; stored encrypted, never shown again.</param>
/// <param name="Models">This product's model names to the upstream's (<c>seedance-2.0</c> to <c>doubao-seedance-2-0-260128</c>).</param>
/// <param name="Enabled">Whether it takes tasks (server default true).</param>
/// <param name="Priority">Higher serves first (server default 0).</param>
/// <param name="Weight">Share among channels of equal priority (server default 1).</param>
/// <param name="MaxConcurrent">Tasks in flight at once (server default 100).</param>
/// <param name="PollIntervalSeconds">Seconds between checks of a task (server default 5).</param>
/// <param name="InlineImages">Send uploaded images inline as base64.</param>
/// <param name="AllowPrivateNetworks">Accept the upstream's links to private addresses.</param>
public sealed record NewChannel(string Name, string Provider, string? BaseUrl = null, string? ApiKey = null, IReadOnlyDictionary<string, string>? Models = null,
    bool? Enabled = null, int? Priority = null, int? Weight = null, int? MaxConcurrent = null, double? PollIntervalSeconds = null, bool? InlineImages = null,
    bool? AllowPrivateNetworks = null);

/// <summary>A change to a stored channel; null fields stay as they are.</summary>
/// <param name="BaseUrl">A new base URL.</param>
/// <param name="ApiKey">A new upstream API key (a rotation: the next request uses it).</param>
/// <param name="Models">A new model mapping, replacing the old one.</param>
/// <param name="Enabled">Take tasks again (ends a drain), or no new ones.</param>
/// <param name="Priority">A new priority.</param>
/// <param name="Weight">A new weight.</param>
/// <param name="MaxConcurrent">A new limit of tasks in flight.</param>
/// <param name="PollIntervalSeconds">A new poll interval.</param>
/// <param name="InlineImages">Send uploaded images inline, or as links.</param>
/// <param name="AllowPrivateNetworks">Accept links to private addresses, or not.</param>
public sealed record ChannelChange(string? BaseUrl = null, string? ApiKey = null, IReadOnlyDictionary<string, string>? Models = null, bool? Enabled = null,
    int? Priority = null, int? Weight = null, int? MaxConcurrent = null, double? PollIntervalSeconds = null, bool? InlineImages = null,
    bool? AllowPrivateNetworks = null);

/// <summary>An upstream channel as the operator sees it (never its API key).</summary>
/// <param name="Name">The name.</param>
/// <param name="Source"><c>configuration</c> (read-only through the API) or <c>database</c>.</param>
/// <param name="Provider">ark, relay or sandbox.</param>
/// <param name="BaseUrl">The upstream's base URL.</param>
/// <param name="ApiKeyPrefix">The first characters of the upstream key.</param>
/// <param name="Models">The model mapping.</param>
/// <param name="Enabled">Whether it takes tasks.</param>
/// <param name="Draining">Whether it is being drained (no new tasks, those in flight tracked).</param>
/// <param name="Priority">Its priority.</param>
/// <param name="Weight">Its weight.</param>
/// <param name="MaxConcurrent">Its limit of tasks in flight.</param>
/// <param name="State"><c>active</c>, <c>cooling_down</c>, <c>draining</c> or <c>disabled</c>.</param>
/// <param name="InFlight">Its tasks queued or processing.</param>
/// <param name="CallsLastHour">Upstream calls the answering node made on it in the last hour.</param>
/// <param name="SuccessRate">The share of them the upstream answered (0-1), or null without calls.</param>
/// <param name="AverageLatencyMs">Their mean duration in milliseconds, or null without calls.</param>
/// <param name="LastError">The last failure seen, or null.</param>
public sealed record ChannelInfo(string Name, string Source, string Provider, string? BaseUrl, string? ApiKeyPrefix, IReadOnlyDictionary<string, string> Models,
    bool Enabled, bool Draining, int Priority, int Weight, int MaxConcurrent, string State, int InFlight, int CallsLastHour, double? SuccessRate,
    double? AverageLatencyMs, ChannelError? LastError);

/// <summary>A failure of a channel.</summary>
/// <param name="At">When.</param>
/// <param name="Error">What happened.</param>
public sealed record ChannelError(DateTimeOffset At, string Error);

/// <summary>The upstream accepted the channel's credentials and model mapping.</summary>
/// <param name="Name">The channel.</param>
/// <param name="LatencyMs">How long the upstream took.</param>
/// <param name="Message">What was proven.</param>
public sealed record ChannelTestResult(string Name, double LatencyMs, string Message);
