using Microsoft.Extensions.Options;
using Seedance.Server.Data;
using Seedance.Server.Infrastructure;
using Seedance.Server.Storage;

namespace Seedance.Server.Tasks;

/// <summary>
/// The life of a finished task's result files (video, last frame, thumbnail): removed when the customer deletes them
/// (<c>DELETE /api/v1/video/task/{task_id}</c>) or when they are older than the key's retention. The files go from the
/// store first, then the task forgets them: a removal cut short leaves a task whose links answer 404 and that the next
/// removal finishes, never a file that no task names. The task itself stays, with its cost; the ledger does not move.
/// </summary>
public sealed class TaskResults(TaskStore tasks, FileStore store, IServiceScopeFactory scopes, IOptions<SeedanceOptions> options, ILogger<TaskResults> logger)
{
    /// <summary>Removes the result files of <paramref name="task"/> (finished); false when it had none left.</summary>
    public async Task<bool> RemoveAsync(VideoTask task, CancellationToken ct)
    {
        foreach (var path in new[] { task.VideoFile, task.LastFrameFile, task.ThumbnailFile }.OfType<string>()) await store.DeleteAsync(path, ct);
        return await tasks.RemoveResultsAsync(task.TaskId, ct);
    }

    /// <summary>Removes the results of up to <paramref name="batch"/> tasks past their retention; how many.</summary>
    public async Task<int> RemoveExpiredAsync(int batch, CancellationToken ct)
    {
        List<VideoTask> due;
        await using (var scope = scopes.CreateAsyncScope())
            due = await TaskStore.ResultsDueAsync(scope.ServiceProvider.GetRequiredService<SeedanceDb>(), tasks.Now, options.Value.Tasks.ResultRetentionDays, batch, ct);
        var removed = 0;
        foreach (var task in due)
        {
            if (await RemoveAsync(task, ct)) removed++;
        }
        if (removed > 0) logger.LogInformation("Removed the result files of {Count} tasks past their retention", removed);
        return removed;
    }
}
