using Seedance.Server.Auth;
using Seedance.Server.Infrastructure;

namespace Seedance.Server.Keys;

public static class AdminEndpoints
{
    public static void MapAdmin(this IEndpointRouteBuilder app)
    {
        var admin = app.MapAdminGroup("/admin/v1/keys").WithTags("Keys");

        admin.MapPost("/", async (NewKey request, KeyAdministration keys, CancellationToken ct) => Envelope.Ok(await keys.CreateAsync(request, ct)))
            .WithName("CreateKey").WithSummary("Issue a key; the answer shows it (api_key) this once").Produces<Envelope<CreatedKey>>()
            .ProducesErrors("INVALID_PARAMETER", "MISSING_PARAMETER");
        admin.MapGet("/", async (KeyAdministration keys, CancellationToken ct) => Envelope.Ok(await keys.ListAsync(ct)))
            .WithName("ListKeys").WithSummary("Every key, its credits and limits").Produces<Envelope<IReadOnlyList<KeyRecord>>>();
        admin.MapGet("/{key_id:long}", async (long key_id, KeyAdministration keys, CancellationToken ct) => Envelope.Ok(await keys.GetAsync(key_id, ct)))
            .WithName("GetKey").WithSummary("A key, its credits and limits").Produces<Envelope<KeyRecord>>()
            .ProducesErrors("KEY_NOT_FOUND");
        admin.MapPatch("/{key_id:long}", async (long key_id, KeyChange change, KeyAdministration keys, CancellationToken ct) =>
                Envelope.Ok(await keys.UpdateAsync(key_id, change, ct)))
            .WithName("UpdateKey").WithSummary("Enable or disable a key, change its name, limits or price plan").Produces<Envelope<KeyRecord>>()
            .ProducesErrors("INVALID_PARAMETER", "KEY_NOT_FOUND");
        admin.MapPost("/{key_id:long}/credits", async (long key_id, CreditChange change, KeyAdministration keys, CancellationToken ct) =>
                Envelope.Ok(await keys.AdjustCreditsAsync(key_id, change, ct)))
            .WithName("AdjustCredits").WithSummary("Top up a key's credits, or adjust them down (never below used + reserved)").Produces<Envelope<KeyRecord>>()
            .ProducesErrors("INVALID_PARAMETER", "MISSING_PARAMETER", "KEY_NOT_FOUND");
        admin.MapGet("/{key_id:long}/ledger", async (long key_id, int? page, int? page_size, KeyAdministration keys, CancellationToken ct) =>
                Envelope.Ok(await keys.LedgerAsync(key_id, page ?? 1, page_size ?? 100, ct)))
            .WithName("GetLedger").WithSummary("A key's credit movements, newest first: topup, adjust, reserve, capture, release").Produces<Envelope<LedgerPage>>()
            .ProducesErrors("INVALID_PARAMETER", "KEY_NOT_FOUND");
    }
}
