using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Seedance.Server.Data;
using Seedance.Server.Infrastructure;

namespace Seedance.Server.Callbacks;

/// <summary>What the key's owner sees of its signing secret.</summary>
public sealed record WebhookSecretView(long KeyId, string Secret, DateTime? PreviousSecretExpiresAt);

/// <summary>
/// Each key's callback signing secret: created with the key (or on first use for an older key) and
/// rotated on request; after a rotation the previous secret keeps signing for a grace period, so a
/// receiver can switch over without dropping a callback.
/// </summary>
public sealed class WebhookSecrets(SeedanceDb db, IOptions<SeedanceOptions> options, TimeProvider clock)
{
    public async Task<WebhookSecretView> GetAsync(long keyId, CancellationToken ct)
    {
        var key = await db.ApiKeys.AsNoTracking().Where(k => k.Id == keyId)
            .Select(k => new { k.WebhookSecret, k.PreviousWebhookSecretUntil }).FirstOrDefaultAsync(ct) ?? throw KeyNotFound(keyId);
        var secret = key.WebhookSecret ?? await CreateAsync(keyId, ct);
        return new WebhookSecretView(keyId, secret, Live(key.PreviousWebhookSecretUntil));
    }

    public async Task<WebhookSecretView> RotateAsync(long keyId, CancellationToken ct)
    {
        var current = (await GetAsync(keyId, ct)).Secret;
        var until = clock.GetUtcNow().UtcDateTime.AddHours(options.Value.Callbacks.SecretGraceHours);
        var next = WebhookSignature.NewSecret();
        // Guarded by the secret read: of two rotations at once, one wins and the other starts over.
        var rows = await db.ApiKeys.Where(k => k.Id == keyId && k.WebhookSecret == current)
            .ExecuteUpdateAsync(s => s.SetProperty(k => k.WebhookSecret, next)
                .SetProperty(k => k.PreviousWebhookSecret, current)
                .SetProperty(k => k.PreviousWebhookSecretUntil, until), ct);
        return rows == 1 ? new WebhookSecretView(keyId, next, until) : await RotateAsync(keyId, ct);
    }

    /// <summary>The secrets that sign a callback of this key now: the current one, and the previous one during its grace period.</summary>
    public async Task<IReadOnlyList<string>> SigningSecretsAsync(long keyId, CancellationToken ct)
    {
        var key = await db.ApiKeys.AsNoTracking().Where(k => k.Id == keyId)
            .Select(k => new { k.WebhookSecret, k.PreviousWebhookSecret, k.PreviousWebhookSecretUntil }).FirstOrDefaultAsync(ct) ?? throw KeyNotFound(keyId);
        var current = key.WebhookSecret ?? await CreateAsync(keyId, ct);
        return key.PreviousWebhookSecret is { } previous && Live(key.PreviousWebhookSecretUntil) is not null ? [current, previous] : [current];
    }

    private DateTime? Live(DateTime? until) => until > clock.GetUtcNow().UtcDateTime ? until : null;

    private async Task<string> CreateAsync(long keyId, CancellationToken ct)
    {
        var secret = WebhookSignature.NewSecret();
        await db.ApiKeys.Where(k => k.Id == keyId && k.WebhookSecret == null).ExecuteUpdateAsync(s => s.SetProperty(k => k.WebhookSecret, secret), ct);
        // Another request may have created it first: theirs is the one.
        return await db.ApiKeys.Where(k => k.Id == keyId).Select(k => k.WebhookSecret!).FirstAsync(ct);
    }

    private static ApiError KeyNotFound(long keyId) => new(404, "KEY_NOT_FOUND", $"Key {keyId} not found");
}
