using Microsoft.EntityFrameworkCore;
using Seedance.Server.Auth;
using Seedance.Server.Data;
using Seedance.Server.Infrastructure;

namespace Seedance.Server.Channels;

/// <summary>The operator's view of the upstreams: each channel's state, and which channel served a task.</summary>
public static class ChannelAdminEndpoints
{
    public sealed record ChannelView(
        string Name, string Provider, int Priority, int Weight, int MaxConcurrent, int InFlight, string State, DateTime? CooldownUntil,
        int ConsecutiveFailures, IReadOnlyList<ChannelError> RecentErrors);

    public sealed record TaskRouting(string TaskId, long KeyId, string Status, string? Channel, string? UpstreamTaskId, int DispatchAttempts, DateTime? RetryAt);

    public static void MapChannelAdmin(this IEndpointRouteBuilder app)
    {
        var admin = app.MapAdminGroup("/admin/v1").WithTags("Channels");

        admin.MapGet("/channels", async (ChannelPool channels, SeedanceDb db, TimeProvider clock, CancellationToken ct) =>
        {
            var inFlight = await db.Tasks.AsNoTracking()
                .Where(t => VideoTaskStatus.Active.Contains(t.Status) && t.ChannelName != null)
                .GroupBy(t => t.ChannelName!).Select(g => new { Channel = g.Key, Count = g.Count() })
                .ToDictionaryAsync(g => g.Channel, g => g.Count, ct);
            var now = clock.GetUtcNow().UtcDateTime;
            return Envelope.Ok(channels.All.Select(c =>
            {
                var health = c.Health(now);
                return new ChannelView(c.Name, c.Options.Provider, c.Options.Priority, c.Options.Weight, c.Options.MaxConcurrent,
                    inFlight.GetValueOrDefault(c.Name), health.State, health.CooldownUntil, health.ConsecutiveFailures, health.RecentErrors);
            }).ToList());
        }).WithName("ListChannels").WithSummary("Each upstream channel: its state, in-flight tasks and recent errors").Produces<Envelope<IReadOnlyList<ChannelView>>>();

        admin.MapGet("/tasks/{task_id}", async (string task_id, SeedanceDb db, CancellationToken ct) =>
            Envelope.Ok(await db.Tasks.AsNoTracking().Where(t => t.TaskId == task_id)
                .Select(t => new TaskRouting(t.TaskId, t.KeyId, t.Status, t.ChannelName, t.UpstreamTaskId, t.DispatchAttempts, t.RetryAt))
                .FirstOrDefaultAsync(ct) ?? throw ApiError.TaskNotFound()))
            .WithName("GetTaskRouting").WithSummary("Which channel and upstream task served a task").Produces<Envelope<TaskRouting>>()
            .ProducesErrors("TASK_NOT_FOUND");
    }
}
