using System.IO.Pipelines;
using System.Net;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Microsoft.Extensions.Options;
using Seedance.Server.Infrastructure;

namespace Seedance.Server.Storage;

/// <summary>
/// An S3-compatible bucket (AWS S3, MinIO, Ceph, R2, ...). Uploads go straight to the bucket through
/// presigned PUT URLs that sign the content type, so the store itself refuses any other Content-Type;
/// results are handed out as presigned GET URLs; writes stream through in bounded memory (one part of
/// <see cref="PartSize"/> at a time, multipart beyond it).
/// </summary>
public sealed class S3FileStore : FileStore, IDisposable
{
    /// <summary>The part size of multipart uploads, and the most a write holds in memory at once.</summary>
    public const int PartSize = 8 * 1024 * 1024;
    /// <summary>The longest a SigV4 presigned URL may live.</summary>
    public static readonly TimeSpan MaxLinkLifetime = TimeSpan.FromDays(7);

    private readonly StorageOptions _options;
    private readonly AmazonS3Client _client;
    private readonly AmazonS3Client _signer;
    private readonly TimeProvider _clock;

    public S3FileStore(IOptions<SeedanceOptions> options, TimeProvider clock)
    {
        _options = options.Value.Storage;
        _clock = clock;
        _client = CreateClient(_options, _options.ServiceUrl);
        // Presigned links carry the host they were signed for: the one clients use, when it differs.
        _signer = string.IsNullOrEmpty(_options.PublicServiceUrl) ? _client : CreateClient(_options, _options.PublicServiceUrl);
    }

    public string Bucket => _options.Bucket!;

    private static AmazonS3Client CreateClient(StorageOptions options, string? serviceUrl)
    {
        var config = new AmazonS3Config
        {
            ForcePathStyle = options.ForcePathStyle,
            AuthenticationRegion = options.Region,
            // Checksums only where S3 requires them: S3-compatible stores differ in which trailers they accept.
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
            // Each request's time limit (the SDK retries a few times within its own budget): a store that hangs must
            // not hold a submission or a result copy for the SDK's default of 100 s a try.
            Timeout = TimeSpan.FromSeconds(options.TimeoutSeconds),
        };
        if (!string.IsNullOrEmpty(serviceUrl)) config.ServiceURL = serviceUrl;
        else config.RegionEndpoint = Amazon.RegionEndpoint.GetBySystemName(options.Region);
        return string.IsNullOrEmpty(options.AccessKey)
            ? new AmazonS3Client(config) // the SDK's default chain: environment, profile, instance role
            : new AmazonS3Client(new BasicAWSCredentials(options.AccessKey, options.SecretKey), config);
    }

    public override string PresignedUpload(string storePath, string contentType, DateTimeOffset expires) =>
        Presign(storePath, HttpVerb.PUT, expires, contentType);

    public override string PresignedDownload(string storePath, DateTimeOffset expires) =>
        Presign(storePath, HttpVerb.GET, expires, null);

    private string Presign(string storePath, HttpVerb verb, DateTimeOffset expires, string? contentType)
    {
        var latest = _clock.GetUtcNow() + MaxLinkLifetime - TimeSpan.FromMinutes(1);
        var request = new GetPreSignedUrlRequest
        {
            BucketName = Bucket, Key = storePath, Verb = verb,
            Expires = (expires < latest ? expires : latest).UtcDateTime,
            Protocol = (_options.PublicServiceUrl ?? _options.ServiceUrl)?.StartsWith("http://", StringComparison.OrdinalIgnoreCase) == true ? Protocol.HTTP : Protocol.HTTPS,
        };
        if (contentType is not null) request.ContentType = contentType;
        return _signer.GetPreSignedURL(request);
    }

    public override Task<StoredObject?> InspectAsync(string storePath, int headLength, CancellationToken ct) =>
        Guarded("read", storePath, () => InspectUnguardedAsync(storePath, headLength, ct), ct);

