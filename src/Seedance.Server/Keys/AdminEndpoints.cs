using Seedance.Server.Auth;
using Seedance.Server.Infrastructure;

namespace Seedance.Server.Keys;

public static class AdminEndpoints
{
    public static void MapAdmin(this IEndpointRouteBuilder app)
    {
        var admin = app.MapGroup("/admin/v1/keys")
            .RequireAuthorization(p => p.AddAuthenticationSchemes(AdminAuthenticationHandler.SchemeName).RequireRole("operator"))
            .ExcludeFromDescription();

        admin.MapPost("/", async (NewKey request, KeyAdministration keys, CancellationToken ct) => Envelope.Ok(await keys.CreateAsync(request, ct)));
        admin.MapGet("/", async (KeyAdministration keys, CancellationToken ct) => Envelope.Ok(await keys.ListAsync(ct)));
        admin.MapGet("/{key_id:long}", async (long key_id, KeyAdministration keys, CancellationToken ct) => Envelope.Ok(await keys.GetAsync(key_id, ct)));
        admin.MapPatch("/{key_id:long}", async (long key_id, KeyChange change, KeyAdministration keys, CancellationToken ct) =>
            Envelope.Ok(await keys.UpdateAsync(key_id, change, ct)));
        admin.MapPost("/{key_id:long}/credits", async (long key_id, CreditChange change, KeyAdministration keys, CancellationToken ct) =>
            Envelope.Ok(await keys.AdjustCreditsAsync(key_id, change, ct)));
        admin.MapGet("/{key_id:long}/ledger", async (long key_id, int? page, int? page_size, KeyAdministration keys, CancellationToken ct) =>
            Envelope.Ok(await keys.LedgerAsync(key_id, page ?? 1, page_size ?? 100, ct)));
    }
}
