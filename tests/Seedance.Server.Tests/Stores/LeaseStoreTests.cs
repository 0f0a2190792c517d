using Microsoft.EntityFrameworkCore;
using Seedance.Server.Data;
using Seedance.Server.Tests.Support;

namespace Seedance.Server.Tests.Stores;

/// <summary>Claims on shared work between two nodes of one database, on a fake clock: a live lease holds, a lapsed one passes on.</summary>
public sealed class LeaseStoreTests
{
    [Fact]
    public async Task APendingTaskClaimedByOneNodeIsNotClaimedByAnotherUntilTheLeaseRunsOutUnrenewed()
    {
        await using var nodeA = await StoreHost.StartAsync("node-a");
        await using var nodeB = await StoreHost.StartAsync("node-b", sameDatabaseAs: nodeA);
        var keyId = await TaskStoreTests.NewKeyAsync(nodeA, credits: 100m, maxConcurrent: 2);
        var tasks = nodeA.Get<TaskStore>();
        foreach (var _ in Enumerable.Range(0, 3)) Assert.True((await tasks.SubmitAsync(TaskStoreTests.NewTask(nodeA, keyId, 0.9m), [], null, default)).Accepted);
        var lease = nodeA.Get<Infrastructure.NodeIdentity>().Lease;

        var claimedByA = await nodeA.Get<LeaseStore>().ClaimPendingAsync(keyId, 10, nodeA.Now, default);
        Assert.Equal(2, claimedByA.Count); // the key's two free slots, oldest first
        Assert.Empty(await nodeB.Get<LeaseStore>().ClaimPendingAsync(keyId, 10, nodeA.Now, default)); // both slots taken by live claims

        nodeA.Clock.Advance(lease / 2);
        Assert.Equal(2, await nodeA.Get<LeaseStore>().RenewAsync(nodeA.Now, default));
        nodeA.Clock.Advance(lease * 0.9);
        Assert.Empty(await nodeB.Get<LeaseStore>().ClaimPendingAsync(keyId, 10, nodeA.Now, default)); // renewed: still A's

        nodeA.Clock.Advance(lease); // A stopped heartbeating
        var claimedByB = await nodeB.Get<LeaseStore>().ClaimPendingAsync(keyId, 10, nodeA.Now, default);
        Assert.Equal(claimedByA.Order(), claimedByB.Order());
        var owners = await nodeA.ReadAsync(db => db.Tasks.Where(t => claimedByB.Contains(t.Seq)).Select(t => t.LeaseOwner).Distinct().ToListAsync());
        Assert.Equal(["node-b"], owners);
    }

    [Fact]
    public async Task ANodeThatStopsGivesUpItsLeasesSoAnotherTakesTheWorkAtOnce()
    {
        await using var nodeA = await StoreHost.StartAsync("node-a");
        await using var nodeB = await StoreHost.StartAsync("node-b", sameDatabaseAs: nodeA);
        var keyId = await TaskStoreTests.NewKeyAsync(nodeA, credits: 100m);
        var task = TaskStoreTests.NewTask(nodeA, keyId, 0.9m);
        Assert.True((await nodeA.Get<TaskStore>().SubmitAsync(task, [], null, default)).Accepted);
        Assert.Single(await nodeA.Get<LeaseStore>().ClaimPendingAsync(keyId, 10, nodeA.Now, default));

        await nodeA.Get<LeaseStore>().GiveUpAllAsync(nodeA.Now, default);

        Assert.Single(await nodeB.Get<LeaseStore>().ClaimPendingAsync(keyId, 10, nodeA.Now, default));
    }

    [Fact]
    public async Task AHandOverStartsOnlyWhileTheClaimHoldsAndAReleasedTaskIsFreeForAnyNode()
    {
        await using var host = await StoreHost.StartAsync("node-a");
        var keyId = await TaskStoreTests.NewKeyAsync(host, credits: 100m);
        var task = TaskStoreTests.NewTask(host, keyId, 0.9m);
        Assert.True((await host.Get<TaskStore>().SubmitAsync(task, [], null, default)).Accepted);
        var leases = host.Get<LeaseStore>();

        Assert.False(await leases.StartHandOverAsync(task.TaskId, host.Now, default)); // not claimed
        Assert.Single(await leases.ClaimPendingAsync(keyId, 10, host.Now, default));
        Assert.True(await leases.StartHandOverAsync(task.TaskId, host.Now, default));
        Assert.Equal(1, await leases.ReleasePendingAsync(task.TaskId, default));

        var row = await host.ReadAsync(db => db.Tasks.SingleAsync(t => t.TaskId == task.TaskId));
        Assert.Null(row.LeaseOwner);
        Assert.Null(row.HandOverStartedAt);
    }

    [Fact]
    public async Task AfterARestartTheWorkTheNodesPreviousLifeClaimedIsClaimedAgainEvenWhenTheHeartbeatBeatsFirst()
    {
        await using var previousLife = await StoreHost.StartAsync("node-a");
        var keyId = await TaskStoreTests.NewKeyAsync(previousLife, credits: 100m, maxConcurrent: 1);
        var task = TaskStoreTests.NewTask(previousLife, keyId, 0.9m);
        Assert.True((await previousLife.Get<TaskStore>().SubmitAsync(task, [], null, default)).Accepted);
        var delivery = await previousLife.Get<CallbackOutbox>().RedeliverAsync(new WebhookDelivery
        {
            WebhookId = CallbackOutbox.NewWebhookId(), TaskId = task.TaskId, KeyId = keyId, Url = "https://example.com/hook", Payload = "{}", Status = DeliveryStatus.Pending,
        }, previousLife.Now, default);
        Assert.Single(await previousLife.Get<LeaseStore>().ClaimPendingAsync(keyId, 10, previousLife.Now, default));
        Assert.Equal([delivery.Id], await previousLife.Get<LeaseStore>().ClaimDeliveriesAsync(10, previousLife.Now, default));

        // killed before it handed the task over or sent the callback; started again under the same node id
        await using var thisLife = await StoreHost.StartAsync("node-a", sameDatabaseAs: previousLife);
        var leases = thisLife.Get<LeaseStore>();
        await leases.ExpirePreviousLifeAsync(thisLife.Now, default);
        Assert.Equal(0, await leases.RenewAsync(thisLife.Now, default)); // this life's heartbeat holds nothing of the last one's
        thisLife.Clock.Advance(TimeSpan.FromMilliseconds(100));

        Assert.Single(await leases.ClaimPendingAsync(keyId, 10, thisLife.Now, default));
        Assert.Equal([delivery.Id], await leases.ClaimDeliveriesAsync(10, thisLife.Now, default));
    }
}
