namespace Seedance.Client;

/// <summary>
/// Settings of <see cref="SeedanceClient"/> and <see cref="SeedanceAdminClient"/>. Bound from the
/// <c>Seedance</c> configuration section by <c>AddSeedanceClient</c> (<c>Seedance:ApiKey</c>, <c>Seedance:BaseUrl</c>, ...).
/// </summary>
public sealed class SeedanceClientOptions
{
    /// <summary>The configuration section <c>AddSeedanceClient</c> reads.</summary>
    public const string Section = "Seedance";

    /// <summary>The public service, used when no base URL is given.</summary>
    public static readonly Uri DefaultBaseUrl = new("https://api.seedance2.movie");

    /// <summary>The API key (<c>X-API-Key</c>) for <see cref="SeedanceClient"/>.</summary>
    public string? ApiKey { get; set; }

    /// <summary>The admin token (<c>Authorization: Bearer</c>) for <see cref="SeedanceAdminClient"/>.</summary>
    public string? AdminToken { get; set; }

    /// <summary>The server's base URL.</summary>
    public Uri BaseUrl { get; set; } = DefaultBaseUrl;

    /// <summary>How often a transient failure (connection error, 408, 429, 5xx) is retried; 0 turns retries off.</summary>
    public int MaxRetries { get; set; } = 3;

    /// <summary>The first retry's delay, doubling (with jitter) after it; a <c>Retry-After</c> from the server takes precedence.</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The time allowed for one API call (uploads, downloads and waits have no such limit: cancel them with a token).</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(100);

    /// <summary>
    /// The interval between status checks when the server offers no live status (the document advises 5-10 s).
    /// Against this project's server, waiting uses its event stream and long-poll instead.
    /// </summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Whether waiting uses the server's live status (event stream, then long-poll) before plain polling.</summary>
    public bool UseLiveStatus { get; set; } = true;

    internal void Validate()
    {
        if (BaseUrl is null || !BaseUrl.IsAbsoluteUri || BaseUrl.Scheme is not ("http" or "https"))
            throw new ArgumentException("Seedance:BaseUrl must be an absolute http or https URL", nameof(BaseUrl));
        if (MaxRetries < 0) throw new ArgumentException("Seedance:MaxRetries must be 0 or more", nameof(MaxRetries));
        if (RetryDelay <= TimeSpan.Zero) throw new ArgumentException("Seedance:RetryDelay must be positive", nameof(RetryDelay));
        if (RequestTimeout <= TimeSpan.Zero) throw new ArgumentException("Seedance:RequestTimeout must be positive", nameof(RequestTimeout));
        if (PollInterval <= TimeSpan.Zero) throw new ArgumentException("Seedance:PollInterval must be positive", nameof(PollInterval));
    }
}
