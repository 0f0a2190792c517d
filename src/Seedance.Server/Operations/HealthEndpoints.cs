using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Seedance.Server.Data;
using Seedance.Server.Infrastructure;

namespace Seedance.Server.Operations;

/// <summary><c>/healthz</c>: the process answers. <c>/readyz</c>: the database answers and is fully migrated.</summary>
public static class HealthEndpoints
{
    public static IServiceCollection AddSeedanceHealth(this IServiceCollection services)
    {
        services.AddHealthChecks().AddCheck<DatabaseReady>("database", tags: ["ready"]);
        return services;
    }

    public static void MapHealth(this IEndpointRouteBuilder app)
    {
        app.MapHealthChecks("/healthz", new HealthCheckOptions { Predicate = _ => false, ResponseWriter = Write });
        app.MapHealthChecks("/readyz", new HealthCheckOptions { Predicate = c => c.Tags.Contains("ready"), ResponseWriter = Write });
    }

    private static Task Write(HttpContext context, HealthReport report) =>
        report.Status == HealthStatus.Healthy
            ? context.Response.WriteAsJsonAsync(Envelope.Success(new { status = report.Status.ToString() }), Json.Options)
            : Envelope.WriteErrorAsync(context, new ApiError(503, "SERVICE_BUSY",
                "Service busy: " + string.Join("; ", report.Entries.Select(e => $"{e.Key} {e.Value.Status}: {e.Value.Description}"))));

    private sealed class DatabaseReady(SeedanceDb db) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken ct = default)
        {
            if (!await db.Database.CanConnectAsync(ct)) return HealthCheckResult.Unhealthy("cannot connect");
            var pending = (await db.Database.GetPendingMigrationsAsync(ct)).Count();
            return pending == 0 ? HealthCheckResult.Healthy() : HealthCheckResult.Unhealthy($"{pending} migrations not applied");
        }
    }
}
