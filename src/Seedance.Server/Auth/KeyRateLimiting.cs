using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.RateLimiting;
using Seedance.Server.Infrastructure;

namespace Seedance.Server.Auth;

/// <summary>Requests per second per API key, from the key's own setting; 429 RATE_LIMIT_EXCEEDED with Retry-After.</summary>
public static class KeyRateLimiting
{
    public const string Policy = "per-key";

    public static IServiceCollection AddKeyRateLimiting(this IServiceCollection services) =>
        services.AddRateLimiter(o =>
        {
            o.AddPolicy(Policy, context => context.Features.Get<Caller>() is { } caller
                ? RateLimitPartition.GetTokenBucketLimiter((caller.KeyId, caller.RateLimitPerSecond), key => new TokenBucketRateLimiterOptions
                {
                    TokenLimit = key.RateLimitPerSecond,
                    TokensPerPeriod = key.RateLimitPerSecond,
                    ReplenishmentPeriod = TimeSpan.FromSeconds(1),
                    QueueLimit = 0,
                    AutoReplenishment = true,
                })
                : RateLimitPartition.GetNoLimiter((0L, 0)));
            o.OnRejected = (context, _) =>
            {
                var retryAfter = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds)) : 1;
                context.HttpContext.Response.Headers.RetryAfter = retryAfter.ToString(CultureInfo.InvariantCulture);
                return new ValueTask(Envelope.WriteErrorAsync(context.HttpContext, ApiError.RateLimited()));
            };
        });
}
