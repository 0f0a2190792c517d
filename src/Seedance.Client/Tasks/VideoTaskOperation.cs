using System.Diagnostics;
using System.Net;
using System.Net.ServerSentEvents;
using System.Text.Json;
using Seedance.Client.Http;
using Seedance.Client.Internal;

namespace Seedance.Client;

/// <summary>
/// A submitted task, followed until it ends: its latest known state, waiting, cancelling and downloading.
/// Rehydrate one for an existing task with <see cref="RehydrateAsync"/> or <see cref="SeedanceClient.GetTaskOperationAsync"/>.
/// </summary>
public sealed class VideoTaskOperation
{
    /// <summary>The longest wait the server grants one long-poll.</summary>
    private const int LongPollSeconds = 30;
    private readonly SeedanceClient _client;
    private bool _noEventStream;

    internal VideoTaskOperation(SeedanceClient client, string taskId, VideoTaskStatus status, decimal creditCost)
    {
        _client = client;
        TaskId = taskId;
        Status = status;
        CreditCost = creditCost;
    }

    internal VideoTaskOperation(SeedanceClient client, VideoTask task) : this(client, task.TaskId, task.Status, task.CreditCost) => Value = task;

    /// <summary>The operation of an existing task, read from the server.</summary>
    public static Task<VideoTaskOperation> RehydrateAsync(SeedanceClient client, string taskId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        return client.GetTaskOperationAsync(taskId, cancellationToken);
    }

    /// <summary>The task id.</summary>
    public string TaskId { get; }

    /// <summary>The latest known status.</summary>
    public VideoTaskStatus Status { get; private set; }

    /// <summary>The task's cost in credits (charged only when it completes).</summary>
    public decimal CreditCost { get; private set; }

    /// <summary>The latest task read from the server; null until the first read after submission.</summary>
    public VideoTask? Value { get; private set; }

    /// <summary>True once the task has ended (completed, failed, cancelled or expired).</summary>
    public bool HasCompleted => VideoTask.IsFinalStatus(Status);

    /// <summary>Reads the task from the server now.</summary>
    public async Task<VideoTask> UpdateStatusAsync(CancellationToken cancellationToken = default) =>
        Update(await _client.GetTaskAsync(TaskId, cancellationToken), null);

    /// <summary>
    /// Waits until the task ends and returns it (completed, failed, cancelled or expired: see
    /// <see cref="VideoTask.EnsureCompleted"/>). Follows the server's event stream, reporting each status
    /// change; where the server has none, it long-polls, and against a server without long-poll it reads the
    /// task every <see cref="SeedanceClientOptions.PollInterval"/>.
    /// </summary>
    public async Task<VideoTask> WaitForCompletionAsync(IProgress<VideoTask>? progress = null, CancellationToken cancellationToken = default)
    {
        if (Value is { IsFinal: true } done) return done;
        var options = _client.Options;
        while (true)
        {
            if (options.UseLiveStatus && !_noEventStream && await FollowEventsAsync(progress, cancellationToken) is { } ended) return ended;

            var started = Stopwatch.GetTimestamp();
            var task = Update(await _client.GetTaskAsync(TaskId, options.UseLiveStatus ? LongPollSeconds : null, cancellationToken), progress);
            if (task.IsFinal) return task;
            // A server that answers a long-poll at once has none: keep to the document's polling interval.
            var rest = options.PollInterval - Stopwatch.GetElapsedTime(started);
            if (rest > TimeSpan.Zero) await Task.Delay(rest, cancellationToken);
        }
    }

    /// <summary>Cancels the task; <c>TASK_CANCEL_NOT_ALLOWED</c> when it has ended or the generator refuses.</summary>
    public async Task<VideoTask> CancelAsync(CancellationToken cancellationToken = default)
    {
        var cancelled = await _client.CancelTaskAsync(TaskId, cancellationToken);
        Status = cancelled.Status;
        return await UpdateStatusAsync(cancellationToken);
    }

    /// <summary>Downloads the video of a completed task into <paramref name="destination"/>.</summary>
    public async Task DownloadVideoAsync(Stream destination, IProgress<TransferProgress>? progress = null, CancellationToken cancellationToken = default) =>
        await DownloadAsync(await LinkAsync(t => t.VideoUrl, "a video", cancellationToken), destination, progress, cancellationToken);

    /// <summary>Downloads the video of a completed task to a file (written whole or not at all).</summary>
    public async Task DownloadVideoAsync(string path, IProgress<TransferProgress>? progress = null, CancellationToken cancellationToken = default) =>
        await DownloadToFileAsync(await LinkAsync(t => t.VideoUrl, "a video", cancellationToken), path, progress, cancellationToken);

