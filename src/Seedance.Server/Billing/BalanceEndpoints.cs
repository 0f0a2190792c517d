using Microsoft.EntityFrameworkCore;
using Seedance.Server.Auth;
using Seedance.Server.Data;
using Seedance.Server.Infrastructure;

namespace Seedance.Server.Billing;

public static class BalanceEndpoints
{
    public sealed record Balance(decimal TotalCredits, decimal UsedCredits, decimal RemainCredits, decimal ReservedCredits);

    public static void MapBalance(this IEndpointRouteBuilder api) =>
        api.MapGet("/balance", Get).WithName("GetBalance").WithTags("Billing").WithSummary("Credit balance of the calling key").Produces<Envelope<Balance>>();

    private static async Task<IResult> Get(HttpContext context, SeedanceDb db)
    {
        var keyId = context.Caller().KeyId;
        var balance = await db.ApiKeys.AsNoTracking().Where(k => k.Id == keyId)
            .Select(k => new Balance(k.TotalCredits, k.UsedCredits, k.TotalCredits - k.UsedCredits - k.ReservedCredits, k.ReservedCredits))
            .FirstAsync(context.RequestAborted);
        return Envelope.Ok(balance);
    }
}
