using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Seedance.Bench.Crash;

/// <summary>One answer the server gave (or did not: <see cref="Status"/> 0, the connection failed), as the client logged it.</summary>
public sealed record LoggedAnswer(DateTimeOffset At, string Node, string Operation, long KeyId, string? Reference, int Status, string Body);

/// <summary>A key of the run: its secret, its starting credits and the top-ups sent to it.</summary>
public sealed class CrashKey(long keyId, string apiKey, decimal initialCredits)
{
    public long KeyId { get; } = keyId;
    public string ApiKey { get; } = apiKey;
    public decimal InitialCredits { get; } = initialCredits;
    private readonly Lock _gate = new();
    private decimal _acknowledged, _unanswered, _outstanding;

    /// <summary>Top-ups answered 200: they must be in the total.</summary>
    public decimal AcknowledgedTopUps { get { lock (_gate) return _acknowledged; } }

    /// <summary>
    /// The most the top-ups can have added by now: those answered 200, those that got no answer (they may or may not be in the
    /// total) and those sent and not answered yet (a check reading the database meanwhile may see them).
    /// </summary>
    public decimal PossibleTopUps { get { lock (_gate) return _acknowledged + _unanswered + _outstanding; } }

    public void TopUpSent(decimal amount) { lock (_gate) _outstanding += amount; }

    /// <summary>A top-up's answer: 200, another status (refused: nothing added), or 0 (none came).</summary>
    public void TopUpAnswered(decimal amount, int status)
    {
        lock (_gate)
        {
            _outstanding -= amount;
            if (status == 200) _acknowledged += amount;
            else if (status == 0) _unanswered += amount;
        }
    }
}

/// <summary>A submission: its unique tag (in the prompt), its exact body, and the first answer that acknowledged it.</summary>
public sealed class Submission(string tag, CrashKey key, string? idempotencyKey, byte[] body)
{
    public string Tag { get; } = tag;
    public CrashKey Key { get; } = key;
    public string? IdempotencyKey { get; } = idempotencyKey;
    public byte[] Body { get; } = body;
    public string? TaskId { get; set; }
    public long CostInHundredths { get; set; }
    /// <summary>The <c>result</c> of the first 200 answer, as JSON; null when it was acknowledged only on a retry after a lost answer.</summary>
    public string? FirstResult { get; set; }
    /// <summary>Replayed with its Idempotency-Key after a crash that followed its acknowledgement.</summary>
    public bool Replayed { get; set; }
}

