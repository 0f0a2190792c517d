using System.Net.Http.Headers;

namespace Seedance.Server.Callbacks;

/// <summary>
/// The Standard Webhooks retry schedule: immediately, then 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h
/// after each failure (eight attempts), each wait stretched by up to 10 % of jitter so that many
/// deliveries failing together do not return together. A longer <c>Retry-After</c> is honoured.
/// </summary>
public static class WebhookSchedule
{
    public static readonly TimeSpan[] RetryDelays =
    [
        TimeSpan.FromSeconds(5), TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(30), TimeSpan.FromHours(2),
        TimeSpan.FromHours(5), TimeSpan.FromHours(10), TimeSpan.FromHours(10),
    ];

    public static int MaxAttempts => RetryDelays.Length + 1;

    /// <summary>A receiver's Retry-After is honoured up to this long.</summary>
    public static readonly TimeSpan MaxRetryAfter = TimeSpan.FromHours(24);

    public const double Jitter = 0.1;

    /// <summary>The wait after <paramref name="attemptsMade"/> failed attempts, or null when none is left.</summary>
    /// <param name="jitter">A number in [0, 1): how much of the allowed jitter to add.</param>
    public static TimeSpan? NextDelay(int attemptsMade, TimeSpan? retryAfter, double jitter)
    {
        if (attemptsMade < 1 || attemptsMade >= MaxAttempts) return null;
        var delay = RetryDelays[attemptsMade - 1] * (1 + Jitter * jitter);
        if (retryAfter is { } asked && asked > delay) delay = asked < MaxRetryAfter ? asked : MaxRetryAfter;
        return delay;
    }

    /// <summary>Retry-After as seconds or as an HTTP date, relative to <paramref name="now"/>.</summary>
    public static TimeSpan? RetryAfter(RetryConditionHeaderValue? header, DateTimeOffset now) => header switch
    {
        { Delta: { } delta } => delta,
        { Date: { } date } => date > now ? date - now : TimeSpan.Zero,
        _ => null,
    };

    /// <summary>Parses a raw Retry-After value (seconds or HTTP date).</summary>
    public static TimeSpan? RetryAfter(string? value, DateTimeOffset now) =>
        RetryConditionHeaderValue.TryParse(value, out var header) ? RetryAfter(header, now) : null;
}
