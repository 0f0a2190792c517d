using Microsoft.EntityFrameworkCore;
using Seedance.Server.Data;
using Seedance.Server.Tasks;

namespace Seedance.Server.Keys;

/// <summary>
/// Keys on a price plan this node does not configure pay the list prices: a plan renamed or mistyped in the settings
/// would otherwise go unnoticed until an invoice. Checked once at start, as a warning (the keys keep working).
/// </summary>
public static class PricePlanCheck
{
    /// <summary>Warns of each plan keys are on that <paramref name="catalogue"/> does not configure; returns them with their number of keys.</summary>
    public static async Task<IReadOnlyList<(string Plan, int Keys)>> WarnOfUnknownPlansAsync(ModelCatalogue catalogue, SeedanceDb db, ILogger logger, CancellationToken ct)
    {
        var named = await db.ApiKeys.AsNoTracking().Where(k => k.PricePlan != null)
            .GroupBy(k => k.PricePlan!).Select(g => new { Plan = g.Key, Keys = g.Count() }).ToListAsync(ct);
        var unknown = named.Where(p => !catalogue.Plans.ContainsKey(p.Plan)).OrderBy(p => p.Plan, StringComparer.Ordinal).Select(p => (p.Plan, p.Keys)).ToList();
        foreach (var (plan, keys) in unknown)
            logger.LogWarning("{Keys} keys are on price plan '{Plan}', which Seedance:PricePlans does not configure: they pay the list prices", keys, plan);
        return unknown;
    }
}
