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
public sealed class WebhookSecrets(SeedanceDb db, KeyStore keys, IOptions<SeedanceOptions> options, TimeProvider clock)
{
    public async Task<WebhookSecretView> GetAsync(long keyId, CancellationToken ct)
    {
        var key = await db.ApiKeys.AsNoTracking().Where(k => k.Id == keyId)
            .Select(k => new { k.WebhookSecret, k.PreviousWebhookSecretUntil }).FirstOrDefaultAsync(ct) ?? throw ApiError.KeyNotFound(keyId);
        var secret = key.WebhookSecret ?? await CreateAsync(keyId, ct);
        return new WebhookSecretView(keyId, secret, Live(key.PreviousWebhookSecretUntil));
    }

    public async Task<WebhookSecretView> RotateAsync(long keyId, CancellationToken ct)
    {
        var current = (await GetAsync(keyId, ct)).Secret;
        var until = clock.GetUtcNow().UtcDateTime.AddHours(options.Value.Callbacks.SecretGraceHours);
        var next = WebhookSignature.NewSecret();
        // Guarded by the secret read: of two rotations at once, one wins and the other starts over.
        return await keys.RotateWebhookSecretAsync(keyId, current, next, until, ct) ? new WebhookSecretView(keyId, next, until) : await RotateAsync(keyId, ct);
    }

    /// <summary>The secrets that sign a callback of this key now: the current one, and the previous one during its grace period.</summary>
    public async Task<IReadOnlyList<string>> SigningSecretsAsync(long keyId, CancellationToken ct)
    {
        var key = await db.ApiKeys.AsNoTracking().Where(k => k.Id == keyId)
            .Select(k => new { k.WebhookSecret, k.PreviousWebhookSecret, k.PreviousWebhookSecretUntil }).FirstOrDefaultAsync(ct) ?? throw ApiError.KeyNotFound(keyId);
        var current = key.WebhookSecret ?? await CreateAsync(keyId, ct);
        return key.PreviousWebhookSecret is { } previous && Live(key.PreviousWebhookSecretUntil) is not null ? [current, previous] : [current];
    }

    private DateTime? Live(DateTime? until) => until > clock.GetUtcNow().UtcDateTime ? until : null;

    private Task<string> CreateAsync(long keyId, CancellationToken ct) => keys.EnsureWebhookSecretAsync(keyId, WebhookSignature.NewSecret(), ct);
}
