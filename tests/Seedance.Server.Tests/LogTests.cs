using System.Text.Json.Nodes;
using Seedance.Server.Tests.Support;

namespace Seedance.Server.Tests;

/// <summary>
/// Log lines of work on a task name the task, readably (not the type name of a dictionary), on the console as one line,
/// and as JSON for log shippers (<c>Logging__Console__FormatterName=json</c>) with the task id and, when tracing is on,
/// the trace id as fields of their own. Real server processes, as an operator runs them.
/// </summary>
[TakesAbout(18)]
public sealed class LogTests
{
    private const string Prompt = "A lighthouse at dusk [sandbox:fail=CONTENT_MODERATION_FAILED]";

    [Fact]
    public async Task AConsoleLineOfWorkOnATaskNamesTheTaskInItsScope()
    {
        var dataDir = TempDir.Create();
        try
        {
            await using var server = await ServerProcess.StartAsync(new Dictionary<string, string>
            {
                ["Seedance__DataDir"] = dataDir, ["Seedance__AdminToken"] = RunningServer.AdminToken,
            });
            using var client = await server.CreateKeyAsync();
            var taskId = await client.SubmitTextAsync(Prompt);
            await client.WaitForAsync(taskId);
            await ServerProbes.WaitUntilAsync(() => Task.FromResult(server.Output.Contains($"Task {taskId} failed upstream")), "the tracker's line");

            var line = server.Output.Split('\n').First(l => l.Contains($"Task {taskId} queued at"));
            Assert.Contains($"=> TaskId:{taskId}", line);
            Assert.DoesNotContain("System.Collections.Generic", server.Output);
        }
        finally { TempDir.Delete(dataDir); }
    }

    [Fact]
    public async Task AJsonLineOfWorkOnATaskCarriesTheTaskIdAndTheTraceIdAsFields()
    {
        var dataDir = TempDir.Create();
        try
        {
            await using var server = await ServerProcess.StartAsync(new Dictionary<string, string>
            {
                ["Seedance__DataDir"] = dataDir, ["Seedance__AdminToken"] = RunningServer.AdminToken,
                ["Logging__Console__FormatterName"] = "json", ["Seedance__Tracing__Enabled"] = "true",
            });
            using var client = await server.CreateKeyAsync();
            var taskId = await client.SubmitTextAsync(Prompt);
            await client.WaitForAsync(taskId);
            await ServerProbes.WaitUntilAsync(() => Task.FromResult(server.Output.Contains($"Task {taskId} failed upstream")), "the tracker's line");

            var entries = server.Output.Split('\n').Where(l => l.StartsWith('{')).Select(l => JsonNode.Parse(l)!).ToList();
            var queued = entries.Single(e => e["Message"]?.GetValue<string>() == $"Task {taskId} queued at sandbox as {e["State"]?["UpstreamTaskId"]}");
            var scopes = queued["Scopes"]!.AsArray();
            Assert.Contains(scopes, s => s?["TaskId"]?.GetValue<string>() == taskId);
            // A task's trace is named by its id.
            Assert.Contains(scopes, s => s?["TraceId"]?.GetValue<string>() == taskId);
        }
        finally { TempDir.Delete(dataDir); }
    }
}
