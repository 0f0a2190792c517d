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

    /// <summary>True when the upstream cancelled the task; false when it refuses (a running task on Ark).</summary>
    Task<bool> CancelAsync(string providerTaskId, CancellationToken ct);

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

/// <summary>Why an upstream call failed: whether the user is at fault decides whether the task fails or waits.</summary>
public sealed class ProviderException(bool userFault, string code, string message) : Exception(message)
{
    /// <summary>The request itself is refused (moderation, invalid input): the task fails, uncharged.</summary>
    public bool UserFault { get; } = userFault;
    /// <summary>The public error code the task fails with when <see cref="UserFault"/>.</summary>
    public string Code { get; } = code;

    public static ProviderException Refused(string code, string message) => new(true, code, message);
    public static ProviderException Transient(string message) => new(false, "SERVICE_BUSY", message);
}

public sealed class ProviderRegistry(IEnumerable<IVideoProvider> providers)
{
    private readonly Dictionary<string, IVideoProvider> _byName = providers.ToDictionary(p => p.Name);

    public IVideoProvider Get(string name) =>
        _byName.TryGetValue(name, out var provider) ? provider : throw new InvalidOperationException($"No provider named '{name}'");
}
