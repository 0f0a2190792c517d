using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Seedance.Server.Infrastructure;
using Seedance.Server.Storage;

namespace Seedance.Server.Providers.Sandbox;

/// <summary>
/// The default provider: a local stand-in for the upstream that renders real videos. Like a real
/// upstream it keeps its own job records (under <c>{DataDir}/sandbox</c>), so its jobs survive a
/// restart of the server; it walks each job through queued and running, and, like Ark, it cancels
/// only a job that is still queued.
/// </summary>
public sealed class SandboxProvider : IVideoProvider, IDisposable
{
    public const string ProviderName = "sandbox";
    private const string JobFile = "job.json", DoneFile = "done.json", CancelledFile = "cancelled";
    private const string VideoName = "video.mp4", LastFrameName = "last_frame.png";

    private readonly string _root;
    private readonly SandboxOptions _options;
    private readonly SandboxRenderer _renderer;
    private readonly FileStore _store;
    private readonly TimeProvider _clock;
    private readonly ILogger<SandboxProvider> _logger;
    private readonly SemaphoreSlim _renders;
    private readonly ConcurrentDictionary<string, Task> _running = new();
    private readonly CancellationTokenSource _stopping = new();

    public SandboxProvider(IOptions<SeedanceOptions> options, SandboxRenderer renderer, FileStore store, TimeProvider clock, ILogger<SandboxProvider> logger)
    {
        _root = Path.Combine(options.Value.DataPath, "sandbox");
        _options = options.Value.Sandbox;
        _renderer = renderer;
        _store = store;
        _clock = clock;
        _logger = logger;
        _renders = new SemaphoreSlim(_options.MaxParallelRenders);
    }

    public string Name => ProviderName;

    private sealed record SandboxJob(string Id, ProviderRequest Request, DateTimeOffset SubmittedAt);
    private sealed record Outcome(bool Succeeded, long Seed, int Duration, bool LastFrame, string? ErrorCode, string? ErrorMessage);

    public async Task<string> SubmitAsync(ProviderRequest request, CancellationToken ct)
    {
        if (SandboxDirectives.Parse(Prompt(request)).Busy) throw ProviderException.Transient("Sandbox busy, as asked by [sandbox:busy]");
        var id = "sbx-" + Guid.CreateVersion7().ToString("N");
        var dir = JobDir(id);
        Directory.CreateDirectory(dir);
        var job = new SandboxJob(id, request, _clock.GetUtcNow());
        await WriteAtomic(Path.Combine(dir, JobFile), JsonSerializer.Serialize(job, Json.Options), ct);
        Schedule(job);
        return id;
    }

    public async Task<ProviderTaskState> GetAsync(string providerTaskId, CancellationToken ct)
    {
        var dir = JobDir(providerTaskId);
        if (File.Exists(Path.Combine(dir, CancelledFile))) return new ProviderTaskState(ProviderState.Cancelled);
        var done = Path.Combine(dir, DoneFile);
        if (File.Exists(done))
        {
            var outcome = JsonSerializer.Deserialize<Outcome>(await File.ReadAllTextAsync(done, ct), Json.Options)!;
            return outcome.Succeeded
                ? new ProviderTaskState(ProviderState.Succeeded, $"sandbox://{providerTaskId}/{VideoName}",
                    outcome.LastFrame ? $"sandbox://{providerTaskId}/{LastFrameName}" : null, outcome.Seed, outcome.Duration)
                : new ProviderTaskState(ProviderState.Failed, ErrorCode: outcome.ErrorCode, ErrorMessage: outcome.ErrorMessage);
        }
        var job = await ReadJob(providerTaskId, ct) ?? throw ProviderException.Transient($"Sandbox job {providerTaskId} is unknown");
        if (!_running.ContainsKey(job.Id)) Schedule(job); // after a restart: pick the job up again
        return _clock.GetUtcNow() < StartsAt(job) ? new ProviderTaskState(ProviderState.Queued) : new ProviderTaskState(ProviderState.Running);
    }

    public Task<bool> CancelAsync(string providerTaskId, CancellationToken ct)
    {
        var dir = JobDir(providerTaskId);
        lock (_running)
        {
            if (!Directory.Exists(dir) || File.Exists(Path.Combine(dir, DoneFile))) return Task.FromResult(false);
            var job = JsonSerializer.Deserialize<SandboxJob>(File.ReadAllText(Path.Combine(dir, JobFile)), Json.Options)!;
            if (_clock.GetUtcNow() >= StartsAt(job)) return Task.FromResult(false); // running: not cancellable, as on Ark
            File.WriteAllText(Path.Combine(dir, CancelledFile), "");
            return Task.FromResult(true);
        }
    }

    public async Task DownloadAsync(string url, Stream destination, CancellationToken ct)
    {
        var uri = new Uri(url);
        if (uri.Scheme != "sandbox" || uri.AbsolutePath.TrimStart('/') is not (VideoName or LastFrameName))
            throw new ArgumentException("Not a sandbox result link", nameof(url));
        await using var source = File.OpenRead(Path.Combine(JobDir(uri.Host), uri.AbsolutePath.TrimStart('/')));
        await source.CopyToAsync(destination, ct);
    }

