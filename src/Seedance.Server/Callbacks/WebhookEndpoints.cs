using Seedance.Server.Auth;
using Seedance.Server.Infrastructure;

namespace Seedance.Server.Callbacks;

public static class WebhookEndpoints
{
    /// <summary>The key owner's side, under <c>/api/v1/video</c>: its signing secret, and its tasks' delivery logs.</summary>
    public static void MapWebhooks(this IEndpointRouteBuilder api)
    {
        api.MapGet("/webhook/secret", async (HttpContext context, WebhookSecrets secrets) =>
                Envelope.Ok(await secrets.GetAsync(context.Caller().KeyId, context.RequestAborted)))
            .WithSummary("The key's callback signing secret").Produces<Envelope<WebhookSecretView>>();
        api.MapPost("/webhook/secret/rotate", async (HttpContext context, WebhookSecrets secrets) =>
                Envelope.Ok(await secrets.RotateAsync(context.Caller().KeyId, context.RequestAborted)))
            .WithSummary("Replace the signing secret; the previous one keeps signing for the grace period").Produces<Envelope<WebhookSecretView>>();
        api.MapGet("/task/{task_id}/webhooks", async (string task_id, HttpContext context, WebhookLog log) =>
                Envelope.Ok(await log.ForTaskAsync(task_id, context.Caller().KeyId, context.RequestAborted)))
            .WithSummary("A task's callback deliveries and their attempts").Produces<Envelope<TaskWebhooks>>();
        api.MapPost("/task/{task_id}/webhooks/redeliver", async (string task_id, HttpContext context, WebhookLog log) =>
                Envelope.Ok(await log.RedeliverAsync(task_id, context.Caller().KeyId, context.RequestAborted)))
            .WithSummary("Send a task's callback again (same webhook-id)").Produces<Envelope<WebhookDeliveryView>>();
    }

    /// <summary>The operator's side: any task's delivery log and redelivery, any key's signing secret.</summary>
    public static void MapWebhookAdmin(this IEndpointRouteBuilder app)
    {
        var admin = app.MapGroup("/admin/v1")
            .RequireAuthorization(p => p.AddAuthenticationSchemes(AdminAuthenticationHandler.SchemeName).RequireRole("operator"))
            .ExcludeFromDescription();
        admin.MapGet("/tasks/{task_id}/webhooks", async (string task_id, WebhookLog log, CancellationToken ct) =>
            Envelope.Ok(await log.ForTaskAsync(task_id, null, ct)));
        admin.MapPost("/tasks/{task_id}/webhooks/redeliver", async (string task_id, WebhookLog log, CancellationToken ct) =>
            Envelope.Ok(await log.RedeliverAsync(task_id, null, ct)));
        admin.MapGet("/keys/{key_id:long}/webhook", async (long key_id, WebhookSecrets secrets, CancellationToken ct) =>
            Envelope.Ok(await secrets.GetAsync(key_id, ct)));
    }
}
