using Microsoft.Extensions.Options;
using Seedance.Server.Infrastructure;

namespace Seedance.Server.Storage;

/// <summary>
/// Absolute, signed links to the file store: presigned by the store itself (S3), or signed by this server
/// for its own <c>/files/</c> route on the configured public base URL or the request's own.
/// </summary>
public sealed class PublicLinks(UrlSigner signer, FileStore store, IOptions<SeedanceOptions> options, TimeProvider clock, IHttpContextAccessor http)
{
    public string BaseUrl
    {
        get
        {
            if (options.Value.PublicBaseUrl is { Length: > 0 } configured) return configured.TrimEnd('/');
            var request = http.HttpContext?.Request ?? throw new InvalidOperationException("No request to take the base URL from; set Seedance:PublicBaseUrl");
            return $"{request.Scheme}://{request.Host}{request.PathBase}";
        }
    }

    /// <summary>True when links can be made outside a request (for the upstream): a public base URL is configured.</summary>
    public bool CanLinkWithoutRequest => !string.IsNullOrEmpty(options.Value.PublicBaseUrl);

    /// <summary>True when stored files can be linked outside a request: the store signs its own links, or a public base URL is configured.</summary>
    public bool CanLinkFilesWithoutRequest => store.SignsOwnLinks || CanLinkWithoutRequest;

    public const string UpstreamCallbackPrefix = "/upstream/callbacks/";

    /// <summary>The unguessable address where the upstream may tell us a task changed (a hint; we confirm with a GET).</summary>
    public string UpstreamCallback(string taskId, TimeSpan lifetime)
    {
        var path = UpstreamCallbackPrefix + taskId;
        return $"{BaseUrl}{path}?{signer.Sign(HttpMethods.Post, path, clock.GetUtcNow().Add(lifetime))}";
    }

    public string Upload(string filePath, string contentType, DateTimeOffset expires) =>
        store.PresignedUpload(filePath, contentType, expires) ?? Signed("PUT", filePath, expires, contentType);

    /// <summary>
    /// A download link valid for the configured days. The expiry is rounded up to the hour so that
    /// repeated reads of a finished task return the same link (on this server's own route; an S3 presigned
    /// link is signed anew each time and lives at most 7 days, the longest S3 allows).
    /// </summary>
    public string Download(string storePath, string? baseUrl = null)
    {
        var now = clock.GetUtcNow();
        var hour = new DateTimeOffset(now.Year, now.Month, now.Day, now.Hour, 0, 0, TimeSpan.Zero).AddHours(1);
        var expires = hour.AddDays(options.Value.Tasks.ResultLinkDays);
        return store.PresignedDownload(storePath, expires) ?? Signed("GET", storePath, expires, "", baseUrl);
    }

    /// <summary>The base for links made outside a request: the configured one, else the one the task was submitted to.</summary>
    public string? BaseUrlFor(string? submittedTo) => options.Value.PublicBaseUrl is { Length: > 0 } configured ? configured.TrimEnd('/') : submittedTo;

    private string Signed(string method, string storePath, DateTimeOffset expires, string contentType, string? baseUrl = null)
    {
        var path = FileStore.RoutePrefix + FileStore.EscapePath(storePath);
        return $"{BaseUrlFor(baseUrl) ?? BaseUrl}{path}?{signer.Sign(method, path, expires, contentType)}";
    }
}
