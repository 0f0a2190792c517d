using Microsoft.AspNetCore.Authentication;
using Microsoft.EntityFrameworkCore;
using Seedance.Server.Auth;
using Seedance.Server.Data;
using Seedance.Server.WebConsole.Pages;

namespace Seedance.Server.WebConsole;

/// <summary>Signing in (a customer with an API key, the operator with the admin token), signing out, and the language switch.</summary>
public static class SignInEndpoints
{
    public const string AnyPolicy = "console-any";
    public const string LanguageCookie = "sd2_lang";

    public static void MapSignIn(this RouteGroupBuilder console)
    {
        console.MapGet("/", (HttpContext http) => ConsolePages.SeeOther(ConsoleSession.User(http) is { IsOperator: true }
            ? ConsoleEndpoints.Root + "/admin" : ConsoleEndpoints.Root + "/tasks")).RequireAuthorization(AnyPolicy);
        console.MapGet("/signin", (HttpContext http, string? returnUrl) =>
            ConsolePages.Render<SignInPage>(http, "signin", new SignInPage.Attempt(ConsolePages.LocalPath(returnUrl), Refused: false)));
        console.MapPost("/signin", SignInAsync).RequireRateLimiting(SignInLimit.Policy);
        console.MapPost("/signout", async (HttpContext http) =>
        {
            await http.SignOutAsync(ConsoleSession.Scheme);
            return ConsolePages.SeeOther(ConsoleEndpoints.Root + "/signin");
        }).RequireAuthorization(AnyPolicy);
        console.MapGet("/lang/{lang}", (HttpContext http, string lang, string? back) =>
        {
            http.Response.Cookies.Append(LanguageCookie, ConsoleText.Normalize(lang), new CookieOptions
            {
                Path = ConsoleEndpoints.Root, HttpOnly = true, SameSite = SameSiteMode.Lax, Secure = http.Request.IsHttps, MaxAge = TimeSpan.FromDays(365),
            });
            return ConsolePages.SeeOther(ConsolePages.LocalPath(back));
        });
    }

    /// <summary>
    /// The secret comes in the form's body (never a URL) and leaves nothing but the session behind: a key becomes its id and
    /// its hash in the sealed cookie, the token its fingerprint. A refusal says so and keeps nothing of what was typed. A wrong
    /// key or token counts as a failed authentication of the API counts (<see cref="AuthFailureThrottle"/>), and an address
    /// refused there is refused here before anything is checked: the console is no faster a way to guess than the API.
    /// </summary>
    private static async Task<IResult> SignInAsync(HttpContext http, ApiKeyDirectory keys, AdminToken adminToken, SeedanceDb db, AuthFailureThrottle throttle,
        TimeProvider clock)
    {
        if (throttle.RefusedFor(http) is { } seconds)
        {
            http.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            return ConsolePages.Error(http, StatusCodes.Status429TooManyRequests, "SIGN_IN_THROTTLED", null);
        }
        var form = await http.Request.ReadFormAsync(http.RequestAborted);
        var secret = form["secret"].ToString().Trim();
        var returnUrl = ConsolePages.LocalPath(form["return"]);
        if (secret.StartsWith(KeyHash.Prefix, StringComparison.Ordinal) && await keys.FindAsync(secret, http.RequestAborted) is { } caller)
        {
            var name = await db.ApiKeys.AsNoTracking().Where(k => k.Id == caller.KeyId).Select(k => k.Name).FirstAsync(http.RequestAborted);
            await http.SignInAsync(ConsoleSession.Scheme, ConsoleSession.ForCustomer(caller, KeyHash.Of(secret), name), ConsoleSession.Properties(clock));
            return ConsolePages.SeeOther(returnUrl.StartsWith(ConsoleEndpoints.Root + "/admin", StringComparison.Ordinal) ? ConsoleEndpoints.Root : returnUrl);
        }
        if (!secret.StartsWith(KeyHash.Prefix, StringComparison.Ordinal) && adminToken.Matches(secret))
        {
            await http.SignInAsync(ConsoleSession.Scheme, ConsoleSession.ForOperator(adminToken), ConsoleSession.Properties(clock));
            return ConsolePages.SeeOther(returnUrl.StartsWith(ConsoleEndpoints.Root + "/admin", StringComparison.Ordinal) ? returnUrl : ConsoleEndpoints.Root + "/admin");
        }
        throttle.RecordFailure(http);
        return ConsolePages.Render<SignInPage>(http, "signin", new SignInPage.Attempt(returnUrl, Refused: true), StatusCodes.Status401Unauthorized);
    }
}
