using Microsoft.Extensions.Options;

namespace Seedance.Server.Infrastructure;

/// <summary>Everything under the <c>Seedance</c> configuration section (environment: <c>Seedance__...</c>).</summary>
public sealed class SeedanceOptions
{
    public const string Section = "Seedance";

    public string DataDir { get; set; } = "./data";
    public string? AdminToken { get; set; }
    /// <summary>Base of the links this server hands out (presigned uploads, results); default: the request's own.</summary>
    public string? PublicBaseUrl { get; set; }
    public string Provider { get; set; } = "sandbox";
    public DatabaseOptions Database { get; set; } = new();
    public StorageOptions Storage { get; set; } = new();
    /// <summary>A Redis connection string (StackExchange.Redis form, e.g. <c>redis:6379,password=...</c>): shares the per-key rate limit across nodes.</summary>
    public string? Redis { get; set; }
    /// <summary>
    /// Base64 of at least 32 random bytes: the key that signs this server's own links (upstream callbacks,
    /// local file links). Several nodes must share one; unset, each generates its own into the data directory.
    /// </summary>
    public string? SigningKey { get; set; }
    /// <summary>
    /// Base64 of 32 random bytes: seals the upstream API keys of the channels stored in the database (AES-256-GCM).
    /// Several nodes must share one; unset, a single node generates its own into the data directory. To rotate it, set
    /// the new one here, the old one in <see cref="PreviousSecretsKeys"/>, run <c>channels reencrypt</c>, then drop the old one.
    /// </summary>
    public string? SecretsKey { get; set; }
    /// <summary>Earlier values of <see cref="SecretsKey"/>: they still open what they sealed, and seal nothing new.</summary>
    public List<string> PreviousSecretsKeys { get; set; } = [];
    /// <summary>Prefix of this deployment's Redis keys, so several deployments can share one Redis.</summary>
    public string RedisKeyPrefix { get; set; } = "seedance";
    public KeyDefaults Keys { get; set; } = new();
    public TaskOptions Tasks { get; set; } = new();
    public AuthOptions Auth { get; set; } = new();
    /// <summary>
    /// Proxies (addresses, or networks as <c>172.16.0.0/12</c>) whose <c>X-Forwarded-For</c> and <c>X-Forwarded-Proto</c>
    /// are believed: the client's address (failed-authentication throttling) and scheme (links) are then the forwarded ones.
    /// </summary>
    public string[] TrustedProxies { get; set; } = [];
    public SandboxOptions Sandbox { get; set; } = new();
    public UpstreamOptions Upstream { get; set; } = new();
    public CallbackOptions Callbacks { get; set; } = new();
    public NodeOptions Node { get; set; } = new();
    public MetricsOptions Metrics { get; set; } = new();
    public TracingOptions Tracing { get; set; } = new();
    public RetentionOptions Retention { get; set; } = new();
    public ReconciliationOptions Reconciliation { get; set; } = new();
    /// <summary>The operator's sample catalogue, referenced by <c>sample_id</c> content items.</summary>
    public Dictionary<string, SampleOptions> Samples { get; set; } = new();
    /// <summary>The catalogue: the document's models with these settings laid over them, and the operator's own; see <see cref="ModelOptions"/>.</summary>
    public Dictionary<string, ModelOptions> Models { get; set; } = new();
    /// <summary>Price plans, by name, that keys may be given; see <see cref="PricePlanOptions"/>.</summary>
    public Dictionary<string, PricePlanOptions> PricePlans { get; set; } = new();
    /// <summary>The model of a submission that names none (the document's <c>seedance-2.0</c>).</summary>
    public string DefaultModel { get; set; } = "seedance-2.0";
    /// <summary>The operator's upstream accounts; see <see cref="ChannelOptions"/>.</summary>
    public List<ChannelOptions> Channels { get; set; } = [];

    /// <summary>The configured channels, or the one channel of <see cref="Provider"/> when none are.</summary>
    public IReadOnlyList<ChannelOptions> EffectiveChannels => Channels.Count > 0 ? Channels :
    [
        new ChannelOptions { Name = Provider, Provider = Provider, MaxConcurrent = int.MaxValue, PollIntervalSeconds = Tasks.PollIntervalSeconds },
    ];

    public string DataPath => Path.GetFullPath(DataDir);

