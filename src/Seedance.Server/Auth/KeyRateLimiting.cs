using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;
using Seedance.Server.Infrastructure;
using StackExchange.Redis;

namespace Seedance.Server.Auth;

/// <summary>
/// Requests per second per API key, from the key's own setting; 429 RATE_LIMIT_EXCEEDED with Retry-After.
/// With <c>Seedance:Redis</c> set the limit is shared by all nodes (<see cref="SharedRateLimiter"/>);
/// without it each node keeps its own token bucket, so N nodes allow up to N times the rate.
/// </summary>
public static class KeyRateLimiting
{
    public const string Policy = "per-key";

    public static IServiceCollection AddKeyRateLimiting(this IServiceCollection services, SeedanceOptions options)
    {
        if (!string.IsNullOrEmpty(options.Redis))
            services.AddSingleton<SharedLimitState>().AddSingleton<IConnectionMultiplexer>(sp =>
            {
                var config = ConfigurationOptions.Parse(options.Redis);
                // Start without Redis, and fail at once while it is away (no backlog): the limit falls back to per node until it answers.
                config.AbortOnConnectFail = false;
                config.BacklogPolicy = BacklogPolicy.FailFast;
                return ConnectionMultiplexer.Connect(config);
            });
        return services.AddRateLimiter(o =>
        {
            o.AddPolicy(Policy, context =>
            {
                if (context.Features.Get<Caller>() is not { } caller) return RateLimitPartition.GetNoLimiter((0L, 0));
                var partition = (caller.KeyId, caller.RateLimitPerSecond);
                if (string.IsNullOrEmpty(options.Redis)) return RateLimitPartition.GetTokenBucketLimiter(partition, key => Bucket(key.RateLimitPerSecond));
                var services = context.RequestServices;
                return RateLimitPartition.Get(partition, key => new SharedRateLimiter(
                    services.GetRequiredService<IConnectionMultiplexer>().GetDatabase(),
                    $"{options.RedisKeyPrefix}:rate:{key.KeyId}:{key.RateLimitPerSecond}", key.RateLimitPerSecond,
                    new TokenBucketRateLimiter(Bucket(key.RateLimitPerSecond)),
                    services.GetRequiredService<SharedLimitState>()));
            });
            o.OnRejected = (context, _) =>
            {
                var retryAfter = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds)) : 1;
                context.HttpContext.Response.Headers.RetryAfter = retryAfter.ToString(CultureInfo.InvariantCulture);
                return new ValueTask(Envelope.WriteErrorAsync(context.HttpContext, ApiError.RateLimited()));
            };
        });
    }

    private static TokenBucketRateLimiterOptions Bucket(int perSecond) => new()
    {
        TokenLimit = perSecond,
        TokensPerPeriod = perSecond,
        ReplenishmentPeriod = TimeSpan.FromSeconds(1),
        QueueLimit = 0,
        AutoReplenishment = true,
    };
}
