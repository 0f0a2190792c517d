using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging.Abstractions;
using Seedance.Server.Data;
using Seedance.Server.Tasks;
using Seedance.Server.Tests.Support;

namespace Seedance.Server.Tests.Stores;

/// <summary>
/// The times the estimates are made of: the store records when a task was handed over, started and finished, on the
/// clock; the history of run times comes from the completions it publishes (or another node's, read by id), or from the
/// database at a node's start.
/// </summary>
public sealed class TaskTimingTests
{
    [Fact]
    public async Task TheStoreRecordsEachMoveOnTheClockAndTheEstimatesComeFromTheRunsItMeasured()
    {
        await using var host = await StoreHost.StartAsync();
        var keyId = await TaskStoreTests.NewKeyAsync(host, credits: 100m);
        var tasks = host.Get<TaskStore>();
        var heard = new TaskTimings(host.Get<IServiceScopeFactory>(), host.Clock, NullLogger<TaskTimings>.Instance);
        // Another node hears only the task's id and status: it reads the row once.
        var elsewhere = new TaskTimings(host.Get<IServiceScopeFactory>(), host.Clock, NullLogger<TaskTimings>.Instance);

        foreach (var seconds in new[] { 40, 60, 50 })
        {
            var task = TaskStoreTests.NewTask(host, keyId, 1m);
            Assert.True((await tasks.SubmitAsync(task, [], null, default)).Accepted);
            host.Clock.Advance(TimeSpan.FromSeconds(2));
            var queuedAt = host.Now;
            Assert.Equal(HandOver.Queued, await tasks.QueueAsync(task.TaskId, "sandbox", false, "up-" + task.TaskId, default));
            host.Clock.Advance(TimeSpan.FromSeconds(10));
            var startedAt = host.Now;
            Assert.True(await tasks.StartProcessingAsync(task.TaskId, default));
            host.Clock.Advance(TimeSpan.FromSeconds(seconds - 10));
            Assert.True(await tasks.CompleteAsync(task, $"results/{task.TaskId}/video.mp4", null, null, 1, 4, default));

            var row = await host.ReadAsync(db => db.Tasks.AsNoTracking().SingleAsync(t => t.TaskId == task.TaskId));
            Assert.Equal(((DateTime?)queuedAt, (DateTime?)startedAt, (DateTime?)host.Now), (row.QueuedAt, row.ProcessingAt, row.FinishedAt));
            await heard.OnChangedAsync(host.Published[^1], default); // the completion, as the server's observers hear it
            await elsewhere.OnChangedAsync(new TaskChanged(task.TaskId, VideoTaskStatus.Completed, FromOtherNode: true), default);
        }
        var cancelled = TaskStoreTests.NewTask(host, keyId, 1m);
        Assert.True((await tasks.SubmitAsync(cancelled, [], null, default)).Accepted);
        Assert.True(await tasks.CancelAsync(cancelled, [VideoTaskStatus.Pending], default));
        var cancelledRow = await host.ReadAsync(db => db.Tasks.AsNoTracking().SingleAsync(t => t.TaskId == cancelled.TaskId));
        Assert.Equal(((DateTime?)null, (DateTime?)null, (DateTime?)host.Now), (cancelledRow.QueuedAt, cancelledRow.ProcessingAt, cancelledRow.FinishedAt));

        var running = TaskStoreTests.NewTask(host, keyId, 1m);
        (running.Status, running.QueuedAt, running.ChannelName) = (VideoTaskStatus.Processing, host.Now, "sandbox");
        var started = new TaskTimings(host.Get<IServiceScopeFactory>(), host.Clock, NullLogger<TaskTimings>.Instance);
        Assert.Null(started.MedianRun(running));
        await started.SeedAsync(default); // a node starting: the last completions in the database

        foreach (var timings in new[] { heard, elsewhere, started })
        {
            Assert.Equal(50, timings.MedianRun(running));
            Assert.Equal(new TaskOutlook(null, host.Now.AddSeconds(50), 0), timings.OutlookOf(running));
        }
        host.Clock.Advance(TimeSpan.FromSeconds(20));
        Assert.Equal(new TaskOutlook(null, host.Now.AddSeconds(30), 40), started.OutlookOf(running));
    }
}