    /// <summary>
    /// Deletes up to <paramref name="limit"/> finished or cancelled jobs submitted before <paramref name="cutoff"/>, with
    /// their files (the results were copied into the store when the task ended); returns how many. Unfinished jobs stay.
    /// </summary>
    public async Task<int> PruneFinishedAsync(DateTimeOffset cutoff, int limit, CancellationToken ct)
    {
        if (!Directory.Exists(_root)) return 0;
        var pruned = 0;
        foreach (var dir in Directory.EnumerateDirectories(_root, "sbx-*"))
        {
            if (pruned == limit) break;
            var id = Path.GetFileName(dir);
            if (!File.Exists(Path.Combine(dir, DoneFile)) && !File.Exists(Path.Combine(dir, CancelledFile))) continue;
            SandboxJob? job;
            try { job = await ReadJob(id, ct); }
            catch (Exception e) when (e is ProviderException or JsonException or IOException) { continue; } // not a job of ours, or unreadable: left alone
            if (job is null || job.SubmittedAt >= cutoff) continue;
            lock (_running)
            {
                if (_running.TryGetValue(id, out var run) && !run.IsCompleted) continue;
                _running.TryRemove(id, out _);
                Directory.Delete(dir, recursive: true);
            }
            pruned++;
        }
        return pruned;
    }

    private static string Prompt(ProviderRequest request) => string.Join(' ', request.Content.Where(c => c.Text is not null).Select(c => c.Text));

    private DateTimeOffset StartsAt(SandboxJob job) => job.SubmittedAt.AddSeconds(_options.QueueSeconds);

    private string JobDir(string id)
    {
        if (!id.StartsWith("sbx-", StringComparison.Ordinal) || id.Length != 36 || !id[4..].All(char.IsAsciiHexDigitLower))
            throw ProviderException.Transient($"'{id}' is not a sandbox job id");
        return Path.Combine(_root, id);
    }

    private async Task<SandboxJob?> ReadJob(string id, CancellationToken ct)
    {
        var path = Path.Combine(JobDir(id), JobFile);
        return File.Exists(path) ? JsonSerializer.Deserialize<SandboxJob>(await File.ReadAllTextAsync(path, ct), Json.Options) : null;
    }

    private void Schedule(SandboxJob job) =>
        _running.GetOrAdd(job.Id, _ => Task.Run(() => RunAsync(job, _stopping.Token)));

    private async Task RunAsync(SandboxJob job, CancellationToken ct)
    {
        try
        {
            var wait = StartsAt(job) - _clock.GetUtcNow();
            if (wait > TimeSpan.Zero) await Task.Delay(wait, _clock, ct);
            var dir = JobDir(job.Id);
            lock (_running)
                if (File.Exists(Path.Combine(dir, CancelledFile))) return;

            var request = job.Request;
            var prompt = Prompt(request);
            var directives = SandboxDirectives.Parse(prompt);
            var text = SandboxDirectives.Strip(prompt);
            var seed = request.Seed is >= 0 ? request.Seed.Value : SandboxRenderer.SeedFor(text);

            Outcome outcome;
            if (directives.Stall)
            {
                await Task.Delay(Timeout.Infinite, ct);
                return;
            }
            if (directives.FailCode is { } code)
                outcome = ApiError.DocumentedCodes.Contains(code)
                    ? new Outcome(false, seed, request.Duration, false, code, $"Sandbox failure requested by [sandbox:fail={code}]")
                    : new Outcome(false, seed, request.Duration, false, "INTERNAL_ERROR", $"[sandbox:fail={code}] names no error code of the API document");
            else if (directives.LoseResult)
                outcome = new Outcome(true, seed, request.Duration, request.ReturnLastFrame, null, null);
            else
            {
                var images = request.Content.Where(c => c.Type == "image_url" && c.StorePath is not null).ToList();
                var image = (images.FirstOrDefault(c => c.Role == "first_frame") ?? images.FirstOrDefault(c => c.Role != "last_frame"))?.StorePath;
                var (width, height) = SandboxRenderer.Size(request.Resolution, request.Ratio);
                var renderJob = new SandboxRenderer.Job(dir, text, seed, width, height, request.Duration, request.GenerateAudio,
                    image is null ? null : await _store.LocalFileAsync(image, Path.Combine(dir, "input"), ct), request.ReturnLastFrame);
                await _renders.WaitAsync(ct);
                try
                {
                    await _renderer.RenderAsync(renderJob, Path.Combine(dir, VideoName),
                        request.ReturnLastFrame ? Path.Combine(dir, LastFrameName) : null, ct);
                }
                finally { _renders.Release(); }
                outcome = new Outcome(true, seed, request.Duration, request.ReturnLastFrame, null, null);
            }

            var finishAt = StartsAt(job).AddSeconds(directives.DelaySeconds) - _clock.GetUtcNow();
            if (finishAt > TimeSpan.Zero) await Task.Delay(finishAt, _clock, ct);
            await WriteAtomic(Path.Combine(dir, DoneFile), JsonSerializer.Serialize(outcome, Json.Options), ct);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested) { }
        catch (Exception e)
        {
            _logger.LogError(e, "Sandbox job {SandboxJob} failed to render", job.Id);
            var outcome = new Outcome(false, 0, job.Request.Duration, false, "INTERNAL_ERROR", "Sandbox rendering failed");
            await WriteAtomic(Path.Combine(JobDir(job.Id), DoneFile), JsonSerializer.Serialize(outcome, Json.Options), CancellationToken.None);
        }
    }

    private static async Task WriteAtomic(string path, string content, CancellationToken ct)
    {
        var temp = path + ".tmp";
        await File.WriteAllTextAsync(temp, content, ct);
        File.Move(temp, path, overwrite: true);
    }

    /// <summary>Stops the renders in flight; their jobs are picked up again on the next start.</summary>
    public void Dispose()
    {
        if (!_stopping.IsCancellationRequested) _stopping.Cancel();
    }
}
