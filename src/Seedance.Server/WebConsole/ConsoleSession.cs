using System.Globalization;
using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Seedance.Server.Auth;

namespace Seedance.Server.WebConsole;

/// <summary>Who a console session belongs to: a customer (one key) or the operator.</summary>
public sealed record ConsoleUser(string Role, long? KeyId, string Name)
{
    public const string Customer = "customer", Operator = "operator";
    public bool IsOperator => Role == Operator;
}

/// <summary>
/// The console's session: ASP.NET Core's cookie authentication, the ticket sealed by <see cref="DerivedDataProtectionProvider"/>
/// (valid on every node, nothing stored server-side). It holds the key's id and the SHA-256 of the key (what the database
/// holds; never the key), or the admin token's fingerprint (never the token). Every request checks it again
/// (<see cref="ValidateAsync"/>): a key disabled or deleted ends its sessions as soon as the key cache forgets it (within a
/// second, as for the API), and a new admin token ends the operator's. A session ends <see cref="MaxLifetime"/> after its
/// sign-in however often it is used, so that a copied cookie does not last for ever.
/// </summary>
public static class ConsoleSession
{
    public const string Scheme = "Console";
    public const string CookieName = "sd2_console";
    private const string KeyHashClaim = "sd2:key_hash", AdminClaim = "sd2:admin";
    private const string SignedInItem = "sd2.signed_in";
    private static readonly TimeSpan Lifetime = TimeSpan.FromHours(12);

    /// <summary>How long a session lasts from its sign-in, however often it is used: the cookie's 12 hours slide, this does not.</summary>
    public static readonly TimeSpan MaxLifetime = TimeSpan.FromDays(7);

    public static void AddConsoleSession(this Microsoft.AspNetCore.Authentication.AuthenticationBuilder auth) =>
        auth.AddCookie(Scheme, o =>
        {
            o.Cookie.Name = CookieName;
            o.Cookie.Path = ConsoleEndpoints.Root;
            o.Cookie.HttpOnly = true;
            o.Cookie.SameSite = SameSiteMode.Strict;
            o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest; // Secure behind HTTPS (a trusted proxy's X-Forwarded-Proto counts)
            o.ExpireTimeSpan = Lifetime;
            o.SlidingExpiration = true;
            o.LoginPath = ConsoleEndpoints.Root + "/signin";
            o.AccessDeniedPath = ConsoleEndpoints.Root;
            o.Events.OnValidatePrincipal = ValidateAsync;
            o.Events.OnRedirectToLogin = c => Refuse(c, StatusCodes.Status401Unauthorized);
            // A customer's session on an operator's page: there is nothing for it there.
            o.Events.OnRedirectToAccessDenied = c => ConsolePages.Error(c.HttpContext, StatusCodes.Status404NotFound, "NOT_FOUND", null).ExecuteAsync(c.HttpContext);
        });

    /// <summary>The console's own API calls (scripts) hear a status, which the error envelope answers; pages go to the sign-in page.</summary>
    private static Task Refuse(RedirectContext<CookieAuthenticationOptions> c, int status)
    {
        if (c.Request.Path.StartsWithSegments(ConsoleEndpoints.Root + "/api")) c.Response.StatusCode = status;
        else c.Response.Redirect(c.RedirectUri);
        return Task.CompletedTask;
    }

    public static ClaimsPrincipal ForCustomer(Caller caller, byte[] keyHash, string keyName) => new(new ClaimsIdentity(
    [
        new Claim(ClaimTypes.NameIdentifier, "key:" + caller.KeyId), new Claim(ClaimTypes.Role, ConsoleUser.Customer),
        new Claim(ClaimTypes.Name, keyName), new Claim(KeyHashClaim, Convert.ToBase64String(keyHash)),
    ], Scheme));

    public static ClaimsPrincipal ForOperator(AdminToken token) => new(new ClaimsIdentity(
    [
        new Claim(ClaimTypes.NameIdentifier, "operator"), new Claim(ClaimTypes.Role, ConsoleUser.Operator),
        new Claim(ClaimTypes.Name, "operator"), new Claim(AdminClaim, token.Fingerprint),
    ], Scheme));

    /// <summary>The session's properties: the time of the sign-in is kept in the sealed ticket, which a refresh of the cookie does not change.</summary>
    public static AuthenticationProperties Properties(TimeProvider clock) => new(new Dictionary<string, string?>
    {
        [SignedInItem] = clock.GetUtcNow().ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture),
    }) { IsPersistent = false, AllowRefresh = true };

    /// <summary>Whether a session signed in at the time its properties hold is still within <see cref="MaxLifetime"/> (a session without that time is not).</summary>
    internal static bool WithinMaxLifetime(AuthenticationProperties properties, DateTimeOffset now) =>
        properties.Items.TryGetValue(SignedInItem, out var value)
        && long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var seconds)
        && now - DateTimeOffset.FromUnixTimeSeconds(seconds) < MaxLifetime;

    /// <summary>The session's user, once <see cref="ValidateAsync"/> accepted it on this request.</summary>
    public static ConsoleUser? User(HttpContext context)
    {
        var principal = context.User;
        if (principal.Identity is not { IsAuthenticated: true, AuthenticationType: Scheme }) return null;
        var role = principal.FindFirstValue(ClaimTypes.Role);
        var name = principal.FindFirstValue(ClaimTypes.Name) ?? "";
        return role == ConsoleUser.Operator ? new ConsoleUser(role, null, name)
            : role == ConsoleUser.Customer && context.Features.Get<Caller>() is { } caller ? new ConsoleUser(role, caller.KeyId, name) : null;
    }

    /// <summary>Checks a session on every request, as the API checks a key on every request: the key still enabled, the token unchanged.</summary>
    public static async Task ValidateAsync(CookieValidatePrincipalContext context)
    {
        var principal = context.Principal;
        var services = context.HttpContext.RequestServices;
        var valid = WithinMaxLifetime(context.Properties, services.GetRequiredService<TimeProvider>().GetUtcNow()) && (principal?.FindFirstValue(ClaimTypes.Role) switch
        {
            ConsoleUser.Customer => await CustomerAsync(context.HttpContext, principal, services.GetRequiredService<ApiKeyDirectory>()),
            ConsoleUser.Operator => principal.FindFirstValue(AdminClaim) == services.GetRequiredService<AdminToken>().Fingerprint,
            _ => false,
        });
        if (valid) return;
        context.RejectPrincipal();
        await context.HttpContext.SignOutAsync(Scheme);
    }

    private static async Task<bool> CustomerAsync(HttpContext http, ClaimsPrincipal principal, ApiKeyDirectory keys)
    {
        var hash = new byte[32];
        if (principal.FindFirstValue(KeyHashClaim) is not { } encoded || !Convert.TryFromBase64String(encoded, hash, out var length) || length != 32) return false;
        if (await keys.FindByHashAsync(hash, http.RequestAborted) is not { } caller) return false;
        if (principal.FindFirstValue(ClaimTypes.NameIdentifier) != "key:" + caller.KeyId) return false;
        http.Features.Set(caller); // what the API's endpoints, reused under /console/api, and the per-key rate limit read
        return true;
    }
}
