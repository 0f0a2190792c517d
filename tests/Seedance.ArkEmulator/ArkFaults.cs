namespace Seedance.Server.Tests.Ark;

/// <summary>The kinds of API call a fault can aim at.</summary>
[Flags]
public enum ArkCall
{
    None = 0,
    Create = 1,
    Get = 2,
    List = 4,
    Delete = 8,
    Any = Create | Get | List | Delete,
}

/// <summary>
/// Faults a test switches on at any time, from any thread. One-shot faults (<c>...Next</c>) are used up
/// in the order they were added, each by the first matching call; standing faults hold until reset.
/// </summary>
public sealed class ArkFaults
{
    private readonly object _gate = new();
    private readonly List<Rule> _rules = [];
    private long _latencyTicks;
    private long _resultLinkLifetimeTicks = TimeSpan.FromHours(24).Ticks;
    private volatile string? _refuseInput;
    private volatile string? _failOutput;
    private volatile bool _stuck, _expireTasks, _dropCallbacks;

    /// <summary>Added to every request, API and result downloads alike.</summary>
    public TimeSpan Latency
    {
        get => TimeSpan.FromTicks(Interlocked.Read(ref _latencyTicks));
        set => Interlocked.Exchange(ref _latencyTicks, value.Ticks);
    }

    /// <summary>Creates are refused with 400 and this code (e.g. <c>InputTextSensitiveContentDetected</c>); null lifts it.</summary>
    public string? RefuseInputCode { get => _refuseInput; set => _refuseInput = value; }

    /// <summary>Tasks that finish running end <c>failed</c> with this code (e.g. <c>OutputVideoSensitiveContentDetected</c>); null lifts it.</summary>
    public string? FailOutputCode { get => _failOutput; set => _failOutput = value; }

    /// <summary>Running tasks never finish while set; they finish on the next tick once it is cleared.</summary>
    public bool Stuck { get => _stuck; set => _stuck = value; }

    /// <summary>Tasks end <c>expired</c> when they would otherwise start or finish running.</summary>
    public bool ExpireTasks { get => _expireTasks; set => _expireTasks = value; }

    /// <summary>Callbacks are not sent (they are still recorded, as dropped).</summary>
    public bool DropCallbacks { get => _dropCallbacks; set => _dropCallbacks = value; }

    /// <summary>How long a result link works after the task succeeded (24 h by default).</summary>
    public TimeSpan ResultLinkLifetime
    {
        get => TimeSpan.FromTicks(Interlocked.Read(ref _resultLinkLifetimeTicks));
        set => Interlocked.Exchange(ref _resultLinkLifetimeTicks, value.Ticks);
    }

    public void RefuseInput(string? code) => RefuseInputCode = code;
    public void FailOutput(string? code) => FailOutputCode = code;
    public void ResultLinksExpireAfter(TimeSpan lifetime) => ResultLinkLifetime = lifetime;

    /// <summary>The next <paramref name="n"/> creates answer 429 with <paramref name="code"/>.</summary>
    public void RateLimitNext(int n, string code = "RateLimitExceeded.EndpointRPMExceeded") =>
        ErrorNext(n, 429, code, ArkCall.Create, "The request rate of this endpoint exceeds the limit. Please retry later.");

    /// <summary>The next <paramref name="n"/> creates answer 429 <c>QuotaExceeded</c>.</summary>
    public void QuotaExceededNext(int n) =>
        ErrorNext(n, 429, "QuotaExceeded", ArkCall.Create, "The request exceeds the quota of your account. Please retry later.");

    /// <summary>The next <paramref name="n"/> matching calls answer 500 <c>InternalServiceError</c>.</summary>
    public void ServerErrorNext(int n, ArkCall calls = ArkCall.Any) =>
        ErrorNext(n, 500, "InternalServiceError", calls, "The service encountered an unexpected internal error.");

    /// <summary>The next <paramref name="n"/> matching calls are refused: <c>AuthenticationError</c> with 401, any other code with 403.</summary>
    public void AuthFailNext(int n, string code = "AccessDenied", ArkCall calls = ArkCall.Any) =>
        ErrorNext(n, code == "AuthenticationError" ? 401 : 403, code, calls,
            code == "AuthenticationError" ? "The API key in the request is missing or invalid." : "The request failed because you do not have access to the requested resource.");

