using System.Diagnostics;
using System.ComponentModel;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Seedance.Server.Auth;
using Seedance.Server.Callbacks;
using Seedance.Server.Channels;
using Seedance.Server.Data;
using Seedance.Server.Infrastructure;
using Seedance.Server.Storage;
using Seedance.Server.Uploads;

namespace Seedance.Server.Tasks;

/// <summary>
/// <c>POST /api/v1/video/task</c>: validate, price, then in one transaction (<see cref="TaskStore.SubmitAsync"/>)
/// reserve the cost, check the backlog, insert the task and its ledger entry, lock the referenced uploads and
/// remember the Idempotency-Key. Any refusal leaves nothing behind.
/// </summary>
public static class TaskSubmission
{
    public const string IdempotencyHeader = "Idempotency-Key";

    public static async Task<IResult> SubmitAsync(HttpContext context, SeedanceDb db, IOptions<SeedanceOptions> options, ModelCatalogue catalogue,
        TimeProvider clock, TaskStore tasks, UploadStore uploads, FileStore store, ChannelPool channels,
        [FromHeader(Name = IdempotencyHeader), Description("The same key with the same body within 24 h answers as the first time and creates nothing")] string? idempotency)
    {
        var ct = context.RequestAborted;
        var caller = context.Caller();
        var (body, request) = await ReadAsync(context, catalogue, options.Value);

        var idempotencyKey = idempotency ?? "";
        if (idempotencyKey.Length > 255) throw ApiError.InvalidParameter("Idempotency-Key must be at most 255 characters");
        var requestHash = SHA256.HashData(body);
        if (idempotencyKey.Length > 0 && await Replay(db, caller.KeyId, idempotencyKey, requestHash, clock, ct) is { } replay)
            return replay;
        RequireChannel(channels, request.Model);

        var content = await ResolveContent(db, store, uploads, clock, caller.KeyId, request.Content, options.Value, record: true, ct);
        var (price, cost) = catalogue.Charge(request.Model, request.Resolution, request.Duration, caller.PricePlan);
        var now = clock.GetUtcNow().UtcDateTime;
        var task = new VideoTask
        {
            TaskId = Guid.CreateVersion7().ToString("N"), KeyId = caller.KeyId, Model = request.Model, Status = VideoTaskStatus.Pending,
            Resolution = request.Resolution, Ratio = request.Ratio, Duration = request.Duration, GenerateAudio = request.GenerateAudio,
            Seed = request.Seed, Watermark = request.Watermark, ReturnLastFrame = request.ReturnLastFrame, CallbackUrl = request.CallbackUrl,
            SubmittedBaseUrl = request.CallbackUrl is null ? null : RequestBaseUrl(context),
            ContentJson = JsonSerializer.Serialize(content, Json.Options), CreditCost = cost, PricePerSecond = price,
            CreatedAt = now, UpdatedAt = now, ExpiresAt = now.AddHours(options.Value.Tasks.TimeToLiveHours),
        };
        var result = new SubmitResult(task.TaskId, task.Status, cost);
        var answer = idempotencyKey.Length == 0 ? null : new IdempotencyRecord
        {
            KeyId = caller.KeyId, IdempotencyKey = idempotencyKey, RequestHash = requestHash, ResponseStatus = 200,
            ResponseBody = JsonSerializer.Serialize(Envelope.Success(result), Json.Options), CreatedAt = now,
        };

        Submission submission;
        using var span = SeedanceTracing.StartTask("seedance.task.submit", task.TaskId, linkTo: Activity.Current?.Context);
        span?.SetTag("seedance.model", task.Model).SetTag("seedance.resolution", task.Resolution);
        try
        {
            submission = await tasks.SubmitAsync(task, content.Where(c => c.FilePath is not null).Select(c => c.FilePath!).ToArray(), answer, ct);
        }
        catch (DbUpdateException) when (answer is not null)
        {
            // An earlier request with the same Idempotency-Key committed in the same instant: answer as it did.
            if (await Replay(db, caller.KeyId, idempotencyKey, requestHash, clock, ct) is { } earlier) return earlier;
            throw;
        }
        if (submission.Accepted) return Envelope.Ok(result);
        // Refused, but only because an earlier request with the same Idempotency-Key took the credit or the place: its answer is the right one.
        if (submission.Earlier is { } record) return Replayed(record, requestHash);
        if (submission.RemainCredits < cost) throw ApiError.InsufficientCredit(cost, submission.RemainCredits);
        throw submission.Spending?.Refusal(cost) ?? ApiError.ConcurrencyLimit(submission.MaxPending);
    }

