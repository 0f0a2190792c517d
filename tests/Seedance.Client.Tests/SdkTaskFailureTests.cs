using Seedance.Client.Tests.Support;

namespace Seedance.Client.Tests;

/// <summary>
/// The SDK against the real server: a task that fails with each documented code. A class of its own (and a server of
/// its own), so that its cases, each waiting on the sandbox, run beside the other SDK tests.
/// </summary>
public sealed class SdkTaskFailureTests(SdkServer fixture) : IClassFixture<SdkServer>
{
    public static TheoryData<string> DocumentedCodes() => new(SeedanceErrorCodes.Documented);

    [Theory]
    [MemberData(nameof(DocumentedCodes))]
    public async Task ATaskThatFailsWithADocumentedCodeSurfacesAsSeedanceExceptionWithThatCodeAndTheTaskId(string code)
    {
        var (client, _) = await fixture.NewClientAsync();
        using var _c = client;
        var request = new VideoGenerationRequest($"A failing scene [sandbox:fail={code}]") { Resolution = VideoResolution.P480, Duration = 4 };

        var error = await Assert.ThrowsAsync<SeedanceException>(() => client.GenerateVideoAsync(request));

        Assert.Equal(code, error.Code);
        Assert.NotNull(error.TaskId);
        Assert.Equal(VideoTaskStatus.Failed, (await client.GetTaskAsync(error.TaskId!)).Status);
    }
}
