namespace Seedance.Server.Tests.Support;

/// <summary>
/// A clock for a whole running server: it keeps time with the system's, so renders, queues and polling go on
/// as usual, and a test moves it forward at once to reach a deadline (a time-to-live, a retry time) instead of
/// sleeping until the deadline comes. Timers keep real time. A <c>FakeTimeProvider</c> would stand every
/// worker of the server still between steps; this one stands nothing still.
/// </summary>
public sealed class JumpingClock : TimeProvider
{
    private long _offsetTicks;

    /// <summary>How far ahead of the system's clock this one runs.</summary>
    public TimeSpan Offset => TimeSpan.FromTicks(Interlocked.Read(ref _offsetTicks));

    public override DateTimeOffset GetUtcNow() => System.GetUtcNow() + Offset;

    /// <summary>Moves the clock forward by <paramref name="by"/> at once.</summary>
    public void Jump(TimeSpan by)
    {
        if (by < TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(by), "A clock only moves forward");
        Interlocked.Add(ref _offsetTicks, by.Ticks);
    }

    /// <summary>Moves the clock forward to <paramref name="when"/>, unless it is there already.</summary>
    public void JumpTo(DateTimeOffset when)
    {
        var ahead = when - GetUtcNow();
        if (ahead > TimeSpan.Zero) Jump(ahead);
    }

    /// <summary>Registers this clock as the server's <see cref="TimeProvider"/> (for <see cref="RunningServer.StartAsync"/>).</summary>
    public void Use(IServiceCollection services) => services.AddSingleton<TimeProvider>(this);
}

public static class ClockJumps
{
    /// <summary>
    /// Until <paramref name="condition"/> holds: whenever every active task of the key is waiting for its retry
    /// time (a deferred hand-over or check), moves the clock to the earliest of them. Nothing else is hurried: a
    /// task that is due or at work upstream runs at its own pace. Fails naming <paramref name="what"/> after a
    /// generous real-time deadline.
    /// </summary>
    public static async Task SkipRetryWaitsUntilAsync(this RunningServer server, JumpingClock clock, long keyId, Func<Task<bool>> condition,
        string what, int seconds = 90)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) Assert.Fail($"Still waiting after {seconds} s (the clock {clock.Offset} ahead) for {what}");
            var active = (await server.TaskRowsAsync(keyId)).Where(t => !ServerProbes.Terminal.Contains(t.Status)).ToList();
            var now = clock.GetUtcNow().UtcDateTime;
            if (active.Count > 0 && active.All(t => t.RetryAt > now))
                clock.JumpTo(new DateTimeOffset(DateTime.SpecifyKind(active.Min(t => t.RetryAt!.Value), DateTimeKind.Utc)));
            await Task.Delay(50);
        }
    }
}
