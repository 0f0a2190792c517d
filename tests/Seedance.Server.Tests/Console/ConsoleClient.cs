using System.Net;
using System.Text.RegularExpressions;

namespace Seedance.Server.Tests.WebConsole;

/// <summary>A browser without a browser: the console over plain HTTP, cookies kept, redirects not followed, forms posted with their antiforgery token.</summary>
public sealed partial class ConsoleClient(string baseUrl) : IDisposable
{
    [GeneratedRegex("name=\"__csrf\" value=\"([^\"]+)\"")]
    private static partial Regex CsrfField();

    public CookieContainer Cookies { get; } = new();
    private HttpClient? _http;
    public HttpClient Client => _http ??= new HttpClient(new HttpClientHandler { CookieContainer = Cookies, AllowAutoRedirect = false }) { BaseAddress = new Uri(baseUrl) };

    /// <summary>The antiforgery token of the form on <paramref name="page"/> (a path of this client's server, or an absolute URL).</summary>
    public async Task<string> TokenAsync(string page) => CsrfField().Match(await Client.GetStringAsync(page)).Groups[1].Value;

    public async Task<HttpResponseMessage> PostFormAsync(string path, Dictionary<string, string> fields) =>
        await Client.PostAsync(path, new FormUrlEncodedContent(fields));

    /// <summary>Signs in through the sign-in form of this client's server, or of the server at <paramref name="at"/>.</summary>
    public async Task<HttpResponseMessage> SignInAsync(string secret, string? at = null) =>
        await PostFormAsync($"{at}/console/signin", new() { ["secret"] = secret, ["__csrf"] = await TokenAsync($"{at}/console/signin") });

    public void Dispose() => _http?.Dispose();
}