    /// <summary>Downloads the last frame (PNG) of a completed task that asked for it.</summary>
    public async Task DownloadLastFrameAsync(Stream destination, IProgress<TransferProgress>? progress = null, CancellationToken cancellationToken = default) =>
        await DownloadAsync(await LinkAsync(t => t.LastFrameUrl, "a last frame", cancellationToken), destination, progress, cancellationToken);

    /// <summary>Downloads the last frame (PNG) of a completed task to a file (written whole or not at all).</summary>
    public async Task DownloadLastFrameAsync(string path, IProgress<TransferProgress>? progress = null, CancellationToken cancellationToken = default) =>
        await DownloadToFileAsync(await LinkAsync(t => t.LastFrameUrl, "a last frame", cancellationToken), path, progress, cancellationToken);

    private VideoTask Update(VideoTask task, IProgress<VideoTask>? progress)
    {
        Value = task;
        Status = task.Status;
        CreditCost = task.CreditCost;
        progress?.Report(task);
        return task;
    }

    /// <summary>Follows <c>/events</c>; the ended task, or null when the stream broke off or the server has none.</summary>
    private async Task<VideoTask?> FollowEventsAsync(IProgress<VideoTask>? progress, CancellationToken ct)
    {
        var transport = _client.Transport;
        using var request = transport.Request(HttpMethod.Get, $"api/v1/video/task/{Uri.EscapeDataString(TaskId)}/events");
        request.Headers.Accept.ParseAdd("text/event-stream");
        try
        {
            using var response = await transport.SendRawAsync(request, HttpCompletionOption.ResponseHeadersRead, ct, ct, TaskId);
            if (response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.MethodNotAllowed or HttpStatusCode.NotImplemented)
            {
                var error = await ApiTransport.ErrorAsync(response, TaskId, SeedanceErrorCodes.NotFound, ct);
                if (error.Code == SeedanceErrorCodes.TaskNotFound) throw error;
                _noEventStream = true; // an older server or a proxy without it
                return null;
            }
            if (!ApiTransport.IsSuccess(response)) throw await ApiTransport.ErrorAsync(response, TaskId, SeedanceErrorCodes.UnexpectedResponse, ct);
            if (response.Content.Headers.ContentType?.MediaType != "text/event-stream")
            {
                _noEventStream = true;
                return null;
            }

            await using var stream = await response.Content.ReadAsStreamAsync(ct);
            await foreach (var item in SseParser.Create(stream).EnumerateAsync(ct))
            {
                if (item.EventType is not ("status" or "progress")) continue; // progress: the same task object, further on
                var task = Update(JsonSerializer.Deserialize<VideoTask>(item.Data, Wire.Options)!, progress);
                if (task.IsFinal) return task;
            }
        }
        catch (Exception e) when (e is IOException or JsonException or HttpRequestException
            || (e is SeedanceException { Code: SeedanceErrorCodes.ConnectionFailed } && !ct.IsCancellationRequested))
        {
            // The stream broke off: a long-poll follows, then the stream is tried again.
        }
        return null;
    }

    private async Task<Uri> LinkAsync(Func<VideoTask, Uri?> link, string what, CancellationToken ct)
    {
        var task = Value is { } known && link(known) is not null ? known : await UpdateStatusAsync(ct);
        return link(task) ?? throw new InvalidOperationException(
            $"Task {TaskId} is {WireName.Of(task.Status)} and has no {what.Split(' ')[^1]} to download" +
            (task.Status != VideoTaskStatus.Completed ? "" : task.VideoUrl is null ? ": its result files were deleted" : " (ask for it with ReturnLastFrame)"));
    }

    private async Task DownloadAsync(Uri url, Stream destination, IProgress<TransferProgress>? progress, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(destination);
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        using var response = await _client.Transport.SendRawAsync(request, HttpCompletionOption.ResponseHeadersRead, ct, ct, TaskId);
        if (!ApiTransport.IsSuccess(response)) throw await ApiTransport.ErrorAsync(response, TaskId, SeedanceErrorCodes.VideoDownloadFailed, ct);
        try
        {
            await Transfer.CopyAsync(response, destination, progress, ct);
        }
        catch (Exception e) when (e is IOException or HttpRequestException && !ct.IsCancellationRequested)
        {
            throw new SeedanceException(SeedanceErrorCodes.ConnectionFailed, $"The download broke off: {e.Message}", null, TaskId, e);
        }
    }

    private async Task DownloadToFileAsync(Uri url, string path, IProgress<TransferProgress>? progress, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var partial = path + ".part";
        try
        {
            await using (var file = new FileStream(partial, FileMode.Create, FileAccess.Write, FileShare.None, 1, FileOptions.Asynchronous))
                await DownloadAsync(url, file, progress, ct);
            File.Move(partial, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(partial)) File.Delete(partial);
        }
    }
}
