namespace Seedance.Server.Callbacks;

/// <summary>The one place the callback sender gets its HTTP client: no redirects followed, one timeout per attempt.</summary>
public static class WebhookHttp
{
    // The SSRF-safe client (SafeHttp) replaces this line when it lands; allowPrivateNetworks is its switch.
    public static HttpClient CreateClient(bool allowPrivateNetworks, TimeSpan timeout) =>
        new(new SocketsHttpHandler { AllowAutoRedirect = false, PooledConnectionLifetime = TimeSpan.FromMinutes(5) }) { Timeout = timeout };
}
