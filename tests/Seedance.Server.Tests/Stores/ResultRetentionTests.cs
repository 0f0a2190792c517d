using Microsoft.EntityFrameworkCore;
using Seedance.Server.Data;
using Seedance.Server.Storage;
using Seedance.Server.Tasks;
using Seedance.Server.Tests.Support;

namespace Seedance.Server.Tests.Stores;

/// <summary>
/// Retention: a finished task's result files are removed once they are older than its key's retention (or the server's),
/// by age, on a fake clock; the task stays with its cost and the ledger does not move. On the second pass the files are
/// in the S3 bucket.
/// </summary>
public sealed class ResultRetentionTests
{
    [Fact]
    public async Task ResultFilesOlderThanTheirKeysRetentionAreRemovedOldestFirstAndTheTasksStayWithTheirCost()
    {
        await using var host = await StoreHost.StartAsync(settings: new() { ["Seedance:Tasks:ResultRetentionDays"] = "7" });
        var (tasks, store, results) = (host.Get<TaskStore>(), host.Get<FileStore>(), host.Get<TaskResults>());
        var usual = await TaskStoreTests.NewKeyAsync(host, credits: 100m);
        var brief = await TaskStoreTests.NewKeyAsync(host, credits: 100m);
        Assert.True(await host.Get<KeyStore>().UpdateAsync(brief, new KeySettings(null, null, null, null, null, ResultRetentionDays: 1), host.Now, default));

        async Task<string> CompletedAsync(long keyId)
        {
            var task = TaskStoreTests.NewTask(host, keyId, 3.6m);
            Assert.True((await tasks.SubmitAsync(task, [], null, default)).Accepted);
            Assert.Equal(HandOver.Queued, await tasks.QueueAsync(task.TaskId, "sandbox", false, "up-" + task.TaskId, default));
            var (video, frame, poster) = (FileStore.ResultPath(task.TaskId, "video.mp4"), FileStore.ResultPath(task.TaskId, "last_frame.png"),
                FileStore.ResultPath(task.TaskId, "thumbnail.jpg"));
            foreach (var path in new[] { video, frame, poster }) await store.WriteAsync(path, (s, ct) => s.WriteAsync("result"u8.ToArray(), ct).AsTask(), default);
            Assert.True(await tasks.CompleteAsync(task, video, frame, poster, 1, 4, default));
            return task.TaskId;
        }
        async Task<bool> HasFilesAsync(string taskId)
        {
            var row = await host.ReadAsync(db => db.Tasks.AsNoTracking().SingleAsync(t => t.TaskId == taskId));
            var stored = await store.InspectAsync(FileStore.ResultPath(taskId, "video.mp4"), 1, default) is not null;
            Assert.Equal(stored, row.VideoFile is not null); // the row names its files exactly while they are there
            Assert.Equal(stored, await store.InspectAsync(FileStore.ResultPath(taskId, "last_frame.png"), 1, default) is not null);
            Assert.Equal(stored, await store.InspectAsync(FileStore.ResultPath(taskId, "thumbnail.jpg"), 1, default) is not null);
            Assert.Equal(stored, row.ThumbnailFile is not null);
            Assert.Equal(stored, row.ResultsRemovedAt is null);
            return stored;
        }

        var usualOld = await CompletedAsync(usual);
        var briefOld = await CompletedAsync(brief);
        host.Clock.Advance(TimeSpan.FromDays(2));
        var usualRecent = await CompletedAsync(usual);
        var briefRecent = await CompletedAsync(brief);

        host.Clock.Advance(TimeSpan.FromHours(12)); // the first two are 2.5 days old, the others half a day
        Assert.Equal(1, await results.RemoveExpiredAsync(500, default));
        var afterTwoDays = await Task.WhenAll(new[] { usualOld, briefOld, usualRecent, briefRecent }.Select(HasFilesAsync));
        Assert.Equal([true, false, true, true], afterTwoDays);

        host.Clock.Advance(TimeSpan.FromDays(5)); // 7.5 and 5.5 days old
        Assert.Equal(2, await results.RemoveExpiredAsync(500, default));
        var afterAWeek = await Task.WhenAll(new[] { usualOld, briefOld, usualRecent, briefRecent }.Select(HasFilesAsync));
        Assert.Equal([false, false, true, false], afterAWeek);
        Assert.Equal(0, await results.RemoveExpiredAsync(500, default));

        var keys = await host.ReadAsync(db => db.ApiKeys.AsNoTracking().Where(k => k.Id == usual || k.Id == brief).ToListAsync());
        Assert.All(keys, k => Assert.Equal((7.2m, 0m), (k.UsedCredits, k.ReservedCredits)));
        Assert.Equal(4, await host.ReadAsync(db => db.Tasks.CountAsync(t => t.Status == VideoTaskStatus.Completed && t.CreditCost == 3.6m)));
        Assert.Equal(8, await host.ReadAsync(db => db.Ledger.CountAsync(l => l.TaskId != null)));
    }
}
