using System.Diagnostics;
using System.Threading.RateLimiting;
using StackExchange.Redis;

namespace Seedance.Server.Auth;

/// <summary>
/// One API key's request rate, shared by every node through Redis: GCRA (the generic cell rate
/// algorithm, as in redis-cell and Stripe's limiter) in one Lua script, so each decision is atomic and
/// uses Redis's own clock rather than each node's. It allows the same as the per-node token bucket: a
/// burst of <c>perSecond</c> requests, refilled at <c>perSecond</c> a second. When Redis cannot be
/// reached the node falls back to its own bucket for the key (<see cref="SharedLimitState"/> logs that once per
/// outage), so an outage of Redis loosens the limit to per node instead of refusing or stalling requests.
/// </summary>
public sealed class SharedRateLimiter(IDatabase redis, RedisKey key, int perSecond, RateLimiter fallback, SharedLimitState state) : RateLimiter
{
    // KEYS[1] the key's state (its theoretical arrival time, in microseconds); ARGV[1] the emission
    // interval (µs per request); ARGV[2] the burst window (µs). Returns {allowed, retry after µs}.
    private static readonly LuaScript Gcra = LuaScript.Prepare("""
        local now_parts = redis.call('TIME')
        local now = tonumber(now_parts[1]) * 1000000 + tonumber(now_parts[2])
        local interval = tonumber(@interval)
        local window = tonumber(@window)
        local tat = tonumber(redis.call('GET', @key) or now)
        if tat < now then tat = now end
        local new_tat = tat + interval
        local allow_at = new_tat - window
        if now < allow_at then return {0, allow_at - now} end
        redis.call('SET', @key, string.format('%.0f', new_tat), 'PX', math.ceil((new_tat - now) / 1000) + 1)
        return {1, 0}
        """);

    private readonly long _interval = 1_000_000L / perSecond;
    private readonly long _window = 1_000_000L;
    private long _lastUsed = Environment.TickCount64;

    public override TimeSpan? IdleDuration => TimeSpan.FromMilliseconds(Environment.TickCount64 - Interlocked.Read(ref _lastUsed));

    public override RateLimiterStatistics? GetStatistics() => null;

    /// <summary>The decision needs Redis, so it is only made asynchronously: the synchronous attempt never grants.</summary>
    protected override RateLimitLease AttemptAcquireCore(int permitCount) => permitCount == 0 ? Granted.Instance : Undecided.Instance;

    protected override async ValueTask<RateLimitLease> AcquireAsyncCore(int permitCount, CancellationToken ct)
    {
        Interlocked.Exchange(ref _lastUsed, Environment.TickCount64);
        if (permitCount == 0) return Granted.Instance;
        var askedAt = Stopwatch.GetTimestamp();
        try
        {
            var result = (RedisResult[])(await redis.ScriptEvaluateAsync(Gcra, new { key, interval = _interval, window = _window }))!;
            state.Answered(askedAt);
            return (long)result[0] == 1 ? Granted.Instance : new Refused(TimeSpan.FromMicroseconds((long)result[1]));
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            state.Failed(e);
            return await fallback.AcquireAsync(permitCount, ct);
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) fallback.Dispose();
        base.Dispose(disposing);
    }

    private sealed class Granted : RateLimitLease
    {
        public static readonly Granted Instance = new();
        public override bool IsAcquired => true;
        public override IEnumerable<string> MetadataNames => [];
        public override bool TryGetMetadata(string metadataName, out object? metadata) { metadata = null; return false; }
    }

    private sealed class Undecided : RateLimitLease
    {
        public static readonly Undecided Instance = new();
        public override bool IsAcquired => false;
        public override IEnumerable<string> MetadataNames => [];
        public override bool TryGetMetadata(string metadataName, out object? metadata) { metadata = null; return false; }
    }

    private sealed class Refused(TimeSpan retryAfter) : RateLimitLease
    {
        public override bool IsAcquired => false;
        public override IEnumerable<string> MetadataNames => [MetadataName.RetryAfter.Name];
        public override bool TryGetMetadata(string metadataName, out object? metadata)
        {
            metadata = metadataName == MetadataName.RetryAfter.Name ? retryAfter : null;
            return metadata is not null;
        }
    }
}

/// <summary>
/// Whether the shared rate limit is falling back to each node's own, for all keys of this node: the change is logged once
/// each way (a warning when Redis stops answering, a note when it answers again), not once per request.
/// </summary>
public sealed class SharedLimitState(ILogger<SharedRateLimiter> logger)
{
    private int _fallingBack;
    private long _failedAt;

    public bool FallingBack => Volatile.Read(ref _fallingBack) == 1;

    public void Failed(Exception error)
    {
        Volatile.Write(ref _failedAt, Stopwatch.GetTimestamp());
        if (Interlocked.Exchange(ref _fallingBack, 1) == 0)
            logger.LogWarning("Redis unreachable for the shared rate limit ({Error}); each node limits on its own until it answers again", error.Message);
    }

    /// <summary>
    /// A decision came back from Redis for a request asked at <paramref name="askedAt"/>. Only one asked after the last
    /// failure says Redis is back: answers to requests sent before it went away can arrive after the first failure.
    /// </summary>
    public void Answered(long askedAt)
    {
        if (Volatile.Read(ref _fallingBack) == 1 && askedAt > Volatile.Read(ref _failedAt) && Interlocked.Exchange(ref _fallingBack, 0) == 1)
            logger.LogInformation("Redis answers again: the rate limit is shared by the nodes again");
    }
}
