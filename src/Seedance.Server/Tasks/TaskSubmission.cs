using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Seedance.Server.Auth;
using Seedance.Server.Billing;
using Seedance.Server.Callbacks;
using Seedance.Server.Data;
using Seedance.Server.Dispatch;
using Seedance.Server.Infrastructure;
using Seedance.Server.Keys;
using Seedance.Server.Storage;
using Seedance.Server.Uploads;

namespace Seedance.Server.Tasks;

/// <summary>
/// <c>POST /api/v1/video/task</c>: validate, price, then in one transaction reserve the cost, check the
/// backlog, insert the task and its ledger entry, lock the referenced uploads and remember the
/// Idempotency-Key. Any refusal leaves nothing behind.
/// </summary>
public static class TaskSubmission
{
    public const string IdempotencyHeader = "Idempotency-Key";
    public static readonly TimeSpan IdempotencyWindow = TimeSpan.FromHours(24);

    public static async Task<IResult> SubmitAsync(HttpContext context, SeedanceDb db, IOptions<SeedanceOptions> options, TimeProvider clock, Dispatcher dispatcher, FileStore store, GroupCommit writes)
    {
        var ct = context.RequestAborted;
        var caller = context.Caller();
        if (!context.Request.HasJsonContentType())
            throw new ApiError(415, "INVALID_PARAMETER", "Invalid parameter: Content-Type must be application/json");
        var body = await JsonBody.ReadAsync(context);
        using var document = JsonBody.Parse(body) ?? throw ApiError.MissingParameter("content");
        var request = TaskRequest.Parse(document.RootElement);
        if (request.CallbackUrl is { } callback && SafeHttp.Check(callback, options.Value.Callbacks.AllowPrivateNetworks) is { IsAllowed: false } refused)
            throw ApiError.InvalidParameter(refused.Error!);

        var idempotencyKey = context.Request.Headers[IdempotencyHeader].ToString();
        if (idempotencyKey.Length > 255) throw ApiError.InvalidParameter("Idempotency-Key must be at most 255 characters");
        var requestHash = SHA256.HashData(body);
        if (idempotencyKey.Length > 0 && await Replay(db, caller.KeyId, idempotencyKey, requestHash, clock, ct) is { } replay)
            return replay;

        var content = await ResolveContent(db, store, clock, caller.KeyId, request.Content, options.Value, ct);
        var cost = Pricing.Cost(request.Model, request.Resolution, request.Duration);
        var now = clock.GetUtcNow().UtcDateTime;
        var task = new VideoTask
        {
            TaskId = Guid.CreateVersion7().ToString("N"), KeyId = caller.KeyId, Model = request.Model, Status = TaskStatus.Pending,
            Resolution = request.Resolution, Ratio = request.Ratio, Duration = request.Duration, GenerateAudio = request.GenerateAudio,
            Seed = request.Seed, Watermark = request.Watermark, ReturnLastFrame = request.ReturnLastFrame, CallbackUrl = request.CallbackUrl,
            SubmittedBaseUrl = request.CallbackUrl is null ? null : RequestBaseUrl(context),
            ContentJson = JsonSerializer.Serialize(content, Json.Options), CreditCost = cost,
            CreatedAt = now, UpdatedAt = now, ExpiresAt = now.AddHours(options.Value.Tasks.TimeToLiveHours),
        };
        var result = new SubmitResult(task.TaskId, task.Status, cost);
        var uploads = content.Where(c => c.FilePath is not null).Select(c => c.FilePath!).ToArray();

        // Written through the group commit: on SQLite many submissions share one transaction and its commit.
        try
        {
            var answer = await writes.RunAsync(db, (w, token) => WriteAsync(w, token), ct);
            dispatcher.Wake();
            return answer;
        }
        catch (AnsweredByTwin twin)
        {
            return twin.Answer;
        }
        catch (DbUpdateException) when (idempotencyKey.Length > 0)
        {
            // The same Idempotency-Key raced this request and won: answer as it did.
            db.ChangeTracker.Clear();
            if (await Replay(db, caller.KeyId, idempotencyKey, requestHash, clock, ct) is { } winner) return winner;
            throw;
        }

        // Reserve, check the backlog, insert: inside the transaction the group commit gives, on its context.
        async Task<IResult> WriteAsync(SeedanceDb w, CancellationToken token)
        {
            // A refusal may only be the trace of a twin request with the same Idempotency-Key that committed
            // meanwhile (it took the credit or the backlog place): the twin's answer is the right one then. Either
            // way it is thrown, which ends this request's part of the transaction.
            async Task<Exception> Refusal(ApiError refusal) =>
                idempotencyKey.Length > 0 && await Replay(w, caller.KeyId, idempotencyKey, requestHash, clock, token) is { } twin
                    ? new AnsweredByTwin(twin) : refusal;

            // One guarded statement takes the credit and a place in the backlog, or changes nothing.
            // The submissions of one key take their turn here, whichever node they reach, so two cannot both take
            // the last free place. PostgreSQL: this is the transaction's first statement, an UPDATE of the key's
            // row, which row-locks it to the end of the transaction; under READ COMMITTED it re-checks its guard
            // on the row as committed. A row lock rather than serializable isolation: contention is per key and is
            // the normal case (a client firing a batch), where serializable transactions would mostly end in
            // serialization failures, each retry repeating the whole submission; the lock just queues them and
            // other keys never wait. SQLite: the group commit's transaction is the database's only writer from its
            // start, across processes too (Microsoft.Data.Sqlite begins it IMMEDIATE). MultiNodeLimitTests holds
            // both to it.
            if (!await CreditLedger.TryReserveAsync(w, caller.KeyId, task.TaskId, cost, now, token))
            {
                var key = await w.ApiKeys.AsNoTracking().Where(k => k.Id == caller.KeyId).Select(k => new
                {
                    Remain = k.TotalCredits - k.UsedCredits - k.ReservedCredits, k.MaxPending,
                }).FirstAsync(token);
                throw await Refusal(key.Remain < cost ? ApiError.InsufficientCredit(cost, key.Remain) : ApiError.ConcurrencyLimit(key.MaxPending));
            }

            await Statements.InsertAsync(w, task, token);
            if (uploads.Length > 0)
                await w.Uploads.Where(f => f.KeyId == caller.KeyId && uploads.Contains(f.FilePath) && f.ReferencedAt == null)
                    .ExecuteUpdateAsync(s => s.SetProperty(f => f.ReferencedAt, now), token);
            if (idempotencyKey.Length > 0)
            {
                // A record older than the window is forgotten: it must not block the key's reuse.
                await Statements.ExecuteAsync(w, ForgetStaleIdempotencyRecord, token,
                    Statements.Value<IdempotencyRecord>(w, nameof(IdempotencyRecord.KeyId), caller.KeyId),
                    Statements.Value<IdempotencyRecord>(w, nameof(IdempotencyRecord.IdempotencyKey), idempotencyKey),
                    Statements.Value<IdempotencyRecord>(w, nameof(IdempotencyRecord.CreatedAt), now - IdempotencyWindow));
                await Statements.InsertAsync(w, new IdempotencyRecord
                {
                    KeyId = caller.KeyId, IdempotencyKey = idempotencyKey, RequestHash = requestHash, ResponseStatus = 200,
                    ResponseBody = JsonSerializer.Serialize(Envelope.Success(result), Json.Options), CreatedAt = now,
                }, token);
            }
            return Envelope.Ok(result);
        }
    }

