using Seedance.Server.Data;
using Seedance.Server.Infrastructure;
using Seedance.Server.Storage;

namespace Seedance.Server.Dispatch;

/// <summary>
/// Where upstreams report status changes (Ark POSTs the task object). The address is signed per task and
/// the body is never trusted: it only makes the tracker check the task at once (on whichever node tracks it).
/// </summary>
public static class UpstreamCallbackEndpoints
{
    public static void MapUpstreamCallbacks(this IEndpointRouteBuilder app) =>
        app.MapPost(PublicLinks.UpstreamCallbackPrefix + "{task_id}", async (string task_id, HttpContext context, UrlSigner signer, TimeProvider clock, TaskFeed feed) =>
        {
            var check = signer.Verify(HttpMethods.Post, PublicLinks.UpstreamCallbackPrefix + task_id,
                context.Request.Query["expires"], context.Request.Query["signature"], clock.GetUtcNow());
            if (check != SignatureCheck.Valid) throw ApiError.AccessDenied("the callback address is not valid");
            await feed.RequestCheckAsync(new CheckRequested(task_id), context.RequestAborted);
            return Envelope.Ok(new { received = true });
        }).ExcludeFromDescription();
}