    /// <summary>
    /// <c>Seedance:Database:ConnectionString</c>, else the standard <c>ConnectionStrings:Seedance</c>
    /// (environment: <c>ConnectionStrings__Seedance</c>).
    /// </summary>
    public static string? ConnectionString(IConfiguration configuration, SeedanceOptions options) =>
        options.Database.ConnectionString is { Length: > 0 } set ? set : configuration.GetConnectionString("Seedance");

    /// <summary>Binds the section; a value of the wrong type is refused like any invalid setting, naming its key.</summary>
    public static SeedanceOptions From(IConfiguration configuration)
    {
        try
        {
            var options = configuration.GetSection(Section).Get<SeedanceOptions>() ?? new SeedanceOptions();
            options.Database.ConnectionString = ConnectionString(configuration, options);
            return options;
        }
        catch (InvalidOperationException e)
        {
            throw new OptionsValidationException(Section, typeof(SeedanceOptions), [e.Message]);
        }
    }
}

public sealed class DatabaseOptions
{
    /// <summary><c>sqlite</c> (default) or <c>postgres</c>.</summary>
    public string Provider { get; set; } = "sqlite";
    /// <summary>For PostgreSQL (or <c>ConnectionStrings:Seedance</c>); SQLite lives in the data directory unless set.</summary>
    public string? ConnectionString { get; set; }
    /// <summary>
    /// <c>full</c> (default): a commit reaches the disk before it is answered, so an accepted task and its reservation
    /// survive a power cut. <c>normal</c>: they survive a crash of the server, but the last commits can be lost with
    /// the machine (SQLite <c>synchronous=NORMAL</c> in WAL; PostgreSQL <c>synchronous_commit=off</c>).
    /// </summary>
    public string Synchronous { get; set; } = "full";

    public bool Durable => Synchronous == "full";
}

public sealed class AuthOptions
{
    /// <summary>Failed authentications from one client address in a minute before it is refused for the rest of that minute.</summary>
    public int FailuresPerMinute { get; set; } = 60;

    /// <summary>Sign-ins to the web console from one client address in a minute, whether they succeed or not.</summary>
    public int ConsoleSignInsPerMinute { get; set; } = 10;
}

public sealed class KeyDefaults
{
    public int MaxConcurrent { get; set; } = 5;
    public int MaxPending { get; set; } = 100;
    public int RateLimitPerSecond { get; set; } = 20;
    /// <summary>Long-polls (<c>?wait=</c>) and event streams a key may hold open at once on one node; more are refused with 429.</summary>
    public int MaxOpenWatches { get; set; } = 100;
}

public sealed class TaskOptions
{
    public double TimeToLiveHours { get; set; } = 48;
    public double DispatchIntervalSeconds { get; set; } = 0.2;
    /// <summary>Off: tasks are accepted and wait as <c>pending</c>; this node hands none over (another node may, or this one after a restart).</summary>
    public bool Dispatch { get; set; } = true;
    /// <summary>How often the tracker looks for checks that are due (each channel sets how often a task is checked).</summary>
    public double PollIntervalSeconds { get; set; } = 0.25;
    public int ResultLinkDays { get; set; } = 7;
    /// <summary>
    /// Whether a completed task gets a poster (<c>thumbnail_url</c>). On: one ffmpeg run per completion, about 0.3 CPU-seconds
    /// on a small machine, mostly ffmpeg starting; an operator who shows no posters may turn it off.
    /// </summary>
    public bool Thumbnails { get; set; } = true;
    /// <summary>Days a finished task's result files are kept (a key may have its own); then housekeeping removes them.</summary>
    public int ResultRetentionDays { get; set; } = 7;
    public int UploadUrlSeconds { get; set; } = 3600;
    /// <summary>Hand-over attempts before a task the upstream keeps refusing fails with TASK_SUBMIT_FAILED.</summary>
    public int MaxSubmitAttempts { get; set; } = 8;
}

/// <summary>This server among several sharing one database: who it is, and how long its claims on work last.</summary>
public sealed class NodeOptions
{
    /// <summary>Names this node in the leases it holds; default the host name and a random suffix. Two live nodes must never share one.</summary>
    public string? Id { get; set; }
    /// <summary>How long a claim on a task or a callback lasts without a heartbeat: a node that dies loses its work to the others after this.</summary>
    public double LeaseSeconds { get; set; } = 30;
}

