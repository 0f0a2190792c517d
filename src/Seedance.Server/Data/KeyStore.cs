using Microsoft.EntityFrameworkCore;
using Seedance.Server.Infrastructure;

namespace Seedance.Server.Data;

/// <summary>
/// What an operator changes of a key: its name, whether it works, its limits, its price plan (empty: none), its spending
/// limits and result retention (0: none); null leaves a setting as it is.
/// </summary>
public sealed record KeySettings(string? Name, bool? Enabled, int? MaxConcurrent, int? MaxPending, int? RateLimitPerSecond, string? PricePlan = null,
    decimal? DailyCreditLimit = null, decimal? MonthlyCreditLimit = null, int? ResultRetentionDays = null);

/// <summary>API keys: created with their first credits, their settings, their callback signing secrets. Credits move only through the <see cref="CreditLedger"/>.</summary>
public sealed class KeyStore(DatabaseWriter writer, SeedanceMetrics metrics) : Store(writer)
{
    /// <summary>Inserts <paramref name="key"/> and, in the same transaction, tops it up with <paramref name="credits"/>; returns its id.</summary>
    public async Task<long> CreateAsync(ApiKey key, decimal credits, string note, CancellationToken ct)
    {
        var id = await WriteAsync(async (db, token) =>
        {
            db.ApiKeys.Add(key);
            await db.SaveChangesAsync(token);
            if (credits > 0) await CreditLedger.TryAdjustIn(db, key.Id, credits, note, key.CreatedAt, token);
            return key.Id;
        }, ct);
        if (credits > 0) metrics.Credits(LedgerKind.TopUp, credits);
        return id;
    }

    /// <summary>
    /// Stores the settings given, and only those, so two operators changing different settings at once both keep
    /// their change; caches that authenticate with the key refresh from <c>auth_changed_at</c>.
    /// </summary>
    public Task<bool> UpdateAsync(long keyId, KeySettings settings, DateTime now, CancellationToken ct) =>
        WriteAsync(async (db, token) => await db.ApiKeys.Where(k => k.Id == keyId).ExecuteUpdateAsync(s =>
        {
            if (settings.Name is { } name) s.SetProperty(k => k.Name, name);
            if (settings.Enabled is { } enabled) s.SetProperty(k => k.Enabled, enabled);
            if (settings.MaxConcurrent is { } maxConcurrent) s.SetProperty(k => k.MaxConcurrent, maxConcurrent);
            if (settings.MaxPending is { } maxPending) s.SetProperty(k => k.MaxPending, maxPending);
            if (settings.RateLimitPerSecond is { } rate) s.SetProperty(k => k.RateLimitPerSecond, rate);
            if (settings.PricePlan is { } plan) s.SetProperty(k => k.PricePlan, plan.Length == 0 ? null : plan);
            if (settings.DailyCreditLimit is { } daily) s.SetProperty(k => k.DailyCreditLimit, daily == 0 ? null : daily);
            if (settings.MonthlyCreditLimit is { } monthly) s.SetProperty(k => k.MonthlyCreditLimit, monthly == 0 ? null : monthly);
            if (settings.ResultRetentionDays is { } days) s.SetProperty(k => k.ResultRetentionDays, days == 0 ? null : days);
            s.SetProperty(k => k.UpdatedAt, now).SetProperty(k => k.AuthChangedAt, now);
        }, token) == 1, ct);

    /// <summary>Gives a key that has no signing secret yet (an older key) <paramref name="secret"/>; returns the key's secret, whichever won.</summary>
    public Task<string> EnsureWebhookSecretAsync(long keyId, string secret, CancellationToken ct) =>
        WriteAsync(async (db, token) =>
        {
            await db.ApiKeys.Where(k => k.Id == keyId && k.WebhookSecret == null).ExecuteUpdateAsync(s => s.SetProperty(k => k.WebhookSecret, secret), token);
            return await db.ApiKeys.Where(k => k.Id == keyId).Select(k => k.WebhookSecret!).FirstAsync(token);
        }, ct);

    /// <summary>Replaces the signing secret <paramref name="current"/> with <paramref name="next"/>; the current one keeps signing until <paramref name="until"/>. False when another rotation came first.</summary>
    public Task<bool> RotateWebhookSecretAsync(long keyId, string current, string next, DateTime until, CancellationToken ct) =>
        WriteAsync(async (db, token) => await db.ApiKeys.Where(k => k.Id == keyId && k.WebhookSecret == current)
            .ExecuteUpdateAsync(s => s.SetProperty(k => k.WebhookSecret, next)
                .SetProperty(k => k.PreviousWebhookSecret, current)
                .SetProperty(k => k.PreviousWebhookSecretUntil, until), token) == 1, ct);
}