    /// <summary>The next <paramref name="n"/> matching calls answer with any status and code (e.g. 404 <c>ModelNotOpen</c>).</summary>
    public void ErrorNext(int n, int status, string code, ArkCall calls = ArkCall.Create, string? message = null) =>
        Add(new Rule(calls, n, new ArkError(status, code, message ?? $"The request failed: {code}."), Hang: false, AfterProcessing: false));

    /// <summary>
    /// The next <paramref name="n"/> matching calls hang for <see cref="ArkTiming.HangFor"/> (or until the client gives up).
    /// With <paramref name="afterProcessing"/> the call takes effect first (a create makes its task) and only the answer hangs.
    /// </summary>
    public void TimeoutNext(int n, ArkCall calls = ArkCall.Any, bool afterProcessing = false) =>
        Add(new Rule(calls, n, null, Hang: true, AfterProcessing: afterProcessing));

    /// <summary>Lifts every fault.</summary>
    public void Reset()
    {
        lock (_gate) _rules.Clear();
        Latency = TimeSpan.Zero;
        ResultLinkLifetime = TimeSpan.FromHours(24);
        _refuseInput = _failOutput = null;
        _stuck = _expireTasks = _dropCallbacks = false;
    }

    /// <summary>Uses up one pending one-shot fault aimed at <paramref name="call"/>, if any.</summary>
    internal Rule? Take(ArkCall call)
    {
        if (call == ArkCall.None) return null;
        lock (_gate)
        {
            var rule = _rules.FirstOrDefault(r => (r.Calls & call) != 0);
            if (rule is null) return null;
            rule.Remaining--;
            if (rule.Remaining <= 0) _rules.Remove(rule);
            return rule;
        }
    }

    private void Add(Rule rule)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rule.Remaining);
        if (rule.Remaining == 0) return;
        lock (_gate) _rules.Add(rule);
    }

    internal sealed record Rule(ArkCall Calls, int Count, ArkError? Error, bool Hang, bool AfterProcessing)
    {
        public int Remaining { get; set; } = Count;
    }
}

/// <summary>The emulator's clock settings; change them at any time.</summary>
public sealed class ArkTiming
{
    private long _queued = TimeSpan.FromSeconds(0.3).Ticks;
    private long _running = TimeSpan.FromSeconds(0.5).Ticks;
    private long _runningSpread;
    private long _callbackTimeout = TimeSpan.FromSeconds(5).Ticks;
    private long _callbackRetryDelay = TimeSpan.FromSeconds(0.2).Ticks;
    private long _hang = TimeSpan.FromSeconds(120).Ticks;

    /// <summary>How long a task stays <c>queued</c>.</summary>
    public TimeSpan QueuedFor { get => Get(ref _queued); set => Set(ref _queued, value); }
    /// <summary>How long a task stays <c>running</c> before its outcome (rendering adds a fraction of a second).</summary>
    public TimeSpan RunningFor { get => Get(ref _running); set => Set(ref _running, value); }
    /// <summary>Each task runs for a random extra share of this on top of <see cref="RunningFor"/>, so finishes spread out (none by default).</summary>
    public TimeSpan RunningSpread { get => Get(ref _runningSpread); set => Set(ref _runningSpread, value); }
    /// <summary>A callback not answered 2xx within this is counted as failed (5 s, as Ark).</summary>
    public TimeSpan CallbackTimeout { get => Get(ref _callbackTimeout); set => Set(ref _callbackTimeout, value); }
    /// <summary>Pause between callback attempts.</summary>
    public TimeSpan CallbackRetryDelay { get => Get(ref _callbackRetryDelay); set => Set(ref _callbackRetryDelay, value); }
    /// <summary>How long a <see cref="ArkFaults.TimeoutNext"/> call hangs (120 s, beyond any sane client timeout).</summary>
    public TimeSpan HangFor { get => Get(ref _hang); set => Set(ref _hang, value); }

    private static TimeSpan Get(ref long ticks) => TimeSpan.FromTicks(Interlocked.Read(ref ticks));
    private static void Set(ref long ticks, TimeSpan value) => Interlocked.Exchange(ref ticks, value.Ticks);
}