    private const string ForgetStaleIdempotencyRecord =
        "DELETE FROM idempotency_records WHERE key_id = @p0 AND idempotency_key = @p1 AND created_at <= @p2";

    /// <summary>A refused submission whose answer is that of its committed twin (same Idempotency-Key and body).</summary>
    private sealed class AnsweredByTwin(IResult answer) : Exception("Answered by the request's twin")
    {
        public IResult Answer => answer;
    }

    private static string RequestBaseUrl(HttpContext context) =>
        $"{context.Request.Scheme}://{context.Request.Host}{context.Request.PathBase}";

    private static async Task<IResult?> Replay(SeedanceDb db, long keyId, string idempotencyKey, byte[] requestHash, TimeProvider clock, CancellationToken ct)
    {
        var since = clock.GetUtcNow().UtcDateTime - IdempotencyWindow;
        var record = await db.IdempotencyRecords.AsNoTracking()
            .FirstOrDefaultAsync(r => r.KeyId == keyId && r.IdempotencyKey == idempotencyKey && r.CreatedAt > since, ct);
        if (record is null) return null;
        if (!CryptographicOperations.FixedTimeEquals(record.RequestHash, requestHash))
            throw ApiError.InvalidParameter("Idempotency-Key was already used with a different request body");
        return Results.Content(record.ResponseBody, "application/json", statusCode: record.ResponseStatus);
    }

    /// <summary>Checks each referenced upload belongs to the caller, has landed and fits its item; resolves samples.</summary>
    private static async Task<List<ContentItem>> ResolveContent(SeedanceDb db, FileStore store, TimeProvider clock, long keyId,
        IReadOnlyList<ContentItem> items, SeedanceOptions options, CancellationToken ct)
    {
        var paths = items.Where(i => i.FilePath is not null).Select(i => i.FilePath!).Distinct().ToArray();
        var files = paths.Length == 0
            ? new Dictionary<string, UploadedFile>()
            : await db.Uploads.AsNoTracking().Where(f => f.KeyId == keyId && paths.Contains(f.FilePath)).ToDictionaryAsync(f => f.FilePath, ct);
        if (store.SignsOwnLinks)
            foreach (var file in files.Values.Where(f => f.ReferencedAt is null)) await CheckStoredUpload(db, store, clock, file, ct);

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
    /// and begin with that type's signature. A file that passes is recorded as uploaded.
    /// </summary>
    private static async Task CheckStoredUpload(SeedanceDb db, FileStore store, TimeProvider clock, UploadedFile file, CancellationToken ct)
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
        await db.Uploads.Where(f => f.Id == file.Id && f.ReferencedAt == null)
            .ExecuteUpdateAsync(s => s.SetProperty(f => f.Size, file.Size).SetProperty(f => f.UploadedAt, file.UploadedAt), ct);
    }
}
