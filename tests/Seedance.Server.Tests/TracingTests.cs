using System.Diagnostics;
using Microsoft.EntityFrameworkCore;
using OpenTelemetry.Trace;
using Seedance.Server.Data;
using Seedance.Server.Tests.Support;

namespace Seedance.Server.Tests;

/// <summary>
/// The spans of a task's life, collected with OpenTelemetry's in-memory exporter: one trace whose id is the task id, from
/// the submission (linked to the request that made it) through the hand-over, the upstream calls, the copy of the result
/// to the callback.
/// </summary>
[Collection(TelemetryCollection.Name)]
public sealed class TracingTests
{
    [Fact]
    public async Task ATasksLifeIsOneTraceNamedByItsTaskIdFromSubmissionToCallback()
    {
        var spans = new List<Activity>();
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var server = await RunningServer.StartAsync(new()
        {
            ["Seedance:Tracing:Enabled"] = "true",
            ["Seedance:Callbacks:AllowPrivateNetworks"] = "true", ["Seedance:Callbacks:DispatchIntervalSeconds"] = "0.1",
        }, services: s => s.ConfigureOpenTelemetryTracerProvider(t => t.AddInMemoryExporter(spans)));
        using var client = await server.CreateKeyAsync();

        var taskId = await client.SubmitTextAsync("A red kite over a meadow", extra: new() { ["callback_url"] = receiver.Url });
        Assert.Equal("completed", (await client.WaitForAsync(taskId)).Status());
        Activity[] OfTask() => spans.ToArray().Where(s => s.TraceId.ToHexString() == taskId).ToArray();
        await ServerProbes.WaitUntilAsync(() => Task.FromResult(OfTask().Any(s => s.DisplayName == "seedance.webhook.deliver")), "the callback's span");

        var life = OfTask();
        var names = life.Select(s => s.DisplayName).ToHashSet();
        foreach (var step in new[] { "seedance.task.submit", "seedance.task.dispatch", "upstream submit", "seedance.task.check", "upstream get",
                     "seedance.task.copy_result", "upstream download", "seedance.webhook.deliver" })
            Assert.Contains(step, names);
        // Each step of the task carries its id; the upstream calls sit under the step that made them.
        Assert.All(life.Where(s => s.DisplayName.StartsWith("seedance.", StringComparison.Ordinal)),
            s => Assert.Equal(taskId, s.GetTagItem("seedance.task_id")));
        var dispatch = life.Single(s => s.DisplayName == "seedance.task.dispatch");
        var handOver = life.Single(s => s.DisplayName == "upstream submit");
        Assert.Equal(dispatch.SpanId, handOver.ParentSpanId);
        Assert.Equal("sandbox", handOver.GetTagItem("seedance.channel"));
        Assert.Equal("ok", handOver.GetTagItem("seedance.upstream.outcome"));
        Assert.Equal("delivered", life.Single(s => s.DisplayName == "seedance.webhook.deliver").GetTagItem("seedance.webhook.outcome"));

        // The submission links to the request that made it, whose own span (a POST is traced) is in the collection.
        var submit = life.Single(s => s.DisplayName == "seedance.task.submit");
        var request = Assert.Single(submit.Links).Context;
        Assert.Contains(spans.ToArray(), s => s.SpanId == request.SpanId && s.TraceId == request.TraceId && s.Kind == ActivityKind.Server);
        Assert.Equal(1, await server.QueryAsync(db => db.Tasks.CountAsync(t => t.TaskId == taskId)));
    }
}
