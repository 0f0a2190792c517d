using System.Text.Json.Serialization;
using Microsoft.EntityFrameworkCore;
using Seedance.Server.Auth;
using Seedance.Server.Data;
using Seedance.Server.Infrastructure;

namespace Seedance.Server.Billing;

public static class BalanceEndpoints
{
    /// <param name="DailyUsed">Credits reserved or used by the key's tasks submitted today (UTC); <paramref name="MonthlyUsed"/> this month.</param>
    /// <param name="DailyCreditLimit">The key's spending limits, present only when set.</param>
    public sealed record Balance(decimal TotalCredits, decimal UsedCredits, decimal RemainCredits, decimal ReservedCredits,
        decimal DailyUsed, decimal MonthlyUsed,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] decimal? DailyCreditLimit = null,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] decimal? MonthlyCreditLimit = null);

    public static void MapBalance(this IEndpointRouteBuilder api) =>
        api.MapGet("/balance", Get).WithName("GetBalance").WithTags("Billing").WithSummary("Credit balance of the calling key").Produces<Envelope<Balance>>();

    private static async Task<IResult> Get(HttpContext context, SeedanceDb db, TimeProvider clock) =>
        Envelope.Ok(await OfAsync(db, clock, context.Caller().KeyId, context.RequestAborted));

    /// <summary>A key's balance (the API's, and the console's).</summary>
    internal static async Task<Balance> OfAsync(SeedanceDb db, TimeProvider clock, long keyId, CancellationToken ct)
    {
        var key = await db.ApiKeys.AsNoTracking().FirstAsync(k => k.Id == keyId, ct);
        var spending = Spending.Of(key, clock.GetUtcNow().UtcDateTime);
        return new Balance(key.TotalCredits, key.UsedCredits, key.RemainCredits, key.ReservedCredits,
            spending.DailyUsed, spending.MonthlyUsed, key.DailyCreditLimit, key.MonthlyCreditLimit);
    }
}
