namespace Seedance.Server.Infrastructure;

/// <summary>
/// One upstream account of the operator: <c>Seedance:Channels:N:...</c>. With no channels configured the
/// server runs one channel of <c>Seedance:Provider</c> (the sandbox by default).
/// </summary>
public sealed class ChannelOptions
{
    public string Name { get; set; } = "";
    /// <summary><c>sandbox</c>, <c>ark</c> (Volcengine Ark / BytePlus ModelArk) or <c>relay</c> (a server speaking this API).</summary>
    public string Provider { get; set; } = "";
    /// <summary>Ark: <c>https://ark.cn-beijing.volces.com/api/v3</c> or <c>https://ark.ap-southeast.bytepluses.com/api/v3</c>; relay: the server's base URL.</summary>
    public string? BaseUrl { get; set; }
    /// <summary>Ark API key, or the relay's <c>X-API-Key</c>.</summary>
    public string? ApiKey { get; set; }
    /// <summary>This product's model names to the upstream's: <c>Models:seedance-2.0=doubao-seedance-2-0-260128</c>. A model not mapped is not sent here.</summary>
    public Dictionary<string, string> Models { get; set; } = new();
    public int MaxConcurrent { get; set; } = 100;
    /// <summary>Off: the channel takes no new tasks, and keeps tracking the ones it has.</summary>
    public bool Enabled { get; set; } = true;
    /// <summary>On: the channel takes no new tasks and keeps tracking the ones it has, on its way out (set by the admin API's drain).</summary>
    public bool Draining { get; set; }
    public int Weight { get; set; } = 1;
    /// <summary>Higher serves first; equals share by weight.</summary>
    public int Priority { get; set; }
    /// <summary>How often each task is checked at the upstream (Ark asks for no tighter than 5 s).</summary>
    public double PollIntervalSeconds { get; set; } = 5;
    /// <summary>Checks in flight at once on this channel.</summary>
    public int MaxParallelPolls { get; set; } = 32;
    public double TimeoutSeconds { get; set; } = 30;
    /// <summary>Ark: send uploaded images inline as base64 data URIs, for a server the upstream cannot reach. Videos always go as links.</summary>
    public bool InlineImages { get; set; }
    /// <summary>
    /// Result links and presigned upload addresses this channel's upstream hands out may point to loopback or
    /// private addresses (an upstream on the operator's own network). Off: such links are refused.
    /// </summary>
    public bool AllowPrivateNetworks { get; set; }
    /// <summary>Consecutive failures that take the channel out of rotation, and for how long.</summary>
    public int FailuresBeforeCooldown { get; set; } = 3;
    public double CooldownSeconds { get; set; } = 60;
    /// <summary>
    /// What the upstream charges per million usage tokens, in credits (the operator's unit): reconciliation's estimated
    /// cost of the upstream's tasks and the margin over what was charged for them. Unset, no cost is estimated.
    /// </summary>
    public decimal? CostPerMillionTokens { get; set; }

    public static readonly string[] ProviderNames = ["sandbox", "ark", "relay"];

    /// <summary>
    /// What is wrong with these settings, each as the setting's name and the rule it breaks; the configuration's
    /// validation and the admin API word them each in their own names.
    /// </summary>
    public IEnumerable<(string Setting, string Rule)> Problems()
    {
        if (!ProviderNames.Contains(Provider)) yield return (nameof(Provider), "must be sandbox, ark or relay");
        if (Provider is "ark" or "relay")
        {
            if (!Uri.TryCreate(BaseUrl, UriKind.Absolute, out var b) || b.Scheme is not ("http" or "https"))
                yield return (nameof(BaseUrl), "must be an absolute http or https URL");
            if (string.IsNullOrWhiteSpace(ApiKey)) yield return (nameof(ApiKey), "is required");
            if (Provider == "ark" && Models.Count == 0) yield return (nameof(Models), "must map at least one model (e.g. seedance-2.0 to doubao-seedance-2-0-260128)");
        }
        if (Models.Any(m => string.IsNullOrWhiteSpace(m.Key) || string.IsNullOrWhiteSpace(m.Value))) yield return (nameof(Models), "must not map an empty name");
        if (MaxConcurrent < 1) yield return (nameof(MaxConcurrent), "must be at least 1");
        if (Weight < 1) yield return (nameof(Weight), "must be at least 1");
        if (PollIntervalSeconds <= 0) yield return (nameof(PollIntervalSeconds), "must be positive");
        if (MaxParallelPolls < 1) yield return (nameof(MaxParallelPolls), "must be at least 1");
        if (TimeoutSeconds <= 0) yield return (nameof(TimeoutSeconds), "must be positive");
        if (FailuresBeforeCooldown < 1) yield return (nameof(FailuresBeforeCooldown), "must be at least 1");
        if (CooldownSeconds < 0) yield return (nameof(CooldownSeconds), "must be 0 or more");
        if (CostPerMillionTokens is < 0 or > 1_000_000) yield return (nameof(CostPerMillionTokens), "must be 0-1000000");
        else if (CostPerMillionTokens is { } cost && !Credits.HasAtMostTwoDecimals(cost)) yield return (nameof(CostPerMillionTokens), "must have at most two decimals");
    }

    /// <summary>Whether the channel takes new tasks at all (it may still be cooling down or full).</summary>
    public bool TakesTasks => Enabled && !Draining;

    public ChannelOptions Copy()
    {
        var copy = (ChannelOptions)MemberwiseClone();
        copy.Models = new Dictionary<string, string>(Models);
        return copy;
    }

    /// <summary>The upstream's name for a model, or null when this channel does not serve it. Sandbox and relay serve every model by its own name unless mapped.</summary>
    public string? UpstreamModel(string model) => Models.TryGetValue(model, out var mapped) ? mapped : Provider is "ark" ? null : model;
}
