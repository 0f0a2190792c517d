using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Seedance.Server.Auth;
using Seedance.Server.Data;
using Seedance.Server.Infrastructure;
using Seedance.Server.Storage;

namespace Seedance.Server.Uploads;

public static class UploadEndpoints
{
    public sealed record PresignResult(string PresignedUrl, string FilePath, int ExpiresIn);

    public static void MapUploads(this IEndpointRouteBuilder api)
    {
        api.MapPost("/upload/presign", Presign).WithName("PresignUpload").WithTags("Uploads")
            .WithSummary("Get a presigned upload URL: PUT the file's bytes to presigned_url with the same Content-Type, then reference file_path in a task")
            .Produces<Envelope<PresignResult>>()
            .ProducesErrors("INVALID_PARAMETER", "MISSING_PARAMETER");
    }

    /// <summary>The local store's routes: presigned PUT of uploads, signed GET of uploads and results (an S3 store serves its own).</summary>
    public static void MapFileStore(this IEndpointRouteBuilder app)
    {
        app.MapPut(FileStore.RoutePrefix + "{**path}", Put).ExcludeFromDescription();
        app.MapMethods(FileStore.RoutePrefix + "{**path}", [HttpMethods.Get, HttpMethods.Head], Get).ExcludeFromDescription();
    }

    private static async Task<IResult> Presign(HttpContext context, UploadStore uploads, PublicLinks links,
        IOptions<SeedanceOptions> options, TimeProvider clock, string? filename, string? content_type)
    {
        // A body may come with a Content-Length or chunked (no length): both carry the same fields.
        if (filename is null && content_type is null && context.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody == true)
            (filename, content_type) = await ReadBody(context);
        if (string.IsNullOrEmpty(filename)) throw ApiError.MissingParameter("filename");
        if (string.IsNullOrEmpty(content_type)) throw ApiError.MissingParameter("content_type");
        if (filename.Length > 128) throw ApiError.InvalidParameter("filename must be at most 128 characters");
        if (filename.Any(c => c is '/' or '\\' || char.IsControl(c)) || filename is "." or "..")
            throw ApiError.InvalidParameter("filename must not contain path separators or control characters");
        if (!MediaTypes.IsAllowed(content_type))
            throw ApiError.InvalidParameter($"content_type must be one of {string.Join(", ", MediaTypes.All)}");
        if (!MediaTypes.ExtensionFits(content_type, filename))
            throw ApiError.InvalidParameter($"filename extension must be {MediaTypes.ExtensionsOf(content_type)} for {content_type}");

        var caller = context.Caller();
        var now = clock.GetUtcNow();
        var lifetime = options.Value.Tasks.UploadUrlSeconds;
        var filePath = $"api/uploads/{caller.KeyId}/{Guid.NewGuid():N}_{filename}";
        await uploads.CreateSlotAsync(new UploadedFile
        {
            KeyId = caller.KeyId, FilePath = filePath, ContentType = content_type,
            CreatedAt = now.UtcDateTime, ExpiresAt = now.AddSeconds(lifetime).UtcDateTime,
        }, context.RequestAborted);
        var url = links.Upload(filePath, content_type, now.AddSeconds(lifetime));
        return Envelope.Ok(new PresignResult(url, filePath, lifetime));
    }

    private static async Task<(string?, string?)> ReadBody(HttpContext context)
    {
        using var doc = JsonBody.Parse(await JsonBody.ReadAsync(context));
        string? Field(string name) => doc?.RootElement.ValueKind == JsonValueKind.Object
            && doc.RootElement.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
        return (Field("filename"), Field("content_type"));
    }

    private static async Task<IResult> Put(HttpContext context, string path, SeedanceDb db, UploadStore uploads, UrlSigner signer, LocalFileStore store, TimeProvider clock)
    {
        var request = context.Request;
        var contentType = request.ContentType ?? "";
        var check = signer.Verify("PUT", FileStore.RoutePrefix + FileStore.EscapePath(path), request.Query["expires"], request.Query["signature"], clock.GetUtcNow(), contentType);
        if (check == SignatureCheck.Invalid)
            throw ApiError.AccessDenied("the signature does not match (URL changed, or Content-Type differs from the presigned one)");
        if (check == SignatureCheck.Expired) throw ApiError.AccessDenied("the presigned URL has expired");

        var file = await db.Uploads.AsNoTracking().FirstOrDefaultAsync(f => f.FilePath == path, context.RequestAborted)
            ?? throw ApiError.AccessDenied("no such upload");
        if (file.ReferencedAt is not null) throw ApiError.AccessDenied("the file is referenced by a task and can no longer change");

        var limit = MediaTypes.LimitOf(file.ContentType);
        if (request.ContentLength > limit) throw TooLarge(file.ContentType, limit);
        context.Features.Get<IHttpMaxRequestBodySizeFeature>()!.MaxRequestBodySize = null;

        var (temp, stream) = store.CreateTemp(path);
        long size;
        try
        {
            await using (stream) size = await CopyChecked(request.Body, stream, file.ContentType, limit, context.RequestAborted);
            // The file moves into place while the transaction holds the row: a referenced file never changes under a task.
            if (!await uploads.LandAsync(file.Id, size, clock.GetUtcNow().UtcDateTime, () => store.Commit(temp, path), context.RequestAborted))
                throw ApiError.AccessDenied("the file is referenced by a task and can no longer change");
        }
        catch
        {
            LocalFileStore.Discard(temp);
            throw;
        }
        return Results.Ok();
    }

    /// <summary>Streams the body to disk in constant memory, checking the signature bytes and the size limit on the way.</summary>
    private static async Task<long> CopyChecked(Stream body, Stream destination, string contentType, long limit, CancellationToken ct)
    {
        var buffer = new byte[81920];
        var head = new byte[MediaTypes.SniffLength];
        long total = 0;
        int read;
        while ((read = await body.ReadAsync(buffer, ct)) > 0)
        {
            if (total < head.Length) buffer.AsSpan(0, (int)Math.Min(read, head.Length - total)).CopyTo(head.AsSpan((int)total));
            total += read;
            if (total > limit) throw TooLarge(contentType, limit);
            await destination.WriteAsync(buffer.AsMemory(0, read), ct);
        }
        if (!MediaTypes.Matches(contentType, head.AsSpan(0, (int)Math.Min(total, head.Length))))
            throw ApiError.InvalidParameter($"file content is not {contentType}");
        return total;
    }

    private static ApiError TooLarge(string contentType, long limit) =>
        new(413, "INVALID_PARAMETER", $"Invalid parameter: file must be at most {limit / (1024 * 1024)} MB for {contentType}");

    private static IResult Get(HttpContext context, string path, UrlSigner signer, LocalFileStore store, TimeProvider clock)
    {
        var check = signer.Verify(HttpMethods.Get, FileStore.RoutePrefix + FileStore.EscapePath(path), context.Request.Query["expires"], context.Request.Query["signature"], clock.GetUtcNow());
        if (check == SignatureCheck.Invalid) throw ApiError.AccessDenied("the signature does not match");
        if (check == SignatureCheck.Expired) throw ApiError.AccessDenied("the link has expired");
        if (!store.Exists(path)) throw ApiError.NotFound("file");
        return Results.File(store.PhysicalPath(path), FileStore.ContentTypeOf(path), enableRangeProcessing: true);
    }
}
