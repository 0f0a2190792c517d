using Seedance.Client.Tests.Support;

namespace Seedance.Client.Tests;

/// <summary>The SDK's usage report and request log, against the real server.</summary>
public sealed class SdkUsageTests(SdkServer fixture) : IClassFixture<SdkServer>
{
    [Fact]
    public async Task TheKeysUsageAndItsOwnRequestsAreReadThroughTheSdk()
    {
        var (client, _) = await fixture.NewClientAsync();
        using var _c = client;
        var operation = await client.GenerateVideoAsync(new VideoGenerationRequest("A paper boat on a pond")
        {
            Resolution = VideoResolution.P480, Duration = 4,
        });
        Assert.Equal(VideoTaskStatus.Completed, operation.Status);

        var usage = await client.GetUsageAsync(DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddHours(1), byDay: true, byModel: true);
        var row = Assert.Single(usage.Rows);
        Assert.Equal(("seedance-2.0", 1, 1, 4L, 3.6m), (row.Model, row.Tasks, row.Completed, row.VideoSeconds, row.Credits));
        Assert.Equal(DateTime.UtcNow.ToString("yyyy-MM-dd"), row.Day);
        Assert.Equal(3.6m, usage.Total.Credits);

        var missing = await Assert.ThrowsAsync<SeedanceException>(() => client.GetTaskAsync("0192f0c0a1b2c3d4e5f60718293a4b5c"));
        List<ApiRequestSummary> refused = [];
        for (var attempt = 0; attempt < 100 && refused.Count == 0; attempt++)
        {
            refused = await client.ListRequestsAsync(status: "404", pageSize: 1).ToListAsync();
            if (refused.Count == 0) await Task.Delay(100); // the log is written about a second after the request
        }
        var logged = Assert.Single(refused);
        Assert.Equal(("GET", 404, "TASK_NOT_FOUND"), (logged.Method, logged.Status, logged.Code));
        Assert.EndsWith("/0192f0c0a1b2c3d4e5f60718293a4b5c", logged.Path);
        Assert.Contains(await client.ListRequestsAsync(pageSize: 2).ToListAsync(), r => r.Route == "/api/v1/video/task" && r.Method == "POST");
    }
}
