using System.Text.Json;
using Microsoft.Extensions.Caching.Memory;
using Seedance.Server.Data;
using Seedance.Server.Infrastructure;
using Seedance.Server.Storage;

namespace Seedance.Server.Tasks;

/// <summary>
/// The answers to <c>GET /task/{id}</c> of finished tasks, ready to send. A task in a terminal status never
/// changes again (every status change is conditional on a non-terminal status), so its answer only changes
/// with the hour its result links are signed for and the base URL they are built on; both are part of the
/// entry. Clients keep polling a task for a while after it ends; those polls cost no database read.
/// Bounded in bytes; an entry not asked for within a minute goes.
/// </summary>
public sealed class TerminalTaskCache(TimeProvider clock) : IDisposable
{
    private const long MaxBytes = 32L * 1024 * 1024;
    private static readonly TimeSpan KeptFor = TimeSpan.FromMinutes(1);
    private readonly MemoryCache _answers = new(new MemoryCacheOptions { SizeLimit = MaxBytes });

    private sealed record Entry(long Hour, byte[] Body);

    /// <summary>The cached answer for the caller's task, if it is finished and its links are still the ones it would get now.</summary>
    public bool TryGet(long keyId, string taskId, PublicLinks links, out byte[] body)
    {
        body = [];
        if (!_answers.TryGetValue(Key(keyId, taskId, links), out Entry? answer) || answer!.Hour != CurrentHour()) return false;
        body = answer.Body;
        return true;
    }

    /// <summary>The answer for <paramref name="task"/> as the envelope's bytes, kept when the task is finished.</summary>
    public byte[] Answer(long keyId, VideoTask task, PublicLinks links)
    {
        var hour = CurrentHour();
        var body = JsonSerializer.SerializeToUtf8Bytes(Envelope.Success(TaskView.Of(task, links)), Json.Options);
        if (VideoTaskStatus.IsTerminal(task.Status))
            _answers.Set(Key(keyId, task.TaskId, links), new Entry(hour, body),
                new MemoryCacheEntryOptions { Size = body.Length + 256, SlidingExpiration = KeptFor });
        return body;
    }

    // The hour the result links' expiry is derived from (PublicLinks.Download rounds to it).
    private long CurrentHour() => clock.GetUtcNow().ToUnixTimeSeconds() / 3600;

    private static string Key(long keyId, string taskId, PublicLinks links) => $"{keyId}/{taskId}/{links.BaseUrl}";

    public void Dispose() => _answers.Dispose();
}
