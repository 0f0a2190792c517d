using System.Net.Http.Headers;
using System.Text;

namespace Seedance.Server.Tests.Support;

/// <summary>One running server shared by the tests of a class; each test makes its own keys.</summary>
public sealed class ServerFixture : IAsyncLifetime
{
    /// <summary>A prompt the sandbox accepts and then never finishes: the task stays active without rendering.</summary>
    public const string Stalled = "A lighthouse at dusk [sandbox:stall]";
    public const string SampleId = "cat-in-rain";

    public RunningServer Server { get; private set; } = null!;

    public async Task InitializeAsync() => Server = await RunningServer.StartAsync(new()
    {
        [$"Seedance:Samples:{SampleId}:Prompt"] = "A cat walking in the rain [sandbox:stall]",
    });

    public async Task DisposeAsync() => await Server.DisposeAsync();
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
