using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Http.HttpResults;
using Seedance.Server.Storage;
using Seedance.Server.WebConsole.Pages;

namespace Seedance.Server.WebConsole;

/// <summary>What every page's frame needs: the language, the antiforgery token for its forms, who is signed in, where it is.</summary>
public sealed record ConsoleView(ConsoleText Text, string Csrf, ConsoleUser? User, string Section, string PathAndQuery, string BaseUrl)
{
    public string T(string key) => Text[key];
}

/// <summary>Renders a page component in its frame, and the console's error page.</summary>
public static class ConsolePages
{
    public static ConsoleView View(HttpContext http, string section)
    {
        var tokens = http.RequestServices.GetRequiredService<IAntiforgery>().GetAndStoreTokens(http);
        var request = http.Request;
        return new ConsoleView(ConsoleText.For(http), tokens.RequestToken ?? "", ConsoleSession.User(http), section,
            request.Path + request.QueryString, http.RequestServices.GetRequiredService<PublicLinks>().BaseUrl);
    }

    /// <summary>A page: <typeparamref name="TPage"/> with its frame's view and its model.</summary>
    public static RazorComponentResult Render<TPage>(HttpContext http, string section, object? model = null, int status = StatusCodes.Status200OK)
        where TPage : IComponent =>
        new RazorComponentResult<TPage>(new Dictionary<string, object?> { ["View"] = View(http, section), ["Model"] = model })
        {
            StatusCode = status, ContentType = "text/html; charset=utf-8",
        };

    public static RazorComponentResult Error(HttpContext http, int status, string code, string? message)
    {
        http.RequestServices.GetRequiredService<ConsoleHeaders>().Add(http.Response);
        return Render<ErrorPage>(http, "", new ErrorPage.Problem(status, code, message), status);
    }

    /// <summary>Whether a request is for one of the console's pages, which answer errors as pages (its API calls answer the envelope, which the scripts read).</summary>
    public static bool IsPage(PathString path) =>
        path.StartsWithSegments(ConsoleEndpoints.Root) && !path.StartsWithSegments(ConsoleEndpoints.Root + "/api");

    /// <summary>After a form's post, the page to see (303: the browser gets it, and a reload does not post again).</summary>
    public static IResult SeeOther(string path) => new SeeOtherResult(path);

    private sealed class SeeOtherResult(string location) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.StatusCode = StatusCodes.Status303SeeOther;
            httpContext.Response.Headers.Location = location;
            return Task.CompletedTask;
        }
    }

    /// <summary>A path inside the console, to go back to after signing in or switching language; anything else goes to the console's start.</summary>
    public static string LocalPath(string? path) =>
        path is { Length: > 0 } && path.StartsWith(ConsoleEndpoints.Root, StringComparison.Ordinal) && !path.StartsWith("//", StringComparison.Ordinal)
            && !path.Contains('\\') && (path.Length == ConsoleEndpoints.Root.Length || path[ConsoleEndpoints.Root.Length] is '/' or '?')
            ? path : ConsoleEndpoints.Root;
}
