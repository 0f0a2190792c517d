using System.Diagnostics;
using Seedance.Server.Providers;

namespace Seedance.Server.Channels;

/// <summary>A channel's provider with each upstream call counted in the channel's health: answered or not, and how long it took.</summary>
public sealed class MeasuredProvider(IVideoProvider inner, ChannelHealth health, TimeProvider clock) : IVideoProvider
{
    public string Name => inner.Name;
    public int BatchSize => inner.BatchSize;

    public Task<string> SubmitAsync(ProviderRequest request, CancellationToken ct) => Measure(() => inner.SubmitAsync(request, ct));
    public Task<ProviderTaskState> GetAsync(string providerTaskId, CancellationToken ct) => Measure(() => inner.GetAsync(providerTaskId, ct));
    public Task<IReadOnlyDictionary<string, ProviderTaskState>> GetManyAsync(IReadOnlyList<string> providerTaskIds, CancellationToken ct) =>
        Measure(() => inner.GetManyAsync(providerTaskIds, ct));
    public Task<bool> CancelAsync(string providerTaskId, CancellationToken ct) => Measure(() => inner.CancelAsync(providerTaskId, ct));
    public Task CheckAsync(CancellationToken ct) => Measure(async () => { await inner.CheckAsync(ct); return true; });
    public Task DownloadAsync(string url, Stream destination, CancellationToken ct) => inner.DownloadAsync(url, destination, ct);

    private async Task<T> Measure<T>(Func<Task<T>> call)
    {
        var started = Stopwatch.GetTimestamp();
        var answered = false;
        try
        {
            var result = await call();
            answered = true;
            return result;
        }
        catch (ProviderException e) when (e.UserFault)
        {
            answered = true; // the upstream answered; the request was the user's fault
            throw;
        }
        finally
        {
            health.RecordCall(clock.GetUtcNow().UtcDateTime, answered, Stopwatch.GetElapsedTime(started));
        }
    }
}