    private async Task<StoredObject?> InspectUnguardedAsync(string storePath, int headLength, CancellationToken ct)
    {
        GetObjectMetadataResponse meta;
        try { meta = await _client.GetObjectMetadataAsync(Bucket, storePath, ct); }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound) { return null; }
        var size = meta.Headers.ContentLength;
        var head = Array.Empty<byte>();
        if (size > 0 && headLength > 0)
        {
            using var response = await _client.GetObjectAsync(new GetObjectRequest
            {
                BucketName = Bucket, Key = storePath, ByteRange = new ByteRange(0, Math.Min(size, headLength) - 1),
            }, ct);
            using var buffer = new MemoryStream();
            await response.ResponseStream.CopyToAsync(buffer, ct);
            head = buffer.ToArray()[..(int)Math.Min(buffer.Length, headLength)];
        }
        return new StoredObject(size, meta.Headers.ContentType, head);
    }

    public override Task<Stream> OpenReadAsync(string storePath, CancellationToken ct) =>
        Guarded("read", storePath, async () => (await _client.GetObjectAsync(Bucket, storePath, ct)).ResponseStream, ct);

    public override async Task WriteAsync(string storePath, Func<Stream, CancellationToken, Task> write, CancellationToken ct)
    {
        // The writer pushes into a pipe that holds at most about one part; the upload pulls parts from it.
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: PartSize, resumeWriterThreshold: PartSize / 2));
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var upload = Task.Run(async () =>
        {
            // Only the store's failures are the store's: a failing source (the writer) stops the upload and is thrown as it is.
            try { await Guarded("write", storePath, async () => { await UploadAsync(storePath, pipe.Reader.AsStream(), stop.Token); return true; }, stop.Token); }
            catch
            {
                await stop.CancelAsync();
                throw;
            }
            finally { await pipe.Reader.CompleteAsync(); }
        }, CancellationToken.None);

        // The writer is completed here, never by disposing its stream: a stream's dispose would end the pipe as if the
        // write were whole, and the upload could store what came before a failure.
        Exception? writeError = null;
        try
        {
            await write(pipe.Writer.AsStream(leaveOpen: true), stop.Token);
            await pipe.Writer.CompleteAsync();
        }
        catch (Exception e)
        {
            writeError = e;
            await pipe.Writer.CompleteAsync(e);
            await stop.CancelAsync();
        }
        try { await upload; }
        catch when (writeError is not null and not OperationCanceledException) { }
        if (writeError is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(writeError);
    }

    /// <summary>One PUT for what fits in a part; a multipart upload (aborted on failure) for more.</summary>
    private async Task UploadAsync(string storePath, Stream source, CancellationToken ct)
    {
        var contentType = ContentTypeOf(storePath);
        var buffer = new byte[PartSize];
        var filled = await FillAsync(source, buffer, ct);
        if (filled < PartSize)
        {
            await _client.PutObjectAsync(new PutObjectRequest
            {
                BucketName = Bucket, Key = storePath, ContentType = contentType,
                InputStream = new MemoryStream(buffer, 0, filled, writable: false),
            }, ct);
            return;
        }

        var started = await _client.InitiateMultipartUploadAsync(new InitiateMultipartUploadRequest
        {
            BucketName = Bucket, Key = storePath, ContentType = contentType,
        }, ct);
        try
        {
            var parts = new List<PartETag>();
            for (var number = 1; filled > 0; number++)
            {
                var part = await _client.UploadPartAsync(new UploadPartRequest
                {
                    BucketName = Bucket, Key = storePath, UploadId = started.UploadId, PartNumber = number,
                    InputStream = new MemoryStream(buffer, 0, filled, writable: false), PartSize = filled,
                }, ct);
                parts.Add(new PartETag(number, part.ETag));
                filled = await FillAsync(source, buffer, ct);
            }
            await _client.CompleteMultipartUploadAsync(new CompleteMultipartUploadRequest
            {
                BucketName = Bucket, Key = storePath, UploadId = started.UploadId, PartETags = parts,
            }, ct);
        }
        catch
        {
            await _client.AbortMultipartUploadAsync(Bucket, storePath, started.UploadId, CancellationToken.None);
            throw;
        }
    }

    private static async Task<int> FillAsync(Stream source, byte[] buffer, CancellationToken ct)
    {
        var filled = 0;
        int read;
        while (filled < buffer.Length && (read = await source.ReadAsync(buffer.AsMemory(filled), ct)) > 0) filled += read;
        return filled;
    }

    public override Task DeleteAsync(string storePath, CancellationToken ct) =>
        Guarded("delete", storePath, () => _client.DeleteObjectAsync(Bucket, storePath, ct), ct);

    /// <summary>
    /// Runs an operation on the bucket; a failure of the store itself (unreachable, timed out, a 5xx) becomes a
    /// <see cref="StoreUnavailableException"/> (answered 503 SERVICE_BUSY on a request; retried by a result copy). What
    /// the caller stopped, and failures of the write's own source, stay as they are.
    /// </summary>
    private static async Task<T> Guarded<T>(string operation, string storePath, Func<Task<T>> run, CancellationToken ct)
    {
        try { return await run(); }
        catch (Exception e) when (IsStoreFailure(e) && !ct.IsCancellationRequested)
        {
            throw new StoreUnavailableException($"The file store failed to {operation} {storePath}: {e.GetBaseException().Message}", e);
        }
    }

    private static bool IsStoreFailure(Exception e) => e switch
    {
        AmazonServiceException { StatusCode: >= HttpStatusCode.InternalServerError } => true,
        AmazonServiceException => false, // a refusal of this request (403, 404, 400): not an outage
        AmazonClientException or HttpRequestException or TimeoutException or IOException => true,
        OperationCanceledException => true, // the client's time limit (the caller's own cancellation is excluded above)
        _ => false,
    };

    public override async Task<string> LocalFileAsync(string storePath, string scratch, CancellationToken ct)
    {
        Directory.CreateDirectory(scratch);
        var local = Path.Combine(scratch, "input" + Path.GetExtension(storePath));
        await using var source = await OpenReadAsync(storePath, ct);
        await using var file = File.Create(local);
        await source.CopyToAsync(file, ct);
        return local;
    }

    public override async Task CheckAsync(CancellationToken ct)
    {
        // The bucket's location, not a listing: it proves the bucket and the credentials without reading any
        // object (a listing can trip over an object another node was writing when it died).
        try { await _client.GetBucketLocationAsync(new GetBucketLocationRequest { BucketName = Bucket }, ct); }
        catch (AmazonServiceException e)
        {
            throw new OptionsValidationException(SeedanceOptions.Section, typeof(SeedanceOptions),
                [$"Seedance:Storage:Bucket '{Bucket}' cannot be used at {_options.ServiceUrl ?? _options.Region}: {e.ErrorCode ?? e.StatusCode.ToString()} {e.Message}"]);
        }
        catch (HttpRequestException e)
        {
            throw new OptionsValidationException(SeedanceOptions.Section, typeof(SeedanceOptions),
                [$"Seedance:Storage:ServiceUrl '{_options.ServiceUrl}' cannot be reached: {e.Message}"]);
        }
    }

    public void Dispose()
    {
        if (!ReferenceEquals(_signer, _client)) _signer.Dispose();
        _client.Dispose();
    }
}
