using Microsoft.EntityFrameworkCore;
using Seedance.Server.Auth;
using Seedance.Server.Data;
using Seedance.Server.Infrastructure;

namespace Seedance.Server.Channels;

/// <summary>The operator's upstreams: each channel's settings and health, their management at runtime, and which channel served a task.</summary>
public static class ChannelAdminEndpoints
{
    public sealed record TaskRouting(string TaskId, long KeyId, string Status, string? Channel, string? UpstreamTaskId, int DispatchAttempts, DateTime? RetryAt);

    public static void MapChannelAdmin(this IEndpointRouteBuilder app)
    {
        var group = app.MapAdminGroup("/admin/v1").WithTags("Channels");
        var channels = group.MapGroup("/channels");

        channels.MapGet("/", async (ChannelAdministration admin, CancellationToken ct) => Envelope.Ok(await admin.ListAsync(ct)))
            .WithName("ListChannels").WithSummary("Each upstream channel: its settings, state, in-flight tasks, success rate and latency over the last hour, last errors")
            .Produces<Envelope<IReadOnlyList<ChannelView>>>();
        channels.MapPost("/", async (ChannelSettings request, ChannelAdministration admin, CancellationToken ct) => Envelope.Ok(await admin.CreateAsync(request, ct)))
            .WithName("CreateChannel").WithSummary("Add an upstream channel; it serves at once, on every node within seconds. Its API key is stored encrypted and never shown again")
            .Produces<Envelope<ChannelView>>().ProducesErrors("INVALID_PARAMETER", "MISSING_PARAMETER");
        channels.MapGet("/{name}", async (string name, ChannelAdministration admin, CancellationToken ct) => Envelope.Ok(await admin.GetAsync(name, ct)))
            .WithName("GetChannel").WithSummary("One upstream channel").Produces<Envelope<ChannelView>>().ProducesErrors("CHANNEL_NOT_FOUND");
        channels.MapPatch("/{name}", async (string name, ChannelSettings change, ChannelAdministration admin, CancellationToken ct) =>
                Envelope.Ok(await admin.UpdateAsync(name, change, ct)))
            .WithName("UpdateChannel").WithSummary("Change a stored channel's settings (its API key included); tasks in flight keep their channel")
            .Produces<Envelope<ChannelView>>().ProducesErrors("INVALID_PARAMETER", "CHANNEL_NOT_FOUND");
        channels.MapDelete("/{name}", async (string name, ChannelAdministration admin, CancellationToken ct) => Envelope.Ok(await admin.DeleteAsync(name, ct)))
            .WithName("DeleteChannel").WithSummary("Remove a stored channel that has no task queued or processing")
            .Produces<Envelope<ChannelView>>().ProducesErrors("INVALID_PARAMETER", "CHANNEL_NOT_FOUND", "CHANNEL_IN_USE");
        channels.MapPost("/{name}/test", async (string name, ChannelAdministration admin, CancellationToken ct) => Envelope.Ok(await admin.TestAsync(name, ct)))
            .WithName("TestChannel").WithSummary("A cheap authenticated call to the upstream that proves the credentials and model mapping; creates no task")
            .Produces<Envelope<ChannelTest>>().ProducesErrors("CHANNEL_NOT_FOUND", "CHANNEL_TEST_FAILED");
        channels.MapPost("/{name}/drain", async (string name, ChannelAdministration admin, CancellationToken ct) => Envelope.Ok(await admin.DrainAsync(name, ct)))
            .WithName("DrainChannel").WithSummary("The channel takes no new tasks and keeps tracking its own; PATCH enabled: true takes it back")
            .Produces<Envelope<ChannelView>>().ProducesErrors("INVALID_PARAMETER", "CHANNEL_NOT_FOUND");

        channels.MapGet("/{name}/reconciliation", async (string name, string? from, string? to, bool? cancel_orphans, Reconciliation reconciliation,
                CancellationToken ct) => Envelope.Ok(await reconciliation.RunAsync(name, reconciliation.Period(from, to), cancel_orphans ?? false, ct)))
            .WithName("ReconcileChannel")
            .WithSummary("An Ark channel's task list (the upstream keeps 7 days; default the whole 7) against ours: matched, ours it does not know, "
                + "orphans (its tasks we never recorded), status mismatches, its usage tokens, the estimated cost, the credits charged and the margin; "
                + "cancel_orphans=true cancels the orphans still queued there")
            .Produces<Envelope<ReconciliationReport>>().ProducesErrors("INVALID_PARAMETER", "CHANNEL_NOT_FOUND", "SERVICE_BUSY");

        group.MapGet("/tasks/{task_id}", async (string task_id, SeedanceDb db, CancellationToken ct) =>
            Envelope.Ok(await db.Tasks.AsNoTracking().Where(t => t.TaskId == task_id)
                .Select(t => new TaskRouting(t.TaskId, t.KeyId, t.Status, t.ChannelName, t.UpstreamTaskId, t.DispatchAttempts, t.RetryAt))
                .FirstOrDefaultAsync(ct) ?? throw ApiError.TaskNotFound()))
            .WithName("GetTaskRouting").WithSummary("Which channel and upstream task served a task").Produces<Envelope<TaskRouting>>()
            .ProducesErrors("TASK_NOT_FOUND");
    }
}
