using Microsoft.AspNetCore.Antiforgery;
using Microsoft.Extensions.Options;
using Seedance.Server.Infrastructure;

namespace Seedance.Server.WebConsole;

/// <summary>
/// What every console request goes through, as the group's endpoint filter: the console's response headers, the
/// antiforgery check of every request that changes something (a form's field or a script's header). Errors are answered
/// where every error is, by <see cref="ErrorEnvelopeMiddleware"/>: for pages as an HTML page with the code and what it means.
/// </summary>
public static class ConsoleFilter
{
    public static async ValueTask<object?> Pages(EndpointFilterInvocationContext invocation, EndpointFilterDelegate next)
    {
        var http = invocation.HttpContext;
        http.RequestServices.GetRequiredService<ConsoleHeaders>().Add(http.Response);
        if (!await AntiforgeryHoldsAsync(http)) return ConsolePages.Error(http, StatusCodes.Status400BadRequest, "FORM_EXPIRED", null);
        return await next(invocation); // an error becomes a page where every error is mapped (ErrorEnvelopeMiddleware)
    }

    /// <summary>The console's own calls of the API: the same headers and check; refusals stay the API's envelope, which the scripts read.</summary>
    public static async ValueTask<object?> Api(EndpointFilterInvocationContext invocation, EndpointFilterDelegate next)
    {
        var http = invocation.HttpContext;
        http.RequestServices.GetRequiredService<ConsoleHeaders>().Add(http.Response);
        if (!await AntiforgeryHoldsAsync(http)) throw new ApiError(StatusCodes.Status400BadRequest, "INVALID_PARAMETER", "Invalid parameter: the console's antiforgery token is missing or stale; reload the page");
        return await next(invocation);
    }

    private static async Task<bool> AntiforgeryHoldsAsync(HttpContext http)
    {
        if (HttpMethods.IsGet(http.Request.Method) || HttpMethods.IsHead(http.Request.Method)) return true;
        return await http.RequestServices.GetRequiredService<IAntiforgery>().IsRequestValidAsync(http);
    }
}

/// <summary>
/// The console's headers: a Content-Security-Policy that runs only this server's own script files (no inline script, no
/// eval), loads media from this server and its file store alone, and lets no other site frame the console; no referrer
/// beyond this origin.
/// </summary>
public sealed class ConsoleHeaders(IOptions<SeedanceOptions> options)
{
    private readonly string _policy = Policy(options.Value);

    public void Add(HttpResponse response)
    {
        var headers = response.Headers;
        headers.ContentSecurityPolicy = _policy;
        headers["Referrer-Policy"] = "same-origin";
        headers.XFrameOptions = "DENY";
        // Pages are not cached: antiforgery marks every page that carries a token no-cache, no-store (and warns of any other value set before).
    }

    internal static string Policy(SeedanceOptions options)
    {
        var media = string.Join(' ', Origins(options).Prepend("'self'"));
        return $"default-src 'none'; script-src 'self'; style-src 'self'; img-src {media} data:; media-src {media}; connect-src {media}; " +
            "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
    }

    /// <summary>Where links to stored files may point besides this origin: the public base URL, the S3 store's.</summary>
    private static IEnumerable<string> Origins(SeedanceOptions options)
    {
        if (options.PublicBaseUrl is { Length: > 0 } publicBase && Uri.TryCreate(publicBase, UriKind.Absolute, out var b)) yield return b.GetLeftPart(UriPartial.Authority);
        if (!options.Storage.IsS3) yield break;
        var service = options.Storage.PublicServiceUrl ?? options.Storage.ServiceUrl;
        if (service is { Length: > 0 } && Uri.TryCreate(service, UriKind.Absolute, out var s))
        {
            yield return s.GetLeftPart(UriPartial.Authority);
            yield return $"{s.Scheme}://*.{s.Authority}"; // virtual-hosted buckets
        }
        else yield return "https://*.amazonaws.com";
    }
}
