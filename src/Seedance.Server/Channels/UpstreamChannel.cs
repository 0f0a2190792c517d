using Seedance.Server.Infrastructure;
using Seedance.Server.Providers;

namespace Seedance.Server.Channels;

/// <summary>An upstream account in rotation: its provider and its health.</summary>
public sealed class UpstreamChannel(ChannelOptions options, IVideoProvider provider)
{
    private const int RecentErrorsKept = 10;
    private readonly Lock _lock = new();
    private readonly Queue<ChannelError> _recentErrors = new();
    private int _consecutiveFailures;
    private DateTime? _cooldownUntil;

    public ChannelOptions Options { get; } = options;
    public IVideoProvider Provider { get; } = provider;
    public string Name => Options.Name;

    public bool IsCoolingDown(DateTime now)
    {
        lock (_lock) return _cooldownUntil > now;
    }

    public void RecordSuccess()
    {
        lock (_lock) _consecutiveFailures = 0;
    }

    /// <summary>A failure that is the channel's: enough of them in a row take it out of rotation for the cool-down.</summary>
    public void RecordFailure(string what, DateTime now)
    {
        lock (_lock)
        {
            _recentErrors.Enqueue(new ChannelError(now, what));
            while (_recentErrors.Count > RecentErrorsKept) _recentErrors.Dequeue();
            if (++_consecutiveFailures < Options.FailuresBeforeCooldown) return;
            _cooldownUntil = now.AddSeconds(Options.CooldownSeconds);
            _consecutiveFailures = 0;
        }
    }

    public ChannelHealth Health(DateTime now)
    {
        lock (_lock)
            return new ChannelHealth(_cooldownUntil > now ? "cooling_down" : "active", _cooldownUntil > now ? _cooldownUntil : null,
                _consecutiveFailures, _recentErrors.Reverse().ToList());
    }
}

public sealed record ChannelError(DateTime At, string Error);

public sealed record ChannelHealth(string State, DateTime? CooldownUntil, int ConsecutiveFailures, IReadOnlyList<ChannelError> RecentErrors);