    /// <summary>
    /// <c>POST /api/v1/video/quote</c>: a submission's body checked exactly as a submission checks it (the same refusals for
    /// the same bodies, uploads and samples included), priced as a submission would reserve it. Nothing is written.
    /// </summary>
    public static async Task<IResult> QuoteAsync(HttpContext context, SeedanceDb db, IOptions<SeedanceOptions> options, ModelCatalogue catalogue,
        TimeProvider clock, UploadStore uploads, FileStore store, ChannelPool channels)
    {
        var ct = context.RequestAborted;
        var caller = context.Caller();
        var (_, request) = await ReadAsync(context, catalogue, options.Value);
        RequireChannel(channels, request.Model);
        await ResolveContent(db, store, uploads, clock, caller.KeyId, request.Content, options.Value, record: false, ct);
        var (_, cost) = catalogue.Charge(request.Model, request.Resolution, request.Duration, caller.PricePlan);
        var key = await db.ApiKeys.AsNoTracking().FirstAsync(k => k.Id == caller.KeyId, ct);
        var spending = Spending.Of(key, clock.GetUtcNow().UtcDateTime);
        var remain = key.RemainCredits;
        return Envelope.Ok(new Quote(request.Model, request.Resolution, request.Duration, cost, remain, cost <= remain && spending.Allows(cost)));
    }

    /// <param name="Affordable">Whether a submission now would be charged: the cost fits what remains and the key's spending limits.</param>
    public sealed record Quote(string Model, string Resolution, int Duration, decimal CreditCost, decimal RemainCredits, bool Affordable);

    /// <summary>The body of a submission or a quote, read and checked: JSON, the fields and their rules, a callback address it may call.</summary>
    private static async Task<(byte[] Body, TaskRequest Request)> ReadAsync(HttpContext context, ModelCatalogue catalogue, SeedanceOptions options)
    {
        if (!context.Request.HasJsonContentType())
            throw ApiError.NotJson();
        var body = await JsonBody.ReadAsync(context);
        using var document = JsonBody.Parse(body) ?? throw ApiError.MissingParameter("content");
        var request = TaskRequest.Parse(document.RootElement, catalogue);
        if (request.CallbackUrl is { } callback && SafeHttp.Check(callback, options.Callbacks.AllowPrivateNetworks) is { IsAllowed: false } refused)
            throw ApiError.InvalidParameter(refused.Error!);
        return (body, request);
    }

    /// <summary>
    /// A model no channel serves now (the operator's channels are disabled, draining or map it nowhere) is refused rather
    /// than left pending, holding its credits, until it expires.
    /// </summary>
    private static void RequireChannel(ChannelPool channels, string model)
    {
        if (!channels.Serves(model)) throw ApiError.NoChannelServes(model);
    }

    private static string RequestBaseUrl(HttpContext context) =>
        $"{context.Request.Scheme}://{context.Request.Host}{context.Request.PathBase}";

    private static async Task<IResult?> Replay(SeedanceDb db, long keyId, string idempotencyKey, byte[] requestHash, TimeProvider clock, CancellationToken ct)
    {
        var since = clock.GetUtcNow().UtcDateTime - IdempotencyStore.Window;
        var record = await db.IdempotencyRecords.AsNoTracking()
            .FirstOrDefaultAsync(r => r.KeyId == keyId && r.IdempotencyKey == idempotencyKey && r.CreatedAt > since, ct);
        return record is null ? null : Replayed(record, requestHash);
    }

