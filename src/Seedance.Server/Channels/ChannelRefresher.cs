using Seedance.Server.Infrastructure;

namespace Seedance.Server.Channels;

/// <summary>
/// Every second, compares the stored channels' versions with the ones this node runs, and reloads on a difference: a
/// change made on another node or by the command line reaches this node within a second, on either database.
/// </summary>
public sealed class ChannelRefresher(ChannelPool channels, TimeProvider clock, ILogger<ChannelRefresher> logger) : PeriodicWorker(clock, logger)
{
    // Real time, not the clock's: tests that stop their clock still see other nodes' changes.
    protected override TimeSpan Interval => TimeSpan.FromSeconds(1);

    public override async Task<bool> RunOnceAsync(CancellationToken ct)
    {
        if (await channels.RefreshAsync(ct)) Logger.LogInformation("Channels changed elsewhere: reloaded");
        return false;
    }
}
