using System.Net;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Logging;

namespace Seedance.Server.Tests.Ark;

/// <summary>
/// A local stand-in for the Volcengine Ark / BytePlus ModelArk video-generation API, faithful to
/// <c>shared/upstream/ark-video-api.md</c>: Bearer auth, create / get / list / delete of
/// <c>contents/generations/tasks</c>, strict create-body checks, Ark's error body and <c>X-Request-Id</c>,
/// tasks that go queued -> running -> succeeded on a timeline (<see cref="Timing"/>) and render a real MP4
/// (and a last-frame PNG) served from presigned result links, and callbacks with retries.
/// <para>
/// Faults are switched on through <see cref="Faults"/> at any time. A prompt can also carry per-task
/// directives: <c>[ark:refuse=CODE]</c> (the create is refused 400 with CODE), <c>[ark:fail=CODE]</c>
/// (the task ends <c>failed</c> with CODE), <c>[ark:stuck]</c> (it stays <c>running</c>) and
/// <c>[ark:expire]</c> (it ends <c>expired</c>).
/// </para>
/// </summary>
public sealed partial class ArkEmulator : IAsyncDisposable
{
    private const string TasksPath = "/api/v3/contents/generations/tasks";

    private readonly object _gate = new();
    private readonly Dictionary<string, EmulatedTask> _tasks = [];
    private readonly Dictionary<string, ArkResult> _results = [];
    private readonly List<string> _createBodies = [];
    private readonly List<ArkCallbackAttempt> _callbacks = [];
    private readonly List<ArkRequestRecord> _requests = [];
    private readonly List<Task> _background = [];
    private readonly CancellationTokenSource _stopping = new();
    private readonly HttpClient _callbackHttp = new() { Timeout = Timeout.InfiniteTimeSpan };
    private readonly string _contentRoot = Path.Combine(Path.GetTempPath(), "ark-emulator", Guid.NewGuid().ToString("N"));
    private WebApplication _app = null!;
    private Task _timeline = Task.CompletedTask;
    private int _createCalls, _getCalls, _listCalls, _deleteCalls;
    private long _sequence;

    private string _apiKey;

    private ArkEmulator(string apiKey) => _apiKey = apiKey;

    /// <summary>The one key accepted; set it to rotate the account's key (the previous one is refused from then on).</summary>
    public string ApiKey { get => Volatile.Read(ref _apiKey); set => Volatile.Write(ref _apiKey, value); }
    /// <summary><c>http://127.0.0.1:PORT</c>: where result links point.</summary>
    public string Origin { get; private set; } = "";
    /// <summary><c>http://127.0.0.1:PORT/api/v3</c>: clients call <c>{BaseUrl}/contents/generations/tasks</c>.</summary>
    public string BaseUrl => Origin + "/api/v3";
    public ArkFaults Faults { get; } = new();
    public ArkTiming Timing { get; } = new();
    /// <summary>List items carry their error as <c>failure_reason</c> (the Go SDK's name) instead of <c>error</c>.</summary>
    public bool ListErrorAsFailureReason { get; set; }

    public int CreateCalls => Volatile.Read(ref _createCalls);
    public int GetCalls => Volatile.Read(ref _getCalls);
    public int ListCalls => Volatile.Read(ref _listCalls);
    public int DeleteCalls => Volatile.Read(ref _deleteCalls);

    /// <summary>The tasks held now, oldest first (deleted ones are gone).</summary>
    public IReadOnlyList<EmulatedTask> Tasks { get { lock (_gate) return _tasks.Values.OrderBy(t => t.Sequence).ToList(); } }
    /// <summary>Every create body received, raw, in order, refused ones included.</summary>
    public IReadOnlyList<string> CreateBodies { get { lock (_gate) return _createBodies.ToList(); } }
    /// <summary>The last create body received, parsed (null if none, or if it was not a JSON object).</summary>
    public JsonObject? LastCreateBody
    {
        get
        {
            try { return CreateBodies.LastOrDefault() is { } raw ? JsonNode.Parse(raw) as JsonObject : null; }
            catch (System.Text.Json.JsonException) { return null; }
        }
    }
    /// <summary>Every callback attempt, in order.</summary>
    public IReadOnlyList<ArkCallbackAttempt> Callbacks { get { lock (_gate) return _callbacks.ToList(); } }
    /// <summary>Every request answered, API and result downloads.</summary>
    public IReadOnlyList<ArkRequestRecord> Requests { get { lock (_gate) return _requests.ToList(); } }

    public static async Task<ArkEmulator> StartAsync(string apiKey = "ark-test-key")
    {
        var emulator = new ArkEmulator(apiKey);
        await emulator.StartHostAsync();
        return emulator;
    }

    /// <summary>Renders every kind of result media now, so that no task waits for ffmpeg later (renders are shared by all tasks).</summary>
    public static Task PrerenderMediaAsync(CancellationToken cancellationToken = default) =>
        Task.WhenAll(new[] { false, true }.SelectMany(audio => new[] { false, true }.Select(lastFrame => ArkMedia.RenderAsync(audio, lastFrame, cancellationToken))));

    public EmulatedTask? Find(string id) { lock (_gate) return _tasks.GetValueOrDefault(id); }

    /// <summary>The task as GET would answer it now.</summary>
    public JsonObject? TaskJson(string id) { lock (_gate) return _tasks.GetValueOrDefault(id)?.ToJson(); }

