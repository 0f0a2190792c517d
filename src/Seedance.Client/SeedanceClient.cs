using System.Globalization;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;
using Seedance.Client.Http;
using Seedance.Client.Internal;

namespace Seedance.Client;

/// <summary>
/// The Seedance 2.0 API: upload reference files, submit and follow video tasks, list and cancel them,
/// read the balance. Thread-safe; keep one for the application's lifetime (or register it with
/// <c>services.AddSeedanceClient(configuration)</c>).
/// </summary>
/// <example>
/// <code>
/// var client = new SeedanceClient(apiKey, new Uri("https://api.seedance2.movie"));
/// var operation = await client.GenerateVideoAsync(new VideoGenerationRequest("A cat under cherry blossoms") { Duration = 5 });
/// await operation.DownloadVideoAsync("cat.mp4");
/// </code>
/// </example>
public sealed class SeedanceClient : IDisposable
{
    private readonly HttpClient? _owned;

    /// <summary>A client for the given key and server (the public service when <paramref name="baseUrl"/> is null).</summary>
    public SeedanceClient(string apiKey, Uri? baseUrl = null)
        : this(new SeedanceClientOptions { ApiKey = apiKey, BaseUrl = baseUrl ?? SeedanceClientOptions.DefaultBaseUrl }) { }

    /// <summary>A client with the given settings; it owns its connections and retries (see <see cref="SeedanceClientOptions.MaxRetries"/>).</summary>
    public SeedanceClient(SeedanceClientOptions options)
        : this(OwnedHttpClient(options), options) => _owned = Transport.HttpClient;

    /// <summary>
    /// A client over an <see cref="HttpClient"/> that the caller configures (as <c>AddSeedanceClient</c> does
    /// through <c>IHttpClientFactory</c>, adding the retry handler). The client's own timeout should be infinite:
    /// this client limits each call by <see cref="SeedanceClientOptions.RequestTimeout"/> itself.
    /// </summary>
    public SeedanceClient(HttpClient httpClient, IOptions<SeedanceClientOptions> options) : this(httpClient, options.Value) { }

    private SeedanceClient(HttpClient httpClient, SeedanceClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(httpClient);
        options.Validate();
        if (string.IsNullOrWhiteSpace(options.ApiKey)) throw new ArgumentException("An API key is required (Seedance:ApiKey)", nameof(options));
        var key = options.ApiKey;
        Options = options;
        Transport = new ApiTransport(httpClient, options, request => request.Headers.Add("X-API-Key", key));
    }

    /// <summary>The settings in use.</summary>
    public SeedanceClientOptions Options { get; }

    internal ApiTransport Transport { get; }