    /// <summary>The first answer again, for the same body; a different body under the same Idempotency-Key is refused.</summary>
    private static IResult Replayed(IdempotencyRecord record, byte[] requestHash)
    {
        if (!CryptographicOperations.FixedTimeEquals(record.RequestHash, requestHash))
            throw ApiError.InvalidParameter("Idempotency-Key was already used with a different request body");
        return Results.Content(record.ResponseBody, "application/json", statusCode: record.ResponseStatus);
    }

    /// <summary>Checks each referenced upload belongs to the caller, has landed and fits its item; resolves samples.</summary>
    private static async Task<List<ContentItem>> ResolveContent(SeedanceDb db, FileStore store, UploadStore uploads, TimeProvider clock, long keyId,
        IReadOnlyList<ContentItem> items, SeedanceOptions options, bool record, CancellationToken ct)
    {
        var paths = items.Where(i => i.FilePath is not null).Select(i => i.FilePath!).Distinct().ToArray();
        var files = paths.Length == 0
            ? new Dictionary<string, UploadedFile>()
            : await db.Uploads.AsNoTracking().Where(f => f.KeyId == keyId && paths.Contains(f.FilePath)).ToDictionaryAsync(f => f.FilePath, ct);
        if (store.SignsOwnLinks)
            foreach (var file in files.Values.Where(f => f.ReferencedAt is null)) await CheckStoredUpload(store, uploads, clock, file, record, ct);

        var resolved = new List<ContentItem>(items.Count);
        for (var i = 0; i < items.Count; i++)
        {
            var item = items[i];
            var at = $"content[{i}].{item.Type}";
            if (item.SampleId is { } sampleId)
            {
                if (!options.Samples.TryGetValue(sampleId, out var sample))
                    throw ApiError.InvalidParameter($"content[{i}].sample_id '{sampleId}' is not in the sample catalogue");
                resolved.Add(item with { Text = sample.Prompt });
                continue;
            }
            if (item.FilePath is { } path)
            {
                if (!files.TryGetValue(path, out var file) || file.UploadedAt is null)
                    throw ApiError.InvalidParameter($"{at} '{path}' is not a file uploaded with this API key");
                var fits = item.Type switch { "image_url" => file.IsImage, "video_url" => !file.IsImage, _ => false };
                if (!fits) throw ApiError.InvalidParameter($"{at} must reference {(item.Type == "audio_url" ? "an https:// audio URL" : item.Type == "image_url" ? "an image" : "a video")}, not {file.ContentType}");
                item = item with { ContentType = file.ContentType };
            }
            resolved.Add(item);
        }
        return resolved;
    }

    /// <summary>
    /// An upload that went straight to the store (S3) is checked when a task first references it, as the
    /// server's own PUT route checks it on arrival: it must be there, within the size limit of its type,
    /// and begin with that type's signature. A file that passes is recorded as uploaded when <paramref name="record"/> (a
    /// submission; a quote writes nothing).
    /// </summary>
    private static async Task CheckStoredUpload(FileStore store, UploadStore uploads, TimeProvider clock, UploadedFile file, bool record, CancellationToken ct)
    {
        var stored = await store.InspectAsync(file.FilePath, MediaTypes.SniffLength, ct);
        if (stored is null)
        {
            file.UploadedAt = null;
            return;
        }
        var limit = MediaTypes.LimitOf(file.ContentType);
        if (stored.Size > limit) throw ApiError.InvalidParameter($"file must be at most {limit / (1024 * 1024)} MB for {file.ContentType}");
        if (!MediaTypes.Matches(file.ContentType, stored.Head)) throw ApiError.InvalidParameter($"file content is not {file.ContentType}");
        file.Size = stored.Size;
        file.UploadedAt ??= clock.GetUtcNow().UtcDateTime;
        if (record) await uploads.RecordCheckedAsync(file.Id, stored.Size, file.UploadedAt.Value, ct);
    }
}