    /// <summary>Waits until the task has the status; throws <see cref="TimeoutException"/> after <paramref name="timeout"/> (30 s).</summary>
    public async Task<EmulatedTask> WaitForStatusAsync(string id, string status, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (true)
        {
            var task = Find(id);
            if (task?.Status == status) return task;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"Task {id} is {task?.Status ?? "gone"}, not {status}.");
            await Task.Delay(20);
        }
    }

    /// <summary>
    /// Forces a task into <paramref name="status"/> (callbacks fire as for a natural change) and pins it
    /// there: the timeline leaves it alone until <see cref="Release"/>. <c>succeeded</c> renders the media first.
    /// </summary>
    public async Task SetStatusAsync(string id, string status, string? errorCode = null, string? errorMessage = null)
    {
        ArkMedia? media = null;
        if (status == "succeeded")
        {
            var task = Find(id) ?? throw new KeyNotFoundException(id);
            media = await ArkMedia.RenderAsync(task.GenerateAudio, task.ReturnLastFrame, _stopping.Token);
        }
        if (status is not ("queued" or "running" or "succeeded" or "failed" or "expired" or "cancelled"))
            throw new ArgumentException($"Not an Ark status: {status}", nameof(status));
        lock (_gate)
        {
            var task = _tasks.GetValueOrDefault(id) ?? throw new KeyNotFoundException(id);
            task.Held = true;
            if (media is not null) Publish(task, media);
            if (task.Status == status) return; // pinned where it already was: no change, so no callback (its timeline may have got there first)
            if (status == "failed") Transition(task, status, errorCode ?? "InternalServiceError", errorMessage ?? "The task failed.");
            else Transition(task, status, errorCode, errorMessage);
        }
    }

    /// <summary>Hands a pinned task back to the timeline, its current status counting from now.</summary>
    public void Release(string id)
    {
        lock (_gate)
        {
            var task = _tasks.GetValueOrDefault(id) ?? throw new KeyNotFoundException(id);
            task.Held = false;
            task.StatusSince = DateTimeOffset.UtcNow;
        }
    }

    /// <summary>Makes the result links of one task (or of all tasks) expire now.</summary>
    public void ExpireResultLinks(string? id = null)
    {
        lock (_gate)
            foreach (var (taskId, result) in _results)
                if (id is null || taskId == id) result.Revoked = true;
    }

    /// <summary>Waits until every callback sent so far has been acknowledged or given up.</summary>
    public async Task CallbacksSettledAsync()
    {
        Task[] chains;
        lock (_gate) chains = _tasks.Values.Select(t => t.Callbacks).ToArray();
        await Task.WhenAll(chains);
    }

    public async ValueTask DisposeAsync()
    {
        _stopping.Cancel();
        try { await _timeline; } catch (OperationCanceledException) { }
        Task[] background;
        lock (_gate) background = _background.ToArray();
        try { await Task.WhenAll(background); } catch (Exception) { /* already recorded or cancelled by the stop */ }
        await _app.StopAsync();
        await _app.DisposeAsync();
        _callbackHttp.Dispose();
        _stopping.Dispose();
        try { Directory.Delete(_contentRoot, recursive: true); } catch (IOException) { }
    }

    private async Task StartHostAsync()
    {
        Directory.CreateDirectory(_contentRoot);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ContentRootPath = _contentRoot,
            ApplicationName = typeof(ArkEmulator).Assembly.GetName().Name,
        });
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(o =>
        {
            o.Listen(IPAddress.Loopback, 0);
            o.Limits.MaxRequestBodySize = 64L * 1024 * 1024;
        });
        _app = builder.Build();
        MapEndpoints(_app);
        await _app.StartAsync();
        Origin = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First().TrimEnd('/');
        _timeline = RunTimelineAsync(_stopping.Token);
    }

    private void Track(Task task)
    {
        lock (_gate)
        {
            _background.RemoveAll(t => t.IsCompleted);
            _background.Add(task);
        }
    }

    private static string RandomText(string alphabet, int length) =>
        string.Create(length, alphabet, (span, a) => { for (var i = 0; i < span.Length; i++) span[i] = a[RandomNumberGenerator.GetInt32(a.Length)]; });
}

/// <summary>One attempt to deliver a callback. <see cref="Outcome"/>: acknowledged, rejected, timeout, unreachable or dropped.</summary>
public sealed record ArkCallbackAttempt(string TaskId, string Status, int Attempt, int? HttpStatus, string Outcome, string Body)
{
    public JsonObject Json => JsonNode.Parse(Body)!.AsObject();
}

/// <summary>
/// One request the emulator answered, <see cref="At"/> when it arrived; <see cref="Status"/> is 0 when the
/// connection was dropped without an answer.
/// </summary>
/// <param name="ContentLength">The request's <c>Content-Length</c> header, if it had one.</param>
/// <param name="TransferEncoding">Its <c>Transfer-Encoding</c> header (<c>chunked</c> for a streamed body), or empty.</param>
public sealed record ArkRequestRecord(string Method, string Path, int Status, string RequestId, ArkCall Call, DateTimeOffset At,
    long? ContentLength = null, string TransferEncoding = "");

/// <summary>The files of a succeeded task behind its presigned links.</summary>
internal sealed class ArkResult(ArkMedia media, string signature, DateTimeOffset publishedAt)
{
    public ArkMedia Media { get; } = media;
    public string Signature { get; } = signature;
    public DateTimeOffset PublishedAt { get; } = publishedAt;
    public bool Revoked { get; set; }
}
