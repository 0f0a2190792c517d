using System.Security.Cryptography;
using System.Text;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;
using Seedance.Server.Data;
using Seedance.Server.Infrastructure;

namespace Seedance.Server.Auth;

/// <summary>The key a request was made with, as the rest of the request path sees it.</summary>
/// <param name="PricePlan">The key's price plan (Seedance:PricePlans), or null for the catalogue's list prices.</param>
public sealed record Caller(long KeyId, int RateLimitPerSecond, string? PricePlan = null);

public static class KeyHash
{
    public const string Prefix = "sk-sd2-";

    public static string NewKey() => Prefix + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));

    public static byte[] Of(string key) => SHA256.HashData(Encoding.UTF8.GetBytes(key));
}

/// <summary>
/// Resolves keys by hash. A known key stays cached (a poll costs no lookup); <see cref="KeyCacheRefresher"/>
/// drops a key from the cache within a second of a change to it, wherever the change was made (admin
/// API, command line, another node). Unknown keys are remembered for a second only.
/// </summary>
public sealed class ApiKeyDirectory(IMemoryCache cache, IServiceScopeFactory scopes)
{
    private static readonly TimeSpan KnownFor = TimeSpan.FromMinutes(10), UnknownFor = TimeSpan.FromSeconds(1);

    public ValueTask<Caller?> FindAsync(string presented, CancellationToken ct) => FindByHashAsync(KeyHash.Of(presented), ct);

    /// <summary>The enabled key of this hash (a console session holds the hash, never the key), from the cache as for a presented key.</summary>
    public async ValueTask<Caller?> FindByHashAsync(byte[] hash, CancellationToken ct)
    {
        var cacheKey = CacheKey(hash);
        if (cache.TryGetValue(cacheKey, out Caller? cached)) return cached;

        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<SeedanceDb>();
        var row = await db.ApiKeys.AsNoTracking()
            .Where(k => k.KeyHash == hash)
            .Select(k => new { k.Id, k.KeyHash, k.Enabled, k.RateLimitPerSecond, k.PricePlan })
            .FirstOrDefaultAsync(ct);
        var caller = row is { Enabled: true } && CryptographicOperations.FixedTimeEquals(row.KeyHash, hash)
            ? new Caller(row.Id, row.RateLimitPerSecond, row.PricePlan)
            : null;
        if (caller is null) cache.Set(cacheKey, caller, UnknownFor);
        else cache.Set(cacheKey, caller, new MemoryCacheEntryOptions { SlidingExpiration = KnownFor });
        return caller;
    }

    public void Forget(byte[] hash) => cache.Remove(CacheKey(hash));

    private static string CacheKey(byte[] hash) => "api-key:" + Convert.ToBase64String(hash);
}

/// <summary>Every half second, forgets the cached keys whose authentication changed since the last look.</summary>
public sealed class KeyCacheRefresher(IServiceScopeFactory scopes, ApiKeyDirectory directory, TimeProvider clock, ILogger<KeyCacheRefresher> logger)
    : PeriodicWorker(clock, logger)
{
    // Changes are looked for a little before the newest one seen, so that one made in the same instant
    // by another process, or with a slightly different clock, is not missed.
    private static readonly TimeSpan Overlap = TimeSpan.FromSeconds(1);
    private DateTime _newestSeen = clock.GetUtcNow().UtcDateTime;

    protected override TimeSpan Interval => TimeSpan.FromMilliseconds(500);

    public override async Task<bool> RunOnceAsync(CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<SeedanceDb>();
        var since = _newestSeen - Overlap;
        var changed = await db.ApiKeys.AsNoTracking().Where(k => k.AuthChangedAt > since)
            .Select(k => new { k.KeyHash, k.AuthChangedAt }).ToListAsync(ct);
        foreach (var key in changed)
        {
            directory.Forget(key.KeyHash);
            if (key.AuthChangedAt > _newestSeen) _newestSeen = key.AuthChangedAt;
        }
        return false;
    }
}

/// <summary>The endpoints that take an API key: <see cref="ApiKeyCheck"/> lets only a known, enabled key through to them.</summary>
public sealed class ApiKeyRequired
{
    public static readonly ApiKeyRequired Instance = new();
}

/// <summary>
/// Checks the <c>X-API-Key</c> of every request to an endpoint marked <see cref="ApiKeyRequired"/>: a known,
/// enabled key becomes the request's <see cref="Caller"/>; a missing, unknown or disabled one is answered
/// INVALID_API_KEY at once, before the rate limit and the endpoint. A middleware of its own rather than an
/// ASP.NET Core authentication scheme with an authorization policy: a poll is most of this API's traffic, and
/// that machinery (a handler, a claims principal, a policy evaluation, a dozen allocations per request) cost
/// more than the rest of a poll answered from memory.
/// </summary>
public sealed class ApiKeyCheck(RequestDelegate next, ApiKeyDirectory keys, AuthFailureThrottle throttle)
{
    public const string Header = "X-API-Key";

    public Task InvokeAsync(HttpContext context) =>
        context.GetEndpoint()?.Metadata.GetMetadata<ApiKeyRequired>() is null ? next(context) : CheckAsync(context);

    private async Task CheckAsync(HttpContext context)
    {
        if (throttle.RefusedFor(context) is { } wait)
        {
            await AuthFailureThrottle.RefuseAsync(context, wait);
            return;
        }
        var presented = context.Request.Headers[Header];
        if (presented.Count == 1 && !string.IsNullOrEmpty(presented[0]) && await keys.FindAsync(presented[0]!, context.RequestAborted) is { } caller)
        {
            context.Features.Set(caller);
            await next(context);
            return;
        }
        throttle.RecordFailure(context);
        await Envelope.WriteErrorAsync(context, ApiError.InvalidApiKey());
    }
}

public static class CallerExtensions
{
    public static Caller Caller(this HttpContext context) =>
        context.Features.Get<Caller>() ?? throw ApiError.InvalidApiKey();
}