/// <summary>The Prometheus scrape endpoint, <c>GET /metrics</c>.</summary>
public sealed class MetricsOptions
{
    /// <summary>Off: no endpoint and no instruments are collected.</summary>
    public bool Enabled { get; set; } = true;
    /// <summary>
    /// A port of its own for <c>/metrics</c>, without authentication, for an internal network (nothing else is served
    /// there). Unset: <c>/metrics</c> is served with the API and needs the admin token as a bearer token.
    /// </summary>
    public int? Port { get; set; }
}

/// <summary>Traces of each task's life, exported over OTLP.</summary>
public sealed class TracingOptions
{
    /// <summary>
    /// On: spans are made and exported. Unset: on exactly when an OTLP endpoint is configured (the standard
    /// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> or <c>OTEL_EXPORTER_OTLP_TRACES_ENDPOINT</c>), so nothing is traced by default.
    /// </summary>
    public bool? Enabled { get; set; }
}

/// <summary>
/// How long what is only bookkeeping is kept before housekeeping deletes it. The ledger and the tasks are never pruned
/// (a task's result files have their own retention, <c>Seedance:Tasks:ResultRetentionDays</c>).
/// </summary>
public sealed class RetentionOptions
{
    /// <summary>Finished callback deliveries (delivered or failed for good) and their attempts, by their creation.</summary>
    public double WebhookDays { get; set; } = 30;
    /// <summary>Idempotency-Key answers; at least the 24 h in which a retry is answered as the first time.</summary>
    public double IdempotencyHours { get; set; } = 24;
    /// <summary>Upload slots whose presigned URL expired with no file taken in, counted from the expiry.</summary>
    public double ExpiredUploadSlotHours { get; set; }
    /// <summary>The sandbox provider's finished (or cancelled) jobs under <c>{DataDir}/sandbox</c>, by their submission.</summary>
    public double SandboxJobDays { get; set; } = 7;
    /// <summary>Days the request log keeps an API request's summary.</summary>
    public int RequestLogDays { get; set; } = 7;
}

/// <summary>The daily comparison of each Ark channel's task list with this server's tasks.</summary>
public sealed class ReconciliationOptions
{
    /// <summary>The daily run cancels the upstream's orphans (tasks this server never recorded) that are still queued there.</summary>
    public bool CancelOrphans { get; set; }
}

public sealed class SandboxOptions
{
    /// <summary>How long a task waits as <c>queued</c> before it starts rendering.</summary>
    public double QueueSeconds { get; set; } = 1;
    public int MaxParallelRenders { get; set; } = 2;
    public string? FfmpegPath { get; set; }
}

/// <summary>
/// <c>Seedance:Upstream</c>: what this server accepts from every channel's upstream, so that one answering with a huge or
/// endless body costs a failed call, not the server's memory, disk or a worker held for ever.
/// </summary>
public sealed class UpstreamOptions
{
    /// <summary>The largest JSON answer (a task, a list of tasks, an error) read from an upstream; a larger one fails the call.</summary>
    public long MaxAnswerBytes { get; set; } = 4 * 1024 * 1024;
    /// <summary>The largest result file (video, last frame) copied from an upstream's link; a larger one fails the copy at once.</summary>
    public long MaxResultBytes { get; set; } = 1024L * 1024 * 1024;
    /// <summary>The time limit of one copy of a result file, body included; the copy is tried again a few times.</summary>
    public double ResultDownloadSeconds { get; set; } = 600;
}

public sealed class SampleOptions
{
    public string Prompt { get; set; } = "";
}

public sealed class CallbackOptions
{
    public bool AllowPrivateNetworks { get; set; }
    /// <summary>Off: callbacks are still recorded in the outbox but not sent (a node that should not deliver).</summary>
    public bool Deliver { get; set; } = true;
    public double TimeoutSeconds { get; set; } = 15;
    /// <summary>Callbacks in flight at once, across all receivers.</summary>
    public int MaxParallelDeliveries { get; set; } = 32;
    /// <summary>How often the outbox is looked at for deliveries that are due (a status change wakes it at once).</summary>
    public double DispatchIntervalSeconds { get; set; } = 1;
    /// <summary>How long the previous signing secret keeps signing after a rotation.</summary>
    public double SecretGraceHours { get; set; } = 24;
}

