namespace Seedance.Server.Infrastructure;

/// <summary>
/// A background loop: one round, then a pause; a failed round is logged and the next one tries again.
/// A round that reports more work waiting is followed at once by the next.
/// </summary>
public abstract class PeriodicWorker(TimeProvider clock, ILogger logger) : BackgroundService
{
    private readonly SemaphoreSlim _wake = new(0, 1);

    protected TimeProvider Clock { get; } = clock;
    protected ILogger Logger { get; } = logger;

    protected abstract TimeSpan Interval { get; }

    /// <summary>Starts the next round now instead of at the end of the pause.</summary>
    public void Wake()
    {
        try { _wake.Release(); } catch (SemaphoreFullException) { /* already woken */ }
    }

    /// <summary>One round; true when more work is known to be waiting.</summary>
    public abstract Task<bool> RunOnceAsync(CancellationToken ct);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (await RunOnceAsync(stoppingToken)) continue;
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { return; }
            catch (Exception e) { Logger.LogError(e, "{Worker} round failed; retrying next round", GetType().Name); }
            await ((Task)_wake.WaitAsync(Interval, stoppingToken)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }
}
