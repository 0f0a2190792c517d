using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Seedance.Server.Data;
using Seedance.Server.Tasks;

namespace Seedance.Server.Tests.Unit;

/// <summary>The estimate of where a task stands, from its timestamps and the run times measured for tasks like it.</summary>
public sealed class TaskEstimateTests
{
    private static readonly DateTime T0 = new(2026, 12, 1, 8, 0, 0, DateTimeKind.Utc);

    private static VideoTask NewTask(string status, DateTime? queuedAt = null, int duration = 4, string? channel = "sandbox") => new()
    {
        TaskId = Guid.NewGuid().ToString("N"), Model = "seedance-2.0", Status = status, Resolution = "480p", Ratio = "16:9", Duration = duration,
        ContentJson = "[]", CreatedAt = T0, UpdatedAt = queuedAt ?? T0, QueuedAt = queuedAt, ChannelName = channel,
    };

    [Fact]
    public void WithoutAHistoryNothingIsEstimatedButAPendingTaskStillHasItsPlace()
    {
        Assert.Equal(TaskOutlook.Unknown, TaskEstimate.Of(NewTask("processing", T0), null, T0.AddSeconds(3), null));
        Assert.Equal(new TaskOutlook(2, null, null), TaskEstimate.Of(NewTask("pending"), null, T0, new KeyQueue(2, 0, 1)));
    }

    [Fact]
    public void ARunningTaskShouldEndTheMedianRunAfterItsHandOverAndItsProgressClimbsWithoutReaching100()
    {
        var task = NewTask("queued", T0);
        var seen = new List<int>();
        for (var second = 0; second <= 40; second++)
        {
            if (second == 4) task.Status = "processing";
            var outlook = TaskEstimate.Of(task, 20, T0.AddSeconds(second), null);
            Assert.Null(outlook.QueuePosition);
            Assert.Equal(second <= 20 ? T0.AddSeconds(20) : T0.AddSeconds(second), outlook.EstimatedFinishAt); // overdue: any moment now
            seen.Add(outlook.Progress!.Value);
        }
        Assert.Equal(seen.Order(), seen);
        Assert.Equal(0, seen[0]);
        Assert.Equal(50, seen[10]);
        Assert.All(seen, p => Assert.InRange(p, 0, 99));
    }

    [Fact]
    public void AFinishedTaskHasNoOutlookButACompletedOneIsAt100()
    {
        Assert.Equal(new TaskOutlook(null, null, 100), TaskEstimate.Of(NewTask("completed", T0), 20, T0.AddSeconds(30), null));
        foreach (var status in new[] { "failed", "cancelled", "expired" })
            Assert.Equal(TaskOutlook.Unknown, TaskEstimate.Of(NewTask(status, T0), 20, T0.AddSeconds(30), null));
    }

    [Theory]
    [InlineData(0, 2, 3, 0)] // a free slot before it: the next round
    [InlineData(1, 2, 3, 0)]
    [InlineData(0, 0, 1, 15)] // the one slot frees half-way through a run
    [InlineData(1, 0, 1, 45)] // a whole run more
    [InlineData(0, 0, 3, 7.5)] // the first of three slots to free: a quarter of a run
    [InlineData(3, 0, 3, 37.5)] // the fourth: a run and a quarter
    [InlineData(2, 1, 3, 15)] // one free slot taken by the task before it, then the second of three to free
    public void APendingTaskWaitsForTheSlotItsPlaceImplies(int ahead, int free, int maxConcurrent, double waitSeconds)
    {
        Assert.Equal(waitSeconds, TaskEstimate.Wait(new KeyQueue(ahead, free, maxConcurrent), 30));
        var outlook = TaskEstimate.Of(NewTask("pending", channel: null), 30, T0, new KeyQueue(ahead, free, maxConcurrent));
        Assert.Equal(new TaskOutlook(ahead, T0.AddSeconds(waitSeconds + 30), 0), outlook);
    }

    [Theory]
    [InlineData(4, 0)]
    [InlineData(5, 0)]
    [InlineData(6, 1)]
    [InlineData(8, 1)]
    [InlineData(9, 2)]
    [InlineData(11, 2)]
    [InlineData(12, 3)]
    [InlineData(15, 3)]
    public void DurationsFallInFourBands(int seconds, int band) => Assert.Equal(band, TaskEstimate.Band(seconds));

    [Fact]
    public void TheHistoryGivesEstimatesOnlyFromThreeCompletionsAndThenTheirMedian()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(T0));
        var timings = new TaskTimings(null!, clock, NullLogger<TaskTimings>.Instance);
        var running = NewTask("processing", T0);
        void Complete(double seconds, int duration = 4, string channel = "sandbox")
        {
            var done = NewTask("completed", T0.AddMinutes(-10), duration, channel);
            done.FinishedAt = done.QueuedAt!.Value.AddSeconds(seconds);
            timings.Record(done);
        }

        Complete(10);
        Complete(30);
        Assert.Equal(TaskOutlook.Unknown, timings.OutlookOf(running));
        Complete(12, duration: 12); // another band
        Assert.Equal(TaskOutlook.Unknown, timings.OutlookOf(running));
        Complete(20);
        Complete(90, channel: "other"); // another channel: counted for tasks that have none yet, not for this one's

        Assert.Equal(20, timings.MedianRun(running));
        Assert.Equal(25, timings.MedianRun(NewTask("pending", channel: null))); // 10, 20, 30, 90
        Assert.Null(timings.MedianRun(NewTask("processing", T0, duration: 15))); // one completion of that band is no history
        clock.Advance(TimeSpan.FromSeconds(5));
        Assert.Equal(new TaskOutlook(null, T0.AddSeconds(20), 25), timings.OutlookOf(running));
    }

    [Fact]
    public void ProgressShownNeverGoesBackWhenALongerRunRaisesTheMedian()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(T0));
        var timings = new TaskTimings(null!, clock, NullLogger<TaskTimings>.Instance);
        foreach (var seconds in new[] { 10.0, 10, 10 })
        {
            var done = NewTask("completed", T0.AddMinutes(-10));
            done.FinishedAt = done.QueuedAt!.Value.AddSeconds(seconds);
            timings.Record(done);
        }
        var running = NewTask("processing", T0);
        clock.Advance(TimeSpan.FromSeconds(5));
        Assert.Equal(50, timings.OutlookOf(running).Progress);

        foreach (var seconds in new[] { 40.0, 40, 40, 40 })
        {
            var done = NewTask("completed", T0.AddMinutes(-10));
            done.FinishedAt = done.QueuedAt!.Value.AddSeconds(seconds);
            timings.Record(done);
        }
        var after = timings.OutlookOf(running);
        Assert.Equal(T0.AddSeconds(40), after.EstimatedFinishAt); // the estimate follows the history
        Assert.Equal(50, after.Progress); // 5 of 40 s would be 12 %: what was shown stays
        clock.Advance(TimeSpan.FromSeconds(25));
        Assert.Equal(75, timings.OutlookOf(running).Progress);
    }
}
