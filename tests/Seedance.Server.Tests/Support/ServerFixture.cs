using System.Net.Http.Headers;
using System.Text;

namespace Seedance.Server.Tests.Support;

/// <summary>One running server shared by the tests of a class; each test makes its own keys.</summary>
public class ServerFixture : IAsyncLifetime
{
    /// <summary>A prompt the sandbox accepts and then never finishes: the task stays active without rendering.</summary>
    public const string Stalled = "A lighthouse at dusk [sandbox:stall]";
    public const string SampleId = "cat-in-rain";

    public RunningServer Server { get; private set; } = null!;

    protected virtual Dictionary<string, string> Settings => new()
    {
        [$"Seedance:Samples:{SampleId}:Prompt"] = "A cat walking in the rain [sandbox:stall]",
        ["Seedance:Tasks:Thumbnails"] = "true",
    };

    public async Task InitializeAsync() => Server = await RunningServer.StartAsync(Settings);

    public async Task DisposeAsync() => await Server.DisposeAsync();
}

/// <summary>
/// The shared server for tests that send a wrong or missing key or token to every route by design (hundreds of failed
/// authentications from one address): the throttle of failed authentications (AuthThrottleTests) is lifted for them.
/// </summary>
public sealed class UnthrottledFixture : ServerFixture
{
    protected override Dictionary<string, string> Settings => new(base.Settings) { ["Seedance:Auth:FailuresPerMinute"] = "100000" };
}

/// <summary>
/// The shared server on local storage even on the S3 pass (<c>SEEDANCE_TEST_STORAGE=s3</c>): for tests of
/// this server's own upload route and files. Uploads to an S3 bucket are tested in S3StorageTests.
/// </summary>
public sealed class LocalStoreFixture : ServerFixture
{
    protected override Dictionary<string, string> Settings => new(base.Settings) { ["Seedance:Storage:Provider"] = "local" };
}

public static class RawRequests
{
    /// <summary>Posts <paramref name="body"/> exactly as given, with the given Content-Type.</summary>
    public static async Task<ApiResponse> PostTextAsync(this ApiClient client, string path, string body, string contentType = "application/json")
    {
        var content = new StringContent(body, Encoding.UTF8);
        content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        return await ApiResponse.From(await client.Http.PostAsync(path, content));
    }

    public static Task<ApiResponse> SubmitRawAsync(this ApiClient client, string body, string contentType = "application/json") =>
        client.PostTextAsync("/api/v1/video/task", body, contentType);
}

/// <summary>A stream that does not tell its length, so the client sends it chunked.</summary>
public sealed class UnknownLengthStream(byte[] bytes) : MemoryStream(bytes)
{
    public override bool CanSeek => false;
}
