using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using Seedance.Server.Infrastructure;

namespace Seedance.Server.Auth;

/// <summary>
/// The operator's token: from configuration, or generated on first start into the data directory
/// (mode 0600) and printed once.
/// </summary>
public sealed class AdminToken
{
    public const string FileName = "admin-token";
    private readonly byte[] _hash;

    public AdminToken(IOptions<SeedanceOptions> options, ILogger<AdminToken> logger)
    {
        _hash = SHA256.HashData(Encoding.UTF8.GetBytes(Load(options.Value, out var generated)));
        if (generated is not null)
        {
            // Printed on the console once, never through the logging pipeline.
            Console.WriteLine($"Generated admin token (stored in {Path.Combine(options.Value.DataPath, FileName)}): {generated}");
            logger.LogInformation("Generated a new admin token in the data directory");
        }
    }

    /// <summary>A short name of the current token (not the token, nor enough to find it): a console session remembers it, so a new token ends the sessions of the old.</summary>
    public string Fingerprint => Convert.ToHexStringLower(SHA256.HashData(_hash))[..16];

    public bool Matches(string presented) =>
        presented.Length > 0 && CryptographicOperations.FixedTimeEquals(_hash, SHA256.HashData(Encoding.UTF8.GetBytes(presented)));

    private static string Load(SeedanceOptions options, out string? generated)
    {
        generated = null;
        if (!string.IsNullOrEmpty(options.AdminToken)) return options.AdminToken;
        var token = Encoding.UTF8.GetString(SecretFile.ReadOrCreate(Path.Combine(options.DataPath, FileName),
            () => Encoding.UTF8.GetBytes("sd2-admin-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24))), out var created)).Trim();
        if (created) generated = token;
        return token;
    }
}

public sealed class AdminAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, AdminToken token, AuthFailureThrottle throttle)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "AdminToken";
    private int? _refusedFor;

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        // An address refused for its failed attempts is not even checked: the challenge answers 429.
        if ((_refusedFor = throttle.RefusedFor(Context)) is not null) return Task.FromResult(AuthenticateResult.Fail("Too many failed authentications"));
        var header = Request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) return Task.FromResult(AuthenticateResult.NoResult());
        if (!token.Matches(header["Bearer ".Length..].Trim())) return Task.FromResult(AuthenticateResult.Fail("Bad admin token"));
        var identity = new ClaimsIdentity([new Claim(ClaimTypes.Role, "operator")], SchemeName);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName)));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        if (_refusedFor is { } wait) return AuthFailureThrottle.RefuseAsync(Context, wait);
        throttle.RecordFailure(Context);
        return Envelope.WriteErrorAsync(Context, ApiError.InvalidAdminToken());
    }
}

public static class AdminRoutes
{
    /// <summary>The admin API's own OpenAPI document (<c>/openapi/admin.json</c>), apart from the public one.</summary>
    public const string DocumentName = "admin";

    /// <summary>A group of the admin API: the operator's token required, described in the admin API's document.</summary>
    public static RouteGroupBuilder MapAdminGroup(this IEndpointRouteBuilder app, string prefix) =>
        app.MapGroup(prefix).RequireAdminToken().WithGroupName(DocumentName);

    /// <summary>The operator's token required (a bearer token), as for the admin API.</summary>
    public static TBuilder RequireAdminToken<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.RequireAuthorization(p => p.AddAuthenticationSchemes(AdminAuthenticationHandler.SchemeName).RequireRole("operator"));
}
