using Seedance.Server.Auth;
using Seedance.Server.Infrastructure;

namespace Seedance.Server.Callbacks;

public static class WebhookEndpoints
{
    /// <summary>The key owner's side, under <c>/api/v1/video</c>: its signing secret, and its tasks' delivery logs.</summary>
    public static void MapWebhooks(this IEndpointRouteBuilder routes)
    {
        var api = routes.MapGroup("").WithTags("Callbacks");
        api.MapGet("/webhook/secret", async (HttpContext context, WebhookSecrets secrets) =>
                Envelope.Ok(await secrets.GetAsync(context.Caller().KeyId, context.RequestAborted)))
            .WithName("GetWebhookSecret").WithSummary("The key's callback signing secret").Produces<Envelope<WebhookSecretView>>();
        api.MapPost("/webhook/secret/rotate", async (HttpContext context, WebhookSecrets secrets) =>
                Envelope.Ok(await secrets.RotateAsync(context.Caller().KeyId, context.RequestAborted)))
            .WithName("RotateWebhookSecret").WithSummary("Replace the signing secret; the previous one keeps signing for the grace period")
            .Produces<Envelope<WebhookSecretView>>();
        api.MapGet("/task/{task_id}/webhooks", async (string task_id, HttpContext context, WebhookLog log) =>
                Envelope.Ok(await log.ForTaskAsync(task_id, context.Caller().KeyId, context.RequestAborted)))
            .WithName("ListTaskWebhooks").WithSummary("A task's callback deliveries and their attempts").Produces<Envelope<TaskWebhooks>>()
            .ProducesErrors("TASK_NOT_FOUND");
        api.MapPost("/task/{task_id}/webhooks/redeliver", async (string task_id, HttpContext context, WebhookLog log) =>
                Envelope.Ok(await log.RedeliverAsync(task_id, context.Caller().KeyId, context.RequestAborted)))
            .WithName("RedeliverTaskWebhook").WithSummary("Send a task's callback again (same webhook-id)").Produces<Envelope<WebhookDeliveryView>>()
            .ProducesErrors("INVALID_PARAMETER", "TASK_NOT_FOUND");
    }

    /// <summary>The operator's side: any task's delivery log and redelivery, any key's signing secret.</summary>
    public static void MapWebhookAdmin(this IEndpointRouteBuilder app)
    {
        var admin = app.MapAdminGroup("/admin/v1").WithTags("Callbacks");
        admin.MapGet("/tasks/{task_id}/webhooks", async (string task_id, WebhookLog log, CancellationToken ct) =>
                Envelope.Ok(await log.ForTaskAsync(task_id, null, ct)))
            .WithName("AdminListTaskWebhooks").WithSummary("Any task's callback deliveries and their attempts").Produces<Envelope<TaskWebhooks>>()
            .ProducesErrors("TASK_NOT_FOUND");
        admin.MapPost("/tasks/{task_id}/webhooks/redeliver", async (string task_id, WebhookLog log, CancellationToken ct) =>
                Envelope.Ok(await log.RedeliverAsync(task_id, null, ct)))
            .WithName("AdminRedeliverTaskWebhook").WithSummary("Send any task's callback again (same webhook-id)").Produces<Envelope<WebhookDeliveryView>>()
            .ProducesErrors("INVALID_PARAMETER", "TASK_NOT_FOUND");
        admin.MapGet("/keys/{key_id:long}/webhook", async (long key_id, WebhookSecrets secrets, CancellationToken ct) =>
                Envelope.Ok(await secrets.GetAsync(key_id, ct)))
            .WithName("GetKeyWebhookSecret").WithSummary("A key's callback signing secret").Produces<Envelope<WebhookSecretView>>()
            .ProducesErrors("KEY_NOT_FOUND");
    }
}
