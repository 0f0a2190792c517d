using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Seedance.Server.Auth;
using Seedance.Server.Callbacks;
using Seedance.Server.Data;
using Seedance.Server.Infrastructure;
using Seedance.Server.Tasks;

namespace Seedance.Server.Keys;

/// <param name="DailyCreditLimit">Null: no limit. <paramref name="DailyUsed"/> and <paramref name="MonthlyUsed"/> count the current UTC day and month.</param>
/// <param name="ResultRetentionDays">Null: the server's <c>Seedance:Tasks:ResultRetentionDays</c>.</param>
public sealed record KeyRecord(
    long KeyId, string Name, string KeyPrefix, bool Enabled, decimal TotalCredits, decimal UsedCredits, decimal ReservedCredits,
    decimal RemainCredits, int MaxConcurrent, int MaxPending, int RateLimitPerSecond, string? PricePlan,
    decimal? DailyCreditLimit, decimal? MonthlyCreditLimit, decimal DailyUsed, decimal MonthlyUsed, int? ResultRetentionDays,
    DateTime CreatedAt, DateTime UpdatedAt)
{
    public static KeyRecord Of(ApiKey k, DateTime now)
    {
        var spending = Spending.Of(k, now);
        return new(k.Id, k.Name, k.KeyPrefix, k.Enabled, k.TotalCredits, k.UsedCredits, k.ReservedCredits, k.RemainCredits,
            k.MaxConcurrent, k.MaxPending, k.RateLimitPerSecond, k.PricePlan, k.DailyCreditLimit, k.MonthlyCreditLimit,
            spending.DailyUsed, spending.MonthlyUsed, k.ResultRetentionDays, k.CreatedAt, k.UpdatedAt);
    }
}

/// <summary>The plaintext key appears here, once, and nowhere else.</summary>
public sealed record CreatedKey(string ApiKey, KeyRecord Key);

/// <param name="DailyCreditLimit">Spending limits and retention: absent or 0 for none (the server's retention).</param>
/// <remarks>Only the name is required (the defaults say what an omitted field is): the API documents read that from the defaults here.</remarks>
public sealed record NewKey(
    string? Name, decimal? Credits = null, int? MaxConcurrent = null, int? MaxPending = null, int? RateLimitPerSecond = null, string? PricePlan = null,
    decimal? DailyCreditLimit = null, decimal? MonthlyCreditLimit = null, int? ResultRetentionDays = null);

/// <param name="PricePlan">A plan of <c>Seedance:PricePlans</c>; an empty string takes the key back to the list prices.</param>
/// <param name="DailyCreditLimit">Spending limits and retention: 0 removes the setting; absent leaves it.</param>
public sealed record KeyChange(
    string? Name = null, bool? Enabled = null, int? MaxConcurrent = null, int? MaxPending = null, int? RateLimitPerSecond = null, string? PricePlan = null,
    decimal? DailyCreditLimit = null, decimal? MonthlyCreditLimit = null, int? ResultRetentionDays = null);

public sealed record CreditChange(decimal? Amount, string? Note = null);

public sealed record LedgerView(long Id, string? TaskId, string Kind, decimal Amount, string? Note, DateTime CreatedAt);

public sealed record LedgerPage(IReadOnlyList<LedgerView> Data, int Total, int Page, int PageSize);

