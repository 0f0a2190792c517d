using Microsoft.EntityFrameworkCore;
using Seedance.Server.Data;
using Seedance.Server.Infrastructure;
using Seedance.Server.Tests.Support;
using static Seedance.Server.Tests.Stores.TaskStoreTests;

namespace Seedance.Server.Tests.Stores;

/// <summary>
/// A channel kept in the database removed while a task is being handed over to it, on this node or another: either
/// the removal wins and the task stays pending naming no channel, or the hand-over wins and the removal is refused.
/// Never both: a task queued at a removed channel could not be tracked.
/// </summary>
public sealed class ChannelRemovalTests
{
    [Fact]
    public async Task AHandOverCommittingAfterItsChannelWasRemovedLeavesTheTaskPendingAndNamingNoChannel()
    {
        await using var host = await StoreHost.StartAsync();
        var (tasks, channels, task) = await PendingTaskAndChannelAsync(host, "ark-gone");

        Assert.Equal(ChannelRemoval.Removed, await channels.RemoveAsync("ark-gone", default));
        Assert.Equal(HandOver.ChannelRemoved, await tasks.QueueAsync(task.TaskId, "ark-gone", stored: true, "up-1", default));

        var row = await host.ReadAsync(db => db.Tasks.AsNoTracking().SingleAsync(t => t.TaskId == task.TaskId));
        Assert.Equal((VideoTaskStatus.Pending, (string?)null, (string?)null), (row.Status, row.ChannelName, row.UpstreamTaskId));
        Assert.DoesNotContain(host.Published, c => c.TaskId == task.TaskId && c.Status == VideoTaskStatus.Queued);
    }

    [Fact]
    public async Task AChannelHoldingAHandedOverTaskIsNotRemoved()
    {
        await using var host = await StoreHost.StartAsync();
        var (tasks, channels, task) = await PendingTaskAndChannelAsync(host, "ark-busy");

        Assert.Equal(HandOver.Queued, await tasks.QueueAsync(task.TaskId, "ark-busy", stored: true, "up-1", default));
        Assert.Equal(ChannelRemoval.InUse, await channels.RemoveAsync("ark-busy", default));
        Assert.Equal(ChannelRemoval.NotFound, await channels.RemoveAsync("ark-never", default));
    }

    [Fact]
    public async Task ARemovalOnAnotherNodeRacingHandOversEndsEachTimeWithExactlyOneOfThemDone()
    {
        await using var host = await StoreHost.StartAsync();
        await using var other = await StoreHost.StartAsync("node-b", sameDatabaseAs: host);
        var keyId = await NewKeyAsync(host, credits: 1000m, maxConcurrent: 100);
        var tasks = host.Get<TaskStore>();
        var channels = host.Get<ChannelStore>();
        var remover = other.Get<ChannelStore>();

        for (var i = 0; i < 25; i++)
        {
            var name = $"ark-{i}";
            var task = NewTask(host, keyId, 0.9m);
            Assert.True((await tasks.SubmitAsync(task, [], null, default)).Accepted);
            Assert.True(await channels.CreateAsync(Channel(name), host.Now, default));

            var handingOver = Task.Run(() => tasks.QueueAsync(task.TaskId, name, stored: true, $"up-{i}", default));
            var removing = Task.Run(() => remover.RemoveAsync(name, default));
            var (handOver, removal) = (await handingOver, await removing);

            var row = await host.ReadAsync(db => db.Tasks.AsNoTracking().SingleAsync(t => t.TaskId == task.TaskId));
            var stillThere = await host.ReadAsync(db => db.Channels.AnyAsync(c => c.Name == name));
            if (removal == ChannelRemoval.Removed)
            {
                Assert.Equal(HandOver.ChannelRemoved, handOver);
                Assert.Equal((VideoTaskStatus.Pending, (string?)null, false), (row.Status, row.ChannelName, stillThere));
            }
            else
            {
                Assert.Equal((ChannelRemoval.InUse, HandOver.Queued), (removal, handOver));
                Assert.Equal((VideoTaskStatus.Queued, name, true), (row.Status, row.ChannelName, stillThere));
            }
        }
    }

    /// <summary>A pending task of a new key, and a stored channel named <paramref name="channel"/>.</summary>
    private static async Task<(TaskStore, ChannelStore, VideoTask)> PendingTaskAndChannelAsync(StoreHost host, string channel)
    {
        var (tasks, channels) = (host.Get<TaskStore>(), host.Get<ChannelStore>());
        var task = NewTask(host, await NewKeyAsync(host, credits: 100m), 0.9m);
        Assert.True((await tasks.SubmitAsync(task, [], null, default)).Accepted);
        Assert.True(await channels.CreateAsync(Channel(channel), host.Now, default));
        return (tasks, channels, task);
    }

    private static ChannelOptions Channel(string name) => new()
    {
        Name = name, Provider = "ark", BaseUrl = "http://127.0.0.1:9/api/v3", Models = new() { ["seedance-2.0"] = "doubao-seedance-2-0-260128" },
    };
}