public sealed class SeedanceOptionsValidator : IValidateOptions<SeedanceOptions>
{
    public ValidateOptionsResult Validate(string? name, SeedanceOptions o)
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(o.DataDir)) errors.Add("Seedance:DataDir must not be empty");
        if (o.AdminToken is { Length: > 0 and < 16 }) errors.Add("Seedance:AdminToken must be at least 16 characters");
        if (o.PublicBaseUrl is { Length: > 0 } url && !(Uri.TryCreate(url, UriKind.Absolute, out var u) && u.Scheme is "http" or "https"))
            errors.Add("Seedance:PublicBaseUrl must be an absolute http or https URL");
        if (o.Provider is not "sandbox") errors.Add($"Seedance:Provider '{o.Provider}' is not supported (sandbox)");
        if (o.Database.Provider is not ("sqlite" or "postgres")) errors.Add("Seedance:Database:Provider must be sqlite or postgres");
        if (o.Database.Synchronous is not ("full" or "normal")) errors.Add("Seedance:Database:Synchronous must be full or normal");
        if (o.Database.Provider == "postgres" && string.IsNullOrWhiteSpace(o.Database.ConnectionString))
            errors.Add("Seedance:Database:ConnectionString (or ConnectionStrings:Seedance) is required for postgres");
        errors.AddRange(o.Storage.Validate());
        if (!string.IsNullOrEmpty(o.Redis))
        {
            try { StackExchange.Redis.ConfigurationOptions.Parse(o.Redis); }
            catch (ArgumentException) { errors.Add("Seedance:Redis is not a valid Redis connection string (host:port[,option=value...])"); }
        }
        if (o.SigningKey is { Length: > 0 } signingKey && !(IsBase64(signingKey, out var length) && length >= SecretFile.MinimumLength))
            errors.Add($"Seedance:SigningKey must be base64 of at least {SecretFile.MinimumLength} bytes");
        if (o.SecretsKey is { Length: > 0 } && !SecretBox.IsValidKey(o.SecretsKey)) errors.Add("Seedance:SecretsKey must be base64 of 32 bytes");
        for (var i = 0; i < o.PreviousSecretsKeys.Count; i++)
            if (!SecretBox.IsValidKey(o.PreviousSecretsKeys[i])) errors.Add($"Seedance:PreviousSecretsKeys:{i} must be base64 of 32 bytes");
        if (string.IsNullOrWhiteSpace(o.RedisKeyPrefix)) errors.Add("Seedance:RedisKeyPrefix must not be empty");
        if (o.Keys.MaxConcurrent < 1) errors.Add("Seedance:Keys:MaxConcurrent must be at least 1");
        if (o.Keys.MaxPending < 0) errors.Add("Seedance:Keys:MaxPending must be 0 or more");
        if (o.Keys.RateLimitPerSecond < 1) errors.Add("Seedance:Keys:RateLimitPerSecond must be at least 1");
        if (o.Keys.MaxOpenWatches < 1) errors.Add("Seedance:Keys:MaxOpenWatches must be at least 1");
        if (o.Auth.FailuresPerMinute < 1) errors.Add("Seedance:Auth:FailuresPerMinute must be at least 1");
        if (o.Auth.ConsoleSignInsPerMinute < 1) errors.Add("Seedance:Auth:ConsoleSignInsPerMinute must be at least 1");
        foreach (var proxy in o.TrustedProxies)
            if (!System.Net.IPNetwork.TryParse(proxy, out _) && !System.Net.IPAddress.TryParse(proxy, out _))
                errors.Add($"Seedance:TrustedProxies: '{proxy}' is neither an address nor a network (e.g. 10.0.0.5 or 172.16.0.0/12)");
        if (o.Tasks.TimeToLiveHours <= 0) errors.Add("Seedance:Tasks:TimeToLiveHours must be positive");
        if (o.Tasks.DispatchIntervalSeconds <= 0) errors.Add("Seedance:Tasks:DispatchIntervalSeconds must be positive");
        if (o.Tasks.PollIntervalSeconds <= 0) errors.Add("Seedance:Tasks:PollIntervalSeconds must be positive");
        if (o.Tasks.ResultLinkDays is < 1 or > 30) errors.Add("Seedance:Tasks:ResultLinkDays must be 1-30");
        if (o.Tasks.ResultRetentionDays is < 1 or > 36_500) errors.Add("Seedance:Tasks:ResultRetentionDays must be 1-36500");
        if (o.Tasks.MaxSubmitAttempts < 1) errors.Add("Seedance:Tasks:MaxSubmitAttempts must be at least 1");
        if (o.Tasks.UploadUrlSeconds is < 60 or > 604800) errors.Add("Seedance:Tasks:UploadUrlSeconds must be 60-604800");
        var names = new HashSet<string>();
        for (var i = 0; i < o.Channels.Count; i++)
        {
            var c = o.Channels[i];
            var at = $"Seedance:Channels:{i}";
            if (string.IsNullOrWhiteSpace(c.Name) || !names.Add(c.Name)) errors.Add($"{at}:Name must be set and unique");
            foreach (var (setting, rule) in c.Problems()) errors.Add($"{at}:{setting} {rule}");
            if (c.Provider == "ark" && string.IsNullOrEmpty(o.PublicBaseUrl) && !c.InlineImages && !o.Storage.IsS3)
                errors.Add($"{at}: set Seedance:PublicBaseUrl (so the upstream can fetch uploads), {at}:InlineImages=true or Seedance:Storage:Provider=s3");
        }
        if (o.Upstream.MaxAnswerBytes is < 1024 or > int.MaxValue) errors.Add("Seedance:Upstream:MaxAnswerBytes must be 1024-2147483647");
        if (o.Upstream.MaxResultBytes < 1024) errors.Add("Seedance:Upstream:MaxResultBytes must be at least 1024");
        if (o.Upstream.ResultDownloadSeconds is <= 0 or > 86_400) errors.Add("Seedance:Upstream:ResultDownloadSeconds must be more than 0 and at most 86400");
        if (o.Callbacks.TimeoutSeconds is <= 0 or > 300) errors.Add("Seedance:Callbacks:TimeoutSeconds must be more than 0 and at most 300");
        if (o.Callbacks.MaxParallelDeliveries < 1) errors.Add("Seedance:Callbacks:MaxParallelDeliveries must be at least 1");
        if (o.Callbacks.DispatchIntervalSeconds <= 0) errors.Add("Seedance:Callbacks:DispatchIntervalSeconds must be positive");
        if (o.Callbacks.SecretGraceHours < 0) errors.Add("Seedance:Callbacks:SecretGraceHours must be 0 or more");
        if (o.Node.Id is { } id && (id.Length is 0 or > 64 || id.Any(char.IsWhiteSpace)))
            errors.Add("Seedance:Node:Id must be 1-64 characters without spaces");
        if (o.Node.LeaseSeconds is < 1 or > 3600) errors.Add("Seedance:Node:LeaseSeconds must be 1-3600");
        if (o.Metrics.Port is < 1 or > 65535) errors.Add("Seedance:Metrics:Port must be 1-65535");
        if (o.Retention.WebhookDays <= 0) errors.Add("Seedance:Retention:WebhookDays must be positive");
        if (o.Retention.IdempotencyHours < 24)
            errors.Add("Seedance:Retention:IdempotencyHours must be at least 24 (an Idempotency-Key is honoured for 24 h)");
        if (o.Retention.ExpiredUploadSlotHours < 0) errors.Add("Seedance:Retention:ExpiredUploadSlotHours must be 0 or more");
        if (o.Retention.SandboxJobDays <= 0) errors.Add("Seedance:Retention:SandboxJobDays must be positive");
        if (o.Retention.RequestLogDays is < 1 or > 3650) errors.Add("Seedance:Retention:RequestLogDays must be 1-3650");
        if (o.Sandbox.QueueSeconds < 0) errors.Add("Seedance:Sandbox:QueueSeconds must be 0 or more");
        if (o.Sandbox.MaxParallelRenders < 1) errors.Add("Seedance:Sandbox:MaxParallelRenders must be at least 1");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static bool IsBase64(string value, out int length)
    {
        var buffer = new byte[value.Length];
        var ok = Convert.TryFromBase64String(value, buffer, out length);
        return ok;
    }
}