/// <summary>What an operator does with keys; served by the admin API and by the command line alike.</summary>
public sealed class KeyAdministration(SeedanceDb db, KeyStore keys, CreditLedger ledger, IOptions<SeedanceOptions> options, TimeProvider clock,
    ApiKeyDirectory directory, ModelCatalogue catalogue)
{
    public async Task<CreatedKey> CreateAsync(NewKey request, CancellationToken ct)
    {
        var name = request.Name?.Trim();
        if (string.IsNullOrEmpty(name)) throw ApiError.MissingParameter("name");
        if (name.Length > 200) throw ApiError.InvalidParameter("name must be at most 200 characters");
        var credits = request.Credits ?? 0m;
        CheckAmount(credits, "credits", allowNegative: false);
        var defaults = options.Value.Keys;
        var plaintext = KeyHash.NewKey();
        var now = clock.GetUtcNow().UtcDateTime;
        var key = new ApiKey
        {
            Name = name, KeyHash = KeyHash.Of(plaintext), KeyPrefix = plaintext[..11], WebhookSecret = WebhookSignature.NewSecret(), CreatedAt = now, UpdatedAt = now, AuthChangedAt = now,
            MaxConcurrent = Limit(request.MaxConcurrent, defaults.MaxConcurrent, "max_concurrent", 1),
            MaxPending = Limit(request.MaxPending, defaults.MaxPending, "max_pending", 0),
            RateLimitPerSecond = Limit(request.RateLimitPerSecond, defaults.RateLimitPerSecond, "rate_limit_per_second", 1),
            PricePlan = Plan(request.PricePlan),
            DailyCreditLimit = CreditLimit(request.DailyCreditLimit, "daily_credit_limit") is > 0 and var daily ? daily : null,
            MonthlyCreditLimit = CreditLimit(request.MonthlyCreditLimit, "monthly_credit_limit") is > 0 and var monthly ? monthly : null,
            ResultRetentionDays = RetentionDays(request.ResultRetentionDays) is > 0 and var days ? days : null,
        };

        var id = await keys.CreateAsync(key, credits, "initial credits", ct);
        return new CreatedKey(plaintext, await GetAsync(id, ct));
    }

    public async Task<IReadOnlyList<KeyRecord>> ListAsync(CancellationToken ct)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        return (await db.ApiKeys.AsNoTracking().OrderBy(k => k.Id).ToListAsync(ct)).Select(k => KeyRecord.Of(k, now)).ToList();
    }

    public async Task<KeyRecord> GetAsync(long keyId, CancellationToken ct) => KeyRecord.Of(await Find(keyId, ct), clock.GetUtcNow().UtcDateTime);

    public async Task<KeyRecord> UpdateAsync(long keyId, KeyChange change, CancellationToken ct)
    {
        var key = await Find(keyId, ct);
        if (change.Name is not null && (string.IsNullOrWhiteSpace(change.Name) || change.Name.Length > 200))
            throw ApiError.InvalidParameter("name must be 1-200 characters");
        var settings = new KeySettings(
            change.Name?.Trim(),
            change.Enabled,
            change.MaxConcurrent is null ? null : Limit(change.MaxConcurrent, key.MaxConcurrent, "max_concurrent", 1),
            change.MaxPending is null ? null : Limit(change.MaxPending, key.MaxPending, "max_pending", 0),
            change.RateLimitPerSecond is null ? null : Limit(change.RateLimitPerSecond, key.RateLimitPerSecond, "rate_limit_per_second", 1),
            change.PricePlan is null ? null : Plan(change.PricePlan) ?? "",
            CreditLimit(change.DailyCreditLimit, "daily_credit_limit"),
            CreditLimit(change.MonthlyCreditLimit, "monthly_credit_limit"),
            RetentionDays(change.ResultRetentionDays));
        if (!await keys.UpdateAsync(keyId, settings, clock.GetUtcNow().UtcDateTime, ct)) throw ApiError.KeyNotFound(keyId);
        directory.Forget(key.KeyHash);
        return await GetAsync(keyId, ct);
    }

    public async Task<KeyRecord> AdjustCreditsAsync(long keyId, CreditChange change, CancellationToken ct)
    {
        var amount = change.Amount ?? throw ApiError.MissingParameter("amount");
        CheckAmount(amount, "amount", allowNegative: true);
        if (amount == 0) throw ApiError.InvalidParameter("amount must not be 0");
        if (change.Note is { Length: > 500 }) throw ApiError.InvalidParameter("note must be at most 500 characters");
        await Find(keyId, ct);
        if (!await ledger.TryAdjustAsync(keyId, amount, change.Note, clock.GetUtcNow().UtcDateTime, ct))
            throw ApiError.InvalidParameter("amount would take total_credits below used_credits + reserved_credits");
        return await GetAsync(keyId, ct);
    }

    public async Task<LedgerPage> LedgerAsync(long keyId, int page, int pageSize, CancellationToken ct)
    {
        var (rows, _) = await LedgerPageAsync(keyId, page, pageSize, ct);
        var total = await db.Ledger.AsNoTracking().CountAsync(l => l.KeyId == keyId, ct);
        return new LedgerPage(rows, total, page, pageSize);
    }

    /// <summary>
    /// A page of the key's ledger, newest first, and whether older entries follow; without the count of a ledger that grows by
    /// two entries a task (the console's pages: a busy key's count alone outlasts the page). A page past the end is empty,
    /// however large its number.
    /// </summary>
    public async Task<(IReadOnlyList<LedgerView> Entries, bool More)> LedgerPageAsync(long keyId, int page, int pageSize, CancellationToken ct)
    {
        await Find(keyId, ct);
        if (page < 1) throw ApiError.InvalidParameter("page must be an integer of 1 or more");
        if (pageSize is < 1 or > 1000) throw ApiError.InvalidParameter("page_size must be 1-1000");
        var skip = Paging.Skip(page, pageSize);
        var rows = await db.Ledger.AsNoTracking().Where(l => l.KeyId == keyId).OrderByDescending(l => l.Id).Skip(skip).Take(pageSize + 1)
            .Select(l => new LedgerView(l.Id, l.TaskId, l.Kind, l.Amount, l.Note, l.CreatedAt)).ToListAsync(ct);
        return (rows.Take(pageSize).ToList(), rows.Count > pageSize);
    }

    private async Task<ApiKey> Find(long keyId, CancellationToken ct) =>
        await db.ApiKeys.AsNoTracking().FirstOrDefaultAsync(k => k.Id == keyId, ct) ?? throw ApiError.KeyNotFound(keyId);

    /// <summary>A plan the catalogue knows, or null for none (null or empty).</summary>
    private string? Plan(string? plan)
    {
        if (string.IsNullOrEmpty(plan)) return null;
        if (!catalogue.Plans.ContainsKey(plan))
            throw ApiError.InvalidParameter(catalogue.Plans.Count == 0
                ? $"price_plan '{plan}' is not a plan: none is configured (Seedance:PricePlans)"
                : $"price_plan must be one of {string.Join(", ", catalogue.Plans.Keys.Order(StringComparer.Ordinal))}, or empty for the list prices");
        return plan;
    }

    private static int Limit(int? value, int fallback, string name, int min)
    {
        if (value is null) return fallback;
        if (value < min || value > 100_000) throw ApiError.InvalidParameter($"{name} must be {min}-100000");
        return value.Value;
    }

    /// <summary>A spending limit as given (0: none), checked; null when not given.</summary>
    private static decimal? CreditLimit(decimal? value, string name)
    {
        if (value is { } limit) CheckAmount(limit, name, allowNegative: false);
        return value;
    }

    /// <summary>A retention in days as given (0: the server's), checked; null when not given.</summary>
    private static int? RetentionDays(int? value) => value is < 0 or > 36_500
        ? throw ApiError.InvalidParameter("result_retention_days must be 1-36500, or 0 for the server's default")
        : value;

    private static void CheckAmount(decimal value, string name, bool allowNegative)
    {
        if (!allowNegative && value < 0) throw ApiError.InvalidParameter($"{name} must be 0 or more");
        if (!Credits.HasAtMostTwoDecimals(value)) throw ApiError.InvalidParameter($"{name} must have at most two decimals");
        if (Math.Abs(value) > 1_000_000_000_000m) throw ApiError.InvalidParameter($"{name} is too large");
    }
}
