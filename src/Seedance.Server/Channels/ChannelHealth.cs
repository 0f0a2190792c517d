using Seedance.Server.Infrastructure;

namespace Seedance.Server.Channels;

/// <summary>
/// What this node has seen of one channel: failures in a row and the cool-down they cause, the last errors, and each
/// upstream call of the last hour (answered or not, how long it took) in one-minute buckets.
/// </summary>
public sealed class ChannelHealth
{
    private const int RecentErrorsKept = 10, Minutes = 60;
    private readonly Lock _lock = new();
    private readonly Queue<ChannelError> _recentErrors = new();
    private readonly (long Minute, int Calls, int Failures, double Milliseconds)[] _buckets = new (long, int, int, double)[Minutes];
    private int _consecutiveFailures;
    private DateTime? _cooldownUntil;

    public bool IsCoolingDown(DateTime now)
    {
        lock (_lock) return _cooldownUntil > now;
    }

    public void RecordSuccess()
    {
        lock (_lock) _consecutiveFailures = 0;
    }

    public void RecordFailure(string what, DateTime now, ChannelOptions options)
    {
        lock (_lock)
        {
            _recentErrors.Enqueue(new ChannelError(now, what));
            while (_recentErrors.Count > RecentErrorsKept) _recentErrors.Dequeue();
            if (++_consecutiveFailures < options.FailuresBeforeCooldown) return;
            _cooldownUntil = now.AddSeconds(options.CooldownSeconds);
            _consecutiveFailures = 0;
        }
    }

    /// <summary>One upstream call: whether the upstream answered (a refusal of the user's request is an answer) and how long it took.</summary>
    public void RecordCall(DateTime now, bool answered, TimeSpan took)
    {
        var minute = now.Ticks / TimeSpan.TicksPerMinute;
        lock (_lock)
        {
            ref var bucket = ref _buckets[minute % Minutes];
            if (bucket.Minute != minute) bucket = (minute, 0, 0, 0);
            bucket.Calls++;
            if (!answered) bucket.Failures++;
            bucket.Milliseconds += took.TotalMilliseconds;
        }
    }

    public HealthReport Report(DateTime now)
    {
        var minute = now.Ticks / TimeSpan.TicksPerMinute;
        lock (_lock)
        {
            var hour = _buckets.Where(b => b.Calls > 0 && b.Minute > minute - Minutes && b.Minute <= minute).ToList();
            var calls = hour.Sum(b => b.Calls);
            return new HealthReport(_cooldownUntil > now ? _cooldownUntil : null, _consecutiveFailures, _recentErrors.Reverse().ToList(), calls,
                calls == 0 ? null : Math.Round(1 - (double)hour.Sum(b => b.Failures) / calls, 4),
                calls == 0 ? null : Math.Round(hour.Sum(b => b.Milliseconds) / calls, 1));
        }
    }
}

public sealed record ChannelError(DateTime At, string Error);

/// <param name="CallsLastHour">Upstream calls this node made on the channel in the last hour.</param>
/// <param name="SuccessRate">The share of them the upstream answered (0-1); null without calls.</param>
/// <param name="AverageLatencyMs">Their mean duration in milliseconds; null without calls.</param>
public sealed record HealthReport(DateTime? CooldownUntil, int ConsecutiveFailures, IReadOnlyList<ChannelError> RecentErrors, int CallsLastHour,
    double? SuccessRate, double? AverageLatencyMs);