    /// <summary>Uploads a file (PNG, JPEG, WebP, MP4, MOV or WebM, by its extension) for use in a task's content.</summary>
    public async Task<UploadedFile> UploadFileAsync(string path, IProgress<TransferProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        await using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.Asynchronous | FileOptions.SequentialScan);
        return await UploadFileAsync(file, Path.GetFileName(path), null, progress, cancellationToken);
    }

    /// <summary>
    /// Uploads a stream: asks for a presigned address, then PUTs the bytes to it. The content type follows the
    /// file name's extension unless given. A seekable stream is rewound if the PUT has to be retried.
    /// </summary>
    public async Task<UploadedFile> UploadFileAsync(Stream content, string fileName, string? contentType = null,
        IProgress<TransferProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(content);
        if (string.IsNullOrWhiteSpace(fileName)) throw SeedanceException.MissingParameter("filename");
        if (fileName.Length > 128) throw SeedanceException.InvalidParameter("filename must be at most 128 characters");
        contentType ??= UploadContentTypes.For(fileName)
            ?? throw SeedanceException.InvalidParameter($"filename must end in one of {string.Join(", ", UploadContentTypes.Extensions)}");

        var query = $"api/v1/video/upload/presign?filename={Uri.EscapeDataString(fileName)}&content_type={Uri.EscapeDataString(contentType)}";
        var presigned = await Transport.SendAsync<PresignedUpload>(HttpMethod.Post, query, null, cancellationToken);

        var size = content.CanSeek ? content.Length - content.Position : (long?)null;
        using var put = new HttpRequestMessage(HttpMethod.Put, presigned.PresignedUrl) { Content = new ProgressContent(content, contentType, progress) };
        using var response = await Transport.SendRawAsync(put, HttpCompletionOption.ResponseHeadersRead, cancellationToken, cancellationToken);
        if (!ApiTransport.IsSuccess(response))
            throw await ApiTransport.ErrorAsync(response, null, SeedanceErrorCodes.FileUploadFailed, cancellationToken);
        return new UploadedFile(presigned.FilePath, contentType, size);
    }

    /// <summary>The models the server offers: what each accepts (resolutions, ratios, durations, audio) and its prices in credits per second.</summary>
    public async Task<IReadOnlyList<VideoModelInfo>> GetModelsAsync(CancellationToken cancellationToken = default) =>
        (await Transport.SendAsync<ModelList>(HttpMethod.Get, "api/v1/video/models", null, cancellationToken)).Data;

    /// <summary>
    /// What the request would cost, from the server: it checks the request as it checks a submission (the same errors), and
    /// creates or reserves nothing. <see cref="VideoQuote.Affordable"/> says whether the key's remaining credits cover it.
    /// </summary>
    public Task<VideoQuote> QuoteAsync(VideoGenerationRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        request.Validate();
        return Transport.SendAsync<VideoQuote>(HttpMethod.Post, "api/v1/video/quote", request.ToJson(), cancellationToken);
    }

    /// <summary>Submits a task after checking it (<see cref="VideoGenerationRequest.Validate"/>), with an Idempotency-Key so a retried submission never creates a second task.</summary>
    /// <returns>The operation, to wait for, cancel or download the task.</returns>
    public async Task<VideoTaskOperation> CreateTaskAsync(VideoGenerationRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        request.Validate();
        var idempotencyKey = request.IdempotencyKey ?? Guid.NewGuid().ToString("N");
        var created = await Transport.SendAsync<CreatedTask>(HttpMethod.Post, "api/v1/video/task", request.ToJson(), cancellationToken,
            configure: r => r.Headers.Add("Idempotency-Key", idempotencyKey));
        return new VideoTaskOperation(this, created.TaskId, created.Status, created.CreditCost);
    }

    /// <summary>
    /// The one-call path: submits the task and, unless <paramref name="waitUntilCompleted"/> is false, waits for it
    /// and throws a <see cref="SeedanceException"/> (the task's error code and id) unless it completed.
    /// </summary>
    public async Task<VideoTaskOperation> GenerateVideoAsync(VideoGenerationRequest request, bool waitUntilCompleted = true,
        IProgress<VideoTask>? progress = null, CancellationToken cancellationToken = default)
    {
        var operation = await CreateTaskAsync(request, cancellationToken);
        if (!waitUntilCompleted) return operation;
        var task = await operation.WaitForCompletionAsync(progress, cancellationToken);
        task.EnsureCompleted();
        return operation;
    }

    /// <summary>Reads a task.</summary>
    public Task<VideoTask> GetTaskAsync(string taskId, CancellationToken cancellationToken = default) => GetTaskAsync(taskId, null, cancellationToken);

    internal Task<VideoTask> GetTaskAsync(string taskId, int? waitSeconds, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(taskId);
        var path = $"api/v1/video/task/{Uri.EscapeDataString(taskId)}";
        if (waitSeconds is { } wait) path += $"?wait={wait.ToString(CultureInfo.InvariantCulture)}";
        return Transport.SendAsync<VideoTask>(HttpMethod.Get, path, null, cancellationToken, taskId);
    }

    /// <summary>An operation for an existing task, read from the server (to wait for, cancel or download it).</summary>
    public async Task<VideoTaskOperation> GetTaskOperationAsync(string taskId, CancellationToken cancellationToken = default)
    {
        var task = await GetTaskAsync(taskId, cancellationToken);
        return new VideoTaskOperation(this, task);
    }

    /// <summary>One page of the key's tasks, newest first.</summary>
    /// <param name="page">The page, from 1.</param>
    /// <param name="pageSize">Tasks per page, 1-100.</param>
    /// <param name="status">Only tasks with this status.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public Task<VideoTaskPage> GetTaskPageAsync(int page = 1, int pageSize = 20, VideoTaskStatus? status = null, CancellationToken cancellationToken = default)
    {
        if (page < 1) throw SeedanceException.InvalidParameter("page must be 1 or more");
        if (pageSize is < 1 or > 100) throw SeedanceException.InvalidParameter("page_size must be 1-100");
        var path = FormattableString.Invariant($"api/v1/video/tasks?page={page}&page_size={pageSize}");
        if (status is { } s) path += $"&status={WireName.Of(s)}";
        return Transport.SendAsync<VideoTaskPage>(HttpMethod.Get, path, null, cancellationToken);
    }

    /// <summary>
    /// The key's tasks among <paramref name="taskIds"/> in one request (1-100 distinct ids), in the order given; an id that
    /// is unknown or another key's is simply absent.
    /// </summary>
    /// <param name="taskIds">The task ids.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public async Task<IReadOnlyList<VideoTask>> GetTasksAsync(IEnumerable<string> taskIds, CancellationToken cancellationToken = default)
    {
        var ids = taskIds.Distinct(StringComparer.Ordinal).ToList();
        if (ids.Count is 0 or > 100) throw SeedanceException.InvalidParameter("task_ids must name 1-100 task ids");
        if (ids.Any(string.IsNullOrWhiteSpace)) throw SeedanceException.InvalidParameter("task_ids must not contain empty ids");
        var page = await Transport.SendAsync<VideoTaskPage>(HttpMethod.Get,
            "api/v1/video/tasks?task_ids=" + string.Join(',', ids.Select(Uri.EscapeDataString)), null, cancellationToken);
        return page.Data;
    }

    /// <summary>Every task of the key, newest first, fetching pages as the enumeration goes.</summary>
    /// <param name="status">Only tasks with this status.</param>
    /// <param name="pageSize">Tasks fetched per request, 1-100.</param>
    /// <param name="cancellationToken">Stops the enumeration.</param>
    public async IAsyncEnumerable<VideoTask> ListTasksAsync(VideoTaskStatus? status = null, int pageSize = 100,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var seen = new HashSet<string>();
        for (var page = 1; ; page++)
        {
            var result = await GetTaskPageAsync(page, pageSize, status, cancellationToken);
            foreach (var task in result.Data)
                if (seen.Add(task.TaskId)) yield return task; // a task created meanwhile shifts pages: never yield one twice
            if (result.Data.Count < pageSize || (long)page * pageSize >= result.Total) yield break;
        }
    }

    /// <summary>Cancels a task that has not finished (<c>TASK_CANCEL_NOT_ALLOWED</c> when it has, or when the generator refuses).</summary>
    public Task<TaskCancellation> CancelTaskAsync(string taskId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(taskId);
        return Transport.SendAsync<TaskCancellation>(HttpMethod.Post, $"api/v1/video/task/{Uri.EscapeDataString(taskId)}/cancel", null, cancellationToken, taskId);
    }

    /// <summary>
    /// Deletes a finished task's result files (video, last frame, thumbnail): their links stop working at once; the task
    /// stays, with its cost and no links. Asked again, the same answer. A task that has not finished must be cancelled
    /// first (<c>INVALID_PARAMETER</c>).
    /// </summary>
    public Task<VideoTask> DeleteTaskAsync(string taskId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(taskId);
        return Transport.SendAsync<VideoTask>(HttpMethod.Delete, $"api/v1/video/task/{Uri.EscapeDataString(taskId)}", null, cancellationToken, taskId);
    }

    /// <summary>The key's credits.</summary>
    public Task<Balance> GetBalanceAsync(CancellationToken cancellationToken = default) =>
        Transport.SendAsync<Balance>(HttpMethod.Get, "api/v1/video/balance", null, cancellationToken);

    /// <summary>The key's usage in <c>[from, to)</c> (default the last 30 days): tasks by how they ended, video seconds and credits captured.</summary>
    /// <param name="from">The start of the period; default 30 days before <paramref name="to"/>.</param>
    /// <param name="to">The end of the period; default now.</param>
    /// <param name="byDay">One row per UTC day.</param>
    /// <param name="byModel">One row per model.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public Task<UsageReport> GetUsageAsync(DateTimeOffset? from = null, DateTimeOffset? to = null, bool byDay = false, bool byModel = false,
        CancellationToken cancellationToken = default)
    {
        var groupBy = string.Join(',', new[] { byDay ? "day" : null, byModel ? "model" : null }.OfType<string>());
        return Transport.SendAsync<UsageReport>(HttpMethod.Get, "api/v1/video/usage" + Query(("from", Time(from)), ("to", Time(to)), ("group_by", groupBy)), null,
            cancellationToken);
    }

    /// <summary>The key's recent API requests, newest first (default the last day), fetching pages as the enumeration goes.</summary>
    /// <param name="from">The earliest; default a day before <paramref name="to"/>.</param>
    /// <param name="to">The latest (exclusive); default now.</param>
    /// <param name="status">Only these: an HTTP status (<c>429</c>), a class (<c>4xx</c>) or <c>error</c> (400 and above).</param>
    /// <param name="pageSize">Requests fetched per call, 1-500.</param>
    /// <param name="cancellationToken">Stops the enumeration.</param>
    public async IAsyncEnumerable<ApiRequestSummary> ListRequestsAsync(DateTimeOffset? from = null, DateTimeOffset? to = null, string? status = null,
        int pageSize = 100, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        if (pageSize is < 1 or > 500) throw SeedanceException.InvalidParameter("page_size must be 1-500");
        // Without an end, the first page's moment is every page's: requests made meanwhile do not shift the pages.
        var end = Time(to ?? DateTimeOffset.UtcNow);
        string? cursor = null;
        do
        {
            var page = await Transport.SendAsync<RequestPage>(HttpMethod.Get, "api/v1/video/requests" + Query(("from", Time(from)), ("to", end), ("status", status),
                ("page_size", pageSize.ToString(CultureInfo.InvariantCulture)), ("cursor", cursor)), null, cancellationToken);
            foreach (var request in page.Data) yield return request;
            cursor = page.NextCursor;
        } while (cursor is not null);
    }

    /// <summary>Releases the connections of a client built without an <see cref="HttpClient"/> of the caller's.</summary>
    public void Dispose() => _owned?.Dispose();

    internal static HttpClient OwnedHttpClient(SeedanceClientOptions options)
    {
        options.Validate();
        var handler = new ResilienceHandler(Retries.Pipeline(options))
        {
            InnerHandler = new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) },
        };
        return new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
    }

    private static string? Time(DateTimeOffset? time) => time?.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);

    private static string Query(params (string Name, string? Value)[] parameters)
    {
        var set = parameters.Where(p => !string.IsNullOrEmpty(p.Value)).Select(p => p.Name + "=" + Uri.EscapeDataString(p.Value!)).ToList();
        return set.Count == 0 ? "" : "?" + string.Join('&', set);
    }

    private sealed record RequestPage(IReadOnlyList<ApiRequestSummary> Data, string? NextCursor);

    private sealed record PresignedUpload(string PresignedUrl, string FilePath, int ExpiresIn);

    private sealed record CreatedTask(string TaskId, VideoTaskStatus Status, decimal CreditCost);
}
