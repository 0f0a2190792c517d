using System.Text.Json;
using Microsoft.Extensions.Caching.Memory;
using Seedance.Server.Data;
using Seedance.Server.Infrastructure;
using Seedance.Server.Storage;

namespace Seedance.Server.Tasks;

/// <summary>
/// The answers to <c>GET /task/{id}</c> of finished tasks, ready to send. A task in a terminal status keeps its
/// status (every status change is conditional on a non-terminal status), so its answer changes only with the hour
/// its result links are signed for, the base URL they are built on (both part of the entry), and the removal of its
/// result files, which is published as a change of the task: the entry goes then, on every node (the other nodes
/// hear of it through <c>NodeRelay</c>). Clients keep polling a task for a while after it ends; those polls cost no
/// database read. Bounded in bytes; an entry not asked for within a minute goes.
/// </summary>
public sealed class TerminalTaskCache(TimeProvider clock) : ITaskObserver, IDisposable
{
    private const long MaxBytes = 32L * 1024 * 1024;
    private static readonly TimeSpan KeptFor = TimeSpan.FromMinutes(1);
    private readonly MemoryCache _answers = new(new MemoryCacheOptions { SizeLimit = MaxBytes });

    private sealed record Entry(long KeyId, string BaseUrl, long Hour, byte[] Body);

    /// <summary>The cached answer for the caller's task, if it is finished and its links are still the ones it would get now.</summary>
    public bool TryGet(long keyId, string taskId, PublicLinks links, out byte[] body)
    {
        body = [];
        if (!_answers.TryGetValue(taskId, out Entry? answer) || answer!.KeyId != keyId || answer.BaseUrl != links.BaseUrl || answer.Hour != CurrentHour())
            return false;
        body = answer.Body;
        return true;
    }

    /// <summary>A finished task changed (its result files were removed): its answer is no longer the one kept.</summary>
    public ValueTask OnChangedAsync(TaskChanged change, CancellationToken ct)
    {
        if (VideoTaskStatus.IsTerminal(change.Status)) _answers.Remove(change.TaskId);
        return ValueTask.CompletedTask;
    }

    /// <summary>The answer for <paramref name="task"/> as the envelope's bytes, kept when the task is finished.</summary>
    /// <param name="outlook">Where an unfinished task stands (a finished one's never changes).</param>
    public byte[] Answer(long keyId, VideoTask task, PublicLinks links, TaskOutlook? outlook = null)
    {
        var hour = CurrentHour();
        var body = JsonSerializer.SerializeToUtf8Bytes(Envelope.Success(TaskView.Of(task, links, outlook: outlook)), Json.Options);
        if (VideoTaskStatus.IsTerminal(task.Status))
            _answers.Set(task.TaskId, new Entry(keyId, links.BaseUrl, hour, body),
                new MemoryCacheEntryOptions { Size = body.Length + 256, SlidingExpiration = KeptFor });
        return body;
    }

    // The hour the result links' expiry is derived from (PublicLinks.Download rounds to it).
    private long CurrentHour() => clock.GetUtcNow().ToUnixTimeSeconds() / 3600;

    public void Dispose() => _answers.Dispose();
}
