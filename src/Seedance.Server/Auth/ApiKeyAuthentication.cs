using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;
using Seedance.Server.Data;
using Seedance.Server.Infrastructure;

namespace Seedance.Server.Auth;

/// <summary>The key a request was made with, as the rest of the request path sees it.</summary>
public sealed record Caller(long KeyId, int RateLimitPerSecond);

public static class KeyHash
{
    public const string Prefix = "sk-sd2-";

    public static string NewKey() => Prefix + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));

    public static byte[] Of(string key) => SHA256.HashData(Encoding.UTF8.GetBytes(key));
}

/// <summary>
/// Resolves keys by hash with a one-second cache: a poll costs no lookup, and a key disabled anywhere
/// (admin API, command line, another node) stops working within a second.
/// </summary>
public sealed class ApiKeyDirectory(IMemoryCache cache, IServiceScopeFactory scopes)
{
    private static readonly TimeSpan Lifetime = TimeSpan.FromSeconds(1);

    public async ValueTask<Caller?> FindAsync(string presented, CancellationToken ct)
    {
        var hash = KeyHash.Of(presented);
        var cacheKey = Convert.ToBase64String(hash);
        if (cache.TryGetValue(cacheKey, out CachedKey? cached) && cached is not null)
            return CryptographicOperations.FixedTimeEquals(cached.Hash, hash) ? cached.Caller : null;

        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<SeedanceDb>();
        var row = await db.ApiKeys.AsNoTracking()
            .Where(k => k.KeyHash == hash)
            .Select(k => new { k.Id, k.KeyHash, k.Enabled, k.RateLimitPerSecond })
            .FirstOrDefaultAsync(ct);
        var caller = row is { Enabled: true } && CryptographicOperations.FixedTimeEquals(row.KeyHash, hash)
            ? new Caller(row.Id, row.RateLimitPerSecond)
            : null;
        cache.Set(cacheKey, new CachedKey(hash, caller), Lifetime);
        return caller;
    }

    public void Forget(byte[] hash) => cache.Remove(Convert.ToBase64String(hash));

    private sealed record CachedKey(byte[] Hash, Caller? Caller);
}

public sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, ApiKeyDirectory keys)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiKey";
    public const string Header = "X-API-Key";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var presented = Request.Headers[Header];
        if (presented.Count != 1 || string.IsNullOrEmpty(presented[0])) return AuthenticateResult.NoResult();
        var caller = await keys.FindAsync(presented[0]!, Context.RequestAborted);
        if (caller is null) return AuthenticateResult.Fail("Unknown or disabled API key");
        Context.Features.Set(caller);
        var identity = new ClaimsIdentity([new Claim(ClaimTypes.NameIdentifier, caller.KeyId.ToString())], SchemeName);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties) =>
        Envelope.WriteErrorAsync(Context, ApiError.InvalidApiKey());
}

public static class CallerExtensions
{
    public static Caller Caller(this HttpContext context) =>
        context.Features.Get<Caller>() ?? throw ApiError.InvalidApiKey();
}
