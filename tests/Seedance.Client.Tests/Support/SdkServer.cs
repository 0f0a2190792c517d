using Seedance.Client;

namespace Seedance.Client.Tests.Support;

/// <summary>One real server (sandbox provider, real ffmpeg) for a test class; each test makes its own key.</summary>
public sealed class SdkServer : IAsyncLifetime
{
    public RunningServer Server { get; private set; } = null!;

    // The SDK and the command line show the poster: this server makes them, as a server does by default.
    public async Task InitializeAsync() => Server = await RunningServer.StartAsync(new() { ["Seedance:Tasks:Thumbnails"] = "true" });

    public async Task DisposeAsync() => await Server.DisposeAsync();

    /// <summary>A new key on the server and an SDK client carrying it.</summary>
    public async Task<(SeedanceClient Client, ApiClient Api)> NewClientAsync(decimal credits = 1000m, int? maxConcurrent = null, int? maxPending = null,
        int? rateLimit = null, Action<SeedanceClientOptions>? configure = null)
    {
        var api = await Server.CreateKeyAsync(credits, maxConcurrent, maxPending, rateLimit);
        return (Client(api.ApiKey, Server.BaseUrl, configure), api);
    }

    public static SeedanceClient Client(string apiKey, string baseUrl, Action<SeedanceClientOptions>? configure = null)
    {
        var options = new SeedanceClientOptions { ApiKey = apiKey, BaseUrl = new Uri(baseUrl), RetryDelay = TimeSpan.FromMilliseconds(200) };
        configure?.Invoke(options);
        return new SeedanceClient(options);
    }
}

/// <summary>An <see cref="IProgress{T}"/> that runs its callback on the reporting thread, in order.</summary>
public sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