/// <summary>
/// The mixed load of the crash run: clients that submit tasks (half of them with an Idempotency-Key, every one with a
/// callback to the receiver on loopback), cancel them and top keys up through the admin API, each to a running node
/// picked at random. Every answer goes to the client log; what was acknowledged is kept for the checks.
/// </summary>
/// <param name="pauseMs">The pause of a client between two requests, at least and at most, in milliseconds.</param>
public sealed class CrashLoad(IReadOnlyList<CrashNode> nodes, IReadOnlyList<CrashKey> keys, string callbackUrl, int seed, (int Min, int Max) pauseMs, StreamWriter log)
    : IAsyncDisposable
{
    /// <summary>What the sandbox does with a submission: completes it, fails it, or keeps it processing a while first (never forever: a running task cannot be cancelled).</summary>
    private static readonly string[] Kinds = ["", "", " [sandbox:fail=CONTENT_MODERATION_FAILED]", " [sandbox:delay=2]", " [sandbox:delay=4]"];
    private readonly object _gate = new();
    private readonly HttpClient _http = new(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromSeconds(5) }) { Timeout = TimeSpan.FromSeconds(60) };
    private readonly List<Submission> _acknowledged = [];
    private readonly List<Submission> _idempotentWithoutAnswer = [];
    private readonly HashSet<string> _cancelsAcknowledged = [];
    private readonly Random _random = new(seed);
    private int _answers, _unanswered, _unansweredSubmissions, _replays;
    private readonly List<string> _replaysDiffering = [];

    public int Answers { get { lock (_gate) return _answers; } }
    public int Unanswered { get { lock (_gate) return _unanswered; } }
    /// <summary>Submissions without Idempotency-Key whose answer never came: each may or may not have made a task.</summary>
    public int UnansweredSubmissions { get { lock (_gate) return _unansweredSubmissions; } }
    public int Replays { get { lock (_gate) return _replays; } }
    public List<string> ReplaysDiffering { get { lock (_gate) return [.. _replaysDiffering]; } }

    /// <summary>The submissions acknowledged with 200 so far, in order.</summary>
    public List<Submission> Acknowledged() { lock (_gate) return [.. _acknowledged]; }

    /// <summary>The tasks whose cancel was acknowledged with 200 so far.</summary>
    public HashSet<string> CancelsAcknowledged() { lock (_gate) return [.. _cancelsAcknowledged]; }

    /// <summary>Runs <paramref name="clients"/> clients until <paramref name="ct"/> is cancelled.</summary>
    public Task RunAsync(int clients, CancellationToken ct) => Task.WhenAll(Enumerable.Range(0, clients).Select(_ => Task.Run(async () =>
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await OneActionAsync();
                await Task.Delay(Next(pauseMs.Min, pauseMs.Max), ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested) { }
        }
    })));

    private int Next(int min, int max) { lock (_random) return _random.Next(min, max); }

    private async Task OneActionAsync()
    {
        var node = Running();
        if (node is null) return; // between a kill and the restart of the only node
        var key = keys[Next(0, keys.Count)];
        var roll = Next(0, 100);
        if (roll < 65) await SubmitAsync(node, NewSubmission(key, idempotent: roll % 2 == 0));
        else if (roll < 90) await CancelSomeTaskAsync(node, key);
        else await TopUpAsync(node, key);
    }

    private CrashNode? Running()
    {
        var running = nodes.Where(n => n.Running).ToList();
        return running.Count == 0 ? null : running[Next(0, running.Count)];
    }

    private Submission NewSubmission(CrashKey key, bool idempotent)
    {
        var tag = "ct" + Guid.NewGuid().ToString("N")[..16];
        var body = new JsonObject
        {
            ["content"] = new JsonArray(new JsonObject { ["type"] = "text", ["text"] = $"A paper boat on a pond, take {tag}{Kinds[Next(0, Kinds.Length)]}" }),
            ["resolution"] = "480p", ["duration"] = 4, ["callback_url"] = callbackUrl,
        };
        return new Submission(tag, key, idempotent ? "crash-" + tag : null, Encoding.UTF8.GetBytes(body.ToJsonString()));
    }

    private async Task SubmitAsync(CrashNode node, Submission submission)
    {
        var (status, body) = await SendSubmissionAsync(node, submission, "submit");
        lock (_gate)
        {
            if (status == 200)
            {
                var result = JsonNode.Parse(body)!["result"]!;
                submission.TaskId = result["task_id"]!.GetValue<string>();
                submission.CostInHundredths = (long)Math.Round(result["credit_cost"]!.GetValue<decimal>() * 100);
                submission.FirstResult = result.ToJsonString();
                _acknowledged.Add(submission);
            }
            else if (status == 0 && submission.IdempotencyKey is not null) _idempotentWithoutAnswer.Add(submission);
            else if (status == 0) _unansweredSubmissions++;
        }
    }

    /// <summary>Sends again, with the same Idempotency-Key and body, each idempotent submission whose answer was lost; until each has one.</summary>
    public async Task RetryUnansweredAsync(CancellationToken ct)
    {
        while (true)
        {
            List<Submission> open;
            lock (_gate) { open = [.. _idempotentWithoutAnswer]; _idempotentWithoutAnswer.Clear(); }
            if (open.Count == 0) return;
            foreach (var submission in open)
            {
                var node = Running() ?? throw new InvalidOperationException("No node running");
                var (status, body) = await SendSubmissionAsync(node, submission, "submit again");
                lock (_gate)
                {
                    if (status == 200)
                    {
                        var result = JsonNode.Parse(body)!["result"]!;
                        submission.TaskId = result["task_id"]!.GetValue<string>();
                        submission.CostInHundredths = (long)Math.Round(result["credit_cost"]!.GetValue<decimal>() * 100);
                        _acknowledged.Add(submission);
                    }
                    else if (status == 0) _idempotentWithoutAnswer.Add(submission);
                }
            }
            await Task.Delay(200, ct);
        }
    }

    /// <summary>
    /// Sends again each idempotent submission acknowledged before the last crash and not replayed yet: the answer must be
    /// the first one, word for word.
    /// </summary>
    public async Task ReplayAfterCrashAsync(IReadOnlyCollection<Submission> acknowledgedBeforeCrash)
    {
        foreach (var submission in acknowledgedBeforeCrash.Where(s => s is { IdempotencyKey: not null, FirstResult: not null, Replayed: false }))
        {
            var node = Running();
            if (node is null) return;
            var (status, body) = await SendSubmissionAsync(node, submission, "replay");
            if (status == 0) continue; // the node went away meanwhile (another node's kill does not stop this one): replayed after the next
            var result = status == 200 ? JsonNode.Parse(body)!["result"]!.ToJsonString() : null;
            lock (_gate)
            {
                submission.Replayed = true;
                _replays++;
                if (result != submission.FirstResult)
                    _replaysDiffering.Add($"Idempotency-Key {submission.IdempotencyKey}: first {submission.FirstResult}, after the crash {status} {body}");
            }
        }
    }

    private async Task<(int Status, string Body)> SendSubmissionAsync(CrashNode node, Submission submission, string operation)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, node.Server.BaseUrl + "/api/v1/video/task") { Content = new ByteArrayContent(submission.Body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.Add("X-API-Key", submission.Key.ApiKey);
        if (submission.IdempotencyKey is not null) request.Headers.Add("Idempotency-Key", submission.IdempotencyKey);
        return await SendAsync(node, request, operation, submission.Key.KeyId, submission.Tag + (submission.IdempotencyKey is null ? "" : " idempotent"));
    }

    private async Task CancelSomeTaskAsync(CrashNode node, CrashKey key)
    {
        string? taskId;
        lock (_gate)
        {
            var mine = _acknowledged.Where(s => s.Key == key).TakeLast(20).ToList();
            taskId = mine.Count == 0 ? null : mine[Next(0, mine.Count)].TaskId;
        }
        if (taskId is null) return;
        using var request = new HttpRequestMessage(HttpMethod.Post, $"{node.Server.BaseUrl}/api/v1/video/task/{taskId}/cancel");
        request.Headers.Add("X-API-Key", key.ApiKey);
        var (status, _) = await SendAsync(node, request, "cancel", key.KeyId, taskId);
        if (status == 200) lock (_gate) _cancelsAcknowledged.Add(taskId);
    }

    private async Task TopUpAsync(CrashNode node, CrashKey key)
    {
        const decimal amount = 10m;
        using var request = new HttpRequestMessage(HttpMethod.Post, $"{node.Server.BaseUrl}/admin/v1/keys/{key.KeyId}/credits")
        {
            Content = new StringContent($$"""{"amount":{{amount}},"note":"crash run top-up"}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = node.Server.Admin.DefaultRequestHeaders.Authorization;
        key.TopUpSent(amount);
        var status = 0;
        try { (status, _) = await SendAsync(node, request, "top-up", key.KeyId, null); }
        finally { key.TopUpAnswered(amount, status); }
    }

    /// <summary>Cancels <paramref name="taskId"/> of <paramref name="key"/> on a running node; the answer is logged.</summary>
    public async Task<int> CancelAsync(CrashKey key, string taskId)
    {
        var node = Running() ?? throw new InvalidOperationException("No node running");
        using var request = new HttpRequestMessage(HttpMethod.Post, $"{node.Server.BaseUrl}/api/v1/video/task/{taskId}/cancel");
        request.Headers.Add("X-API-Key", key.ApiKey);
        var (status, _) = await SendAsync(node, request, "cancel at the end", key.KeyId, taskId);
        if (status == 200) lock (_gate) _cancelsAcknowledged.Add(taskId);
        return status;
    }

    /// <summary>The key's balance as the API gives it, or null when no answer came.</summary>
    public async Task<JsonNode?> BalanceAsync(CrashKey key)
    {
        var node = Running();
        if (node is null) return null;
        using var request = new HttpRequestMessage(HttpMethod.Get, node.Server.BaseUrl + "/api/v1/video/balance");
        request.Headers.Add("X-API-Key", key.ApiKey);
        var (status, body) = await SendAsync(node, request, "balance", key.KeyId, null);
        return status == 200 ? JsonNode.Parse(body)!["result"] : null;
    }

    private async Task<(int Status, string Body)> SendAsync(CrashNode node, HttpRequestMessage request, string operation, long keyId, string? reference)
    {
        int status;
        string body;
        try
        {
            using var response = await _http.SendAsync(request);
            body = await response.Content.ReadAsStringAsync();
            status = (int)response.StatusCode;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
        {
            (status, body) = (0, e.GetType().Name + ": " + e.Message);
        }
        var line = JsonSerializer.Serialize(new LoggedAnswer(DateTimeOffset.UtcNow, node.Name, operation, keyId, reference, status, body));
        lock (_gate)
        {
            _answers++;
            if (status == 0) _unanswered++;
            log.WriteLine(line);
        }
        return (status, body);
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        await log.FlushAsync();
    }
}
