using Seedance.Client.Tests.Support;

namespace Seedance.Client.Tests;

/// <summary>
/// The <c>seedance</c> command against the real server: <c>generate</c> of a task that fails with each documented code
/// ends with that code and its exit code. A class of its own (and a server of its own), so that its cases, each waiting
/// on the sandbox, run beside the other command tests.
/// </summary>
public sealed class CliTaskFailureTests(SdkServer fixture) : IClassFixture<SdkServer>
{
    public static TheoryData<string, int> TaskFailureExitCodes() => new()
    {
        { "INVALID_API_KEY", 2 }, { "INVALID_PARAMETER", 2 }, { "MISSING_PARAMETER", 2 }, { "TASK_NOT_FOUND", 2 },
        { "INSUFFICIENT_CREDIT", 3 }, { "CONCURRENCY_LIMIT_REACHED", 3 }, { "RATE_LIMIT_EXCEEDED", 3 }, { "CONTENT_MODERATION_FAILED", 3 },
        { "COPYRIGHT_VIOLATION", 3 }, { "PRIVACY_VIOLATION", 3 }, { "TASK_CANCEL_NOT_ALLOWED", 3 },
        { "CREDIT_DEDUCT_FAILED", 1 }, { "TASK_SUBMIT_FAILED", 1 }, { "FILE_UPLOAD_FAILED", 1 }, { "VIDEO_DOWNLOAD_FAILED", 1 },
        { "SERVICE_BUSY", 1 }, { "INTERNAL_ERROR", 1 },
    };

    [Fact]
    public void TheExitCodeTableCoversEveryCodeOfTheDocument()
    {
        Assert.Equal(SeedanceErrorCodes.Documented.Order(), TaskFailureExitCodes().Select(row => (string)row[0]).Order());
    }

    [Theory]
    [MemberData(nameof(TaskFailureExitCodes))]
    public async Task ATaskFailingWithADocumentedCodeEndsGenerateWithThatCodeAndItsExitCode(string code, int exitCode)
    {
        var api = await fixture.Server.CreateKeyAsync();
        using var cli = SeedanceCommand.For(fixture.Server, api.ApiKey);

        var result = await cli.RunAsync("generate", $"A failing scene [sandbox:fail={code}]", "--resolution", "480p", "--duration", "4", "--yes");

        Assert.True(result.ExitCode == exitCode, result.ToString());
        Assert.Contains($"({code})", result.Error);
        Assert.Single(result.Error.Split('\n'), line => line.StartsWith("error: ", StringComparison.Ordinal));
    }
}
