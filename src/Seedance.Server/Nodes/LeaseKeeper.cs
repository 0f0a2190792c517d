using Seedance.Server.Data;
using Seedance.Server.Infrastructure;

namespace Seedance.Server.Nodes;

/// <summary>
/// The heartbeat: renews this node's leases three times per lease time. When the node stops in good
/// order (after the workers, which are registered after it), its leases run out at once, so the other
/// nodes take its work over without waiting out the lease time.
/// </summary>
public sealed class LeaseKeeper(LeaseStore leases, NodeIdentity node, TimeProvider clock, ILogger<LeaseKeeper> logger)
    : PeriodicWorker(clock, logger)
{
    protected override TimeSpan Interval => node.HeartbeatInterval;

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        try { await leases.GiveUpAllAsync(Clock.GetUtcNow().UtcDateTime, cancellationToken); }
        catch (Exception e) when (e is not OperationCanceledException) { Logger.LogWarning(e, "Could not give up this node's leases; they run out by themselves"); }
    }

    public override async Task<bool> RunOnceAsync(CancellationToken ct)
    {
        await leases.RenewAsync(Clock.GetUtcNow().UtcDateTime, ct);
        return false;
    }
}
