namespace Seedance.Server.Providers;

/// <summary>
/// A host of the model. The dispatcher and tracker speak only this interface, so the sandbox, Ark and
/// relay providers plug in side by side.
/// </summary>
public interface IVideoProvider
{
    string Name { get; }

    /// <summary>Hands a task to the upstream; returns the upstream's id. Throws <see cref="ProviderException"/>.</summary>
    Task<string> SubmitAsync(ProviderRequest request, CancellationToken ct);

    Task<ProviderTaskState> GetAsync(string providerTaskId, CancellationToken ct);

    /// <summary>How many tasks one <see cref="GetManyAsync"/> checks; 1: the upstream has no batch read, each task is a <see cref="GetAsync"/>.</summary>
    int BatchSize => 1;

    /// <summary>
    /// The states of up to <see cref="BatchSize"/> tasks in one request. A task the upstream does not return is absent
    /// (the caller asks for it alone). Throws <see cref="ProviderException"/> as <see cref="GetAsync"/> does.
    /// </summary>
    Task<IReadOnlyDictionary<string, ProviderTaskState>> GetManyAsync(IReadOnlyList<string> providerTaskIds, CancellationToken ct) =>
        throw new NotSupportedException($"{Name} has no batch read");

    /// <summary>True when the upstream cancelled the task; false when it refuses (a running task on Ark).</summary>
    Task<bool> CancelAsync(string providerTaskId, CancellationToken ct);

    /// <summary>
    /// A cheap authenticated call that proves the credentials and the model mapping without creating a task; throws
    /// <see cref="ProviderException"/> saying what is wrong. Nothing to prove for a provider without an upstream.
    /// </summary>
    Task CheckAsync(CancellationToken ct) => Task.CompletedTask;

    /// <summary>Copies a result link of this provider's (video or last frame) into <paramref name="destination"/>.</summary>
    Task DownloadAsync(string url, Stream destination, CancellationToken ct);
}

public sealed record ProviderRequest(
    string TaskId, string Model, IReadOnlyList<ProviderContent> Content, string Resolution, string Ratio, int Duration,
    bool GenerateAudio, long? Seed, bool Watermark, bool ReturnLastFrame, TimeSpan ExpiresAfter);

/// <summary>A content item as the provider sees it: text, an uploaded file of this server's store, or a URL.</summary>
public sealed record ProviderContent(string Type, string? Text, string? Url, string? StorePath, string? ContentType, string? Role);

public enum ProviderState { Queued, Running, Succeeded, Failed, Cancelled, Expired }

public sealed record ProviderTaskState(
    ProviderState State, string? VideoUrl = null, string? LastFrameUrl = null, long? Seed = null, int? Duration = null,
    string? ErrorCode = null, string? ErrorMessage = null);

public enum ProviderFault
{
    /// <summary>The request itself is refused (moderation, invalid input): the task fails, uncharged, on any channel.</summary>
    User,
    /// <summary>The upstream is rate limiting or out of quota: the task stays pending and is retried later.</summary>
    RateLimited,
    /// <summary>The channel is at fault (credentials, configuration, 5xx, timeout): another channel may serve.</summary>
    Channel,
}

/// <summary>Why an upstream call failed: whose fault it is decides whether the task fails, waits or moves on.</summary>
public sealed class ProviderException(ProviderFault fault, string code, string message, Exception? inner = null) : Exception(message, inner)
{
    public ProviderFault Fault { get; } = fault;
    public bool UserFault => Fault == ProviderFault.User;
    /// <summary>The public error code the task fails with when <see cref="UserFault"/>.</summary>
    public string Code { get; } = code;

    public static ProviderException Refused(string code, string message) => new(ProviderFault.User, code, message);
    /// <summary>The upstream failed (5xx, timeout, unreachable): if no channel takes the task in the end, it fails with TASK_SUBMIT_FAILED.</summary>
    public static ProviderException Transient(string message, Exception? inner = null) => new(ProviderFault.Channel, "TASK_SUBMIT_FAILED", message, inner);
    /// <summary>The operator's account or configuration is at fault (credentials, model, overdue): the user hears SERVICE_BUSY.</summary>
    public static ProviderException Misconfigured(string message) => new(ProviderFault.Channel, "SERVICE_BUSY", message);
    public static ProviderException RateLimited(string message) => new(ProviderFault.RateLimited, "SERVICE_BUSY", message);
}
