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
    /// <summary>Consecutive failures that take the channel out of rotation, and for how long.</summary>
    /// <summary>
    /// Result links and presigned upload addresses this channel's upstream hands out may point to loopback or
    /// private addresses (an upstream on the operator's own network). Off: such links are refused.
    /// </summary>
    public bool AllowPrivateNetworks { get; set; }
    public int FailuresBeforeCooldown { get; set; } = 3;
    public double CooldownSeconds { get; set; } = 60;

    /// <summary>The upstream's name for a model, or null when this channel does not serve it. Sandbox and relay serve every model by its own name unless mapped.</summary>
    public string? UpstreamModel(string model) => Models.TryGetValue(model, out var mapped) ? mapped : Provider is "ark" ? null : model;
}
