using Seedance.Server.Providers;

namespace Seedance.Server.Channels;

/// <summary>A stored channel this node cannot run (its key cannot be opened here): every call fails as the operator's fault, saying why.</summary>
public sealed class UnavailableProvider(string name, string why) : IVideoProvider
{
    public string Name => name;
    public Task<string> SubmitAsync(ProviderRequest request, CancellationToken ct) => throw Fault();
    public Task<ProviderTaskState> GetAsync(string providerTaskId, CancellationToken ct) => throw Fault();
    public Task<bool> CancelAsync(string providerTaskId, CancellationToken ct) => throw Fault();
    public Task CheckAsync(CancellationToken ct) => throw Fault();
    public Task DownloadAsync(string url, Stream destination, CancellationToken ct) => throw Fault();

    private ProviderException Fault() => ProviderException.Misconfigured($"Channel {name} cannot run on this node: {why}");
}
