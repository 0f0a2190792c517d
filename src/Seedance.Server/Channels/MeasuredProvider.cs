using System.Diagnostics;
using Seedance.Server.Infrastructure;
using Seedance.Server.Providers;

namespace Seedance.Server.Channels;

/// <summary>
/// A channel's provider with each upstream call measured: counted in the channel's health (answered or not, and how long
/// it took), in <c>seedance_upstream_requests_total</c> and <c>seedance_upstream_request_duration_seconds</c>, and traced as
/// a span under the task's own (its hand-over, its check). A result's download is measured but not held against the
/// channel's health.
/// </summary>
public sealed class MeasuredProvider(IVideoProvider inner, ChannelHealth health, TimeProvider clock, string channel, SeedanceMetrics metrics) : IVideoProvider
{
    public string Name => inner.Name;
    public int BatchSize => inner.BatchSize;

    public Task<string> SubmitAsync(ProviderRequest request, CancellationToken ct) => Measure("submit", () => inner.SubmitAsync(request, ct));
    public Task<ProviderTaskState> GetAsync(string providerTaskId, CancellationToken ct) => Measure("get", () => inner.GetAsync(providerTaskId, ct));
    public Task<IReadOnlyDictionary<string, ProviderTaskState>> GetManyAsync(IReadOnlyList<string> providerTaskIds, CancellationToken ct) =>
        Measure("get_many", () => inner.GetManyAsync(providerTaskIds, ct));
    public Task<bool> CancelAsync(string providerTaskId, CancellationToken ct) => Measure("cancel", () => inner.CancelAsync(providerTaskId, ct));
    public Task CheckAsync(CancellationToken ct) => Measure("check", async () => { await inner.CheckAsync(ct); return true; });
    public Task DownloadAsync(string url, Stream destination, CancellationToken ct) =>
        Measure("download", async () => { await inner.DownloadAsync(url, destination, ct); return true; }, countsForHealth: false);

    private async Task<T> Measure<T>(string operation, Func<Task<T>> call, bool countsForHealth = true)
    {
        using var span = SeedanceTracing.Start("upstream " + operation, ActivityKind.Client);
        span?.SetTag("seedance.channel", channel).SetTag("seedance.upstream.operation", operation);
        var started = Stopwatch.GetTimestamp();
        var outcome = UpstreamOutcome.Error;
        try
        {
            var result = await call();
            outcome = UpstreamOutcome.Ok;
            return result;
        }
        catch (ProviderException e)
        {
            // A refusal that is the user's is an answer: the upstream works.
            outcome = e.Fault switch { ProviderFault.User => UpstreamOutcome.Refused, ProviderFault.RateLimited => UpstreamOutcome.RateLimited, _ => UpstreamOutcome.Error };
            span.Fail(e);
            throw;
        }
        catch (Exception e)
        {
            span.Fail(e);
            throw;
        }
        finally
        {
            var took = Stopwatch.GetElapsedTime(started);
            if (countsForHealth) health.RecordCall(clock.GetUtcNow().UtcDateTime, outcome is UpstreamOutcome.Ok or UpstreamOutcome.Refused, took);
            metrics.UpstreamRequest(channel, operation, outcome, took);
            span?.SetTag("seedance.upstream.outcome", outcome);
        }
    }
}
