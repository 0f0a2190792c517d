using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using Microsoft.Extensions.Options;
using Seedance.Server.Infrastructure;

namespace Seedance.Server.Auth;

/// <summary>
/// Failed authentications (a wrong or missing API key, a wrong admin token) counted per client address: an address with
/// <c>Seedance:Auth:FailuresPerMinute</c> of them in a minute is refused — every request that needs a key or the token,
/// whichever it carries — with 429 RATE_LIMIT_EXCEEDED and <c>Retry-After</c> until its minute is over, before anything
/// is checked, so guessing keys or the token gets nowhere faster than that. Behind a proxy the client address is the
/// one the proxy forwards (<c>Seedance:TrustedProxies</c>); otherwise every client of the proxy would share one.
/// While no address is refused, a request pays one read of a counter.
/// </summary>
public sealed class AuthFailureThrottle(IOptions<SeedanceOptions> options, TimeProvider clock)
{
    private static readonly TimeSpan Window = TimeSpan.FromMinutes(1);
    private const int SweepAbove = 10_000;
    private readonly ConcurrentDictionary<IPAddress, Failures> _failures = new();
    private int _refusing;

    private sealed class Failures(DateTimeOffset since)
    {
        public DateTimeOffset Since = since;
        public int Count;
    }

    /// <summary>The seconds the caller's address is still refused for, or null when it is not.</summary>
    public int? RefusedFor(HttpContext context)
    {
        if (Volatile.Read(ref _refusing) == 0 || context.Connection.RemoteIpAddress is not { } address
            || !_failures.TryGetValue(address, out var failures)) return null;
        var now = clock.GetUtcNow();
        DateTimeOffset until;
        lock (failures)
        {
            if (!Refused(failures)) return null;
            until = failures.Since + Window;
            if (now >= until)
            {
                Reset(failures, now);
                return null;
            }
        }
        return Math.Max(1, (int)Math.Ceiling((until - now).TotalSeconds));
    }

    /// <summary>The refusal: 429 RATE_LIMIT_EXCEEDED with <c>Retry-After</c>.</summary>
    public static Task RefuseAsync(HttpContext context, int seconds)
    {
        context.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        return Envelope.WriteErrorAsync(context, ApiError.TooManyAuthFailures(seconds));
    }

    /// <summary>Counts a failed authentication against the caller's address.</summary>
    public void RecordFailure(HttpContext context)
    {
        if (context.Connection.RemoteIpAddress is not { } address) return;
        var now = clock.GetUtcNow();
        if (_failures.Count > SweepAbove) Sweep(now);
        var failures = _failures.GetOrAdd(address, _ => new Failures(now));
        lock (failures)
        {
            if (now - failures.Since >= Window) Reset(failures, now);
            if (++failures.Count == options.Value.Auth.FailuresPerMinute) Interlocked.Increment(ref _refusing);
        }
    }

    private bool Refused(Failures failures) => failures.Count >= options.Value.Auth.FailuresPerMinute;

    /// <summary>A new minute for the address (called under its lock); a refused address stops being one.</summary>
    private void Reset(Failures failures, DateTimeOffset now)
    {
        if (Refused(failures)) Interlocked.Decrement(ref _refusing);
        (failures.Since, failures.Count) = (now, 0);
    }

    /// <summary>Forgets addresses whose minute is over, so that addresses that failed once do not pile up.</summary>
    private void Sweep(DateTimeOffset now)
    {
        foreach (var (address, failures) in _failures)
        {
            lock (failures)
            {
                if (now - failures.Since < Window || !_failures.TryRemove(KeyValuePair.Create(address, failures))) continue;
                Reset(failures, now);
            }
        }
    }
}
