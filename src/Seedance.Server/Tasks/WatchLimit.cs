using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Seedance.Server.Infrastructure;

namespace Seedance.Server.Tasks;

/// <summary>
/// How many long-polls and event streams each key holds open on this node: each holds a connection and a subscription
/// for up to a minute (a stream, for as long as its task runs), so a key may hold at most <c>Seedance:Keys:MaxOpenWatches</c>;
/// one more is refused with 429 RATE_LIMIT_EXCEEDED and <c>Retry-After</c>, until one ends.
/// </summary>
public sealed class WatchLimit(IOptions<SeedanceOptions> options)
{
    private readonly ConcurrentDictionary<long, int> _open = new();

    /// <summary>Takes one of the key's places; dispose to give it back.</summary>
    public Place Enter(HttpContext context, long keyId)
    {
        var max = options.Value.Keys.MaxOpenWatches;
        var now = _open.AddOrUpdate(keyId, 1, (_, n) => n + 1);
        if (now <= max) return new Place(this, keyId);
        Leave(keyId);
        context.Response.Headers.RetryAfter = "1";
        throw ApiError.TooManyWatches(max);
    }

    /// <summary>How many the key holds open now.</summary>
    public int OpenFor(long keyId) => _open.GetValueOrDefault(keyId);

    private void Leave(long keyId)
    {
        if (_open.AddOrUpdate(keyId, 0, (_, n) => n - 1) == 0) _open.TryRemove(KeyValuePair.Create(keyId, 0));
    }

    public readonly struct Place(WatchLimit limit, long keyId) : IDisposable
    {
        public void Dispose() => limit.Leave(keyId);
    }
}
