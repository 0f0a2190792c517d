using System.Buffers.Text;
using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace Seedance.Bench.Bar;

/// <summary>
/// The polling load: GETs of one path (or POSTs of one body: the submissions) over kept-alive HTTP/1.1
/// connections, driven the way wrk2 drives them.
/// A few threads (one per core) each own a share of the connections and run an event loop over them: send
/// every request that is due on an idle connection, wait in one <c>poll()</c> for answers or the next due
/// time, read what arrived. The request's bytes are written once; an answer is read as bytes (status line,
/// then a body of its <c>Content-Length</c> or in chunks).
/// </summary>
/// <remarks>
/// The polling figures are taken where the server and the load generator together fill the machine's two
/// cores, so the generator's own cost decides them as much as the server's. An async client (HttpClient, or
/// sockets with a continuation per request and a timer per paced request) spends several times the CPU per
/// request and, at a fixed rate, sends late whenever its thread pool is behind: that lateness counted in
/// the latency of the server and the baseline alike. <c>wrk</c> itself cannot hold a fixed rate.
/// Only what the server and the baseline answer is understood: a status line, headers, a body of the
/// Content-Length or chunked without trailers. Anything else (a closed connection) counts as a failed request.
/// </remarks>
public sealed class RawPoller(string baseUrl, string path, IReadOnlyDictionary<string, string> headers, byte[]? jsonBody = null)
{
    private readonly Uri _server = new(baseUrl);
    private readonly byte[] _request =
    [
        .. Encoding.ASCII.GetBytes(
            $"{(jsonBody is null ? "GET" : "POST")} {path} HTTP/1.1\r\nHost: {new Uri(baseUrl).Authority}\r\n"
            + string.Concat(headers.Select(h => $"{h.Key}: {h.Value}\r\n"))
            + (jsonBody is null ? "" : $"Content-Type: application/json\r\nContent-Length: {jsonBody.Length}\r\n") + "\r\n"),
        .. jsonBody ?? [],
    ];

    private static int Threads => Math.Max(1, Environment.ProcessorCount);

    /// <summary>Each of <paramref name="connections"/> sends its next request as soon as the last is answered: the maximum rate.</summary>
    public Task<LoadResult> ClosedLoopAsync(int connections, TimeSpan warmup, TimeSpan duration) => Task.Run(() =>
    {
        var (from, end) = (warmup.TotalSeconds, (warmup + duration).TotalSeconds);
        var perThread = new Outcomes[Threads];
        var clock = new Stopwatch();
        var broken = RunThreads(clock, connections, thread => perThread[thread] = new Outcomes((int)(duration.TotalSeconds * MaxPerSecond / Threads)),
            (_, now) => now < end ? now : null,
            (thread, request) => { if (request.Due >= from) perThread[thread].Add(request); });
        var all = Outcomes.Merge(perThread, broken);
        return new LoadResult(all.Latencies.Count, all.Failed, clock.Elapsed.TotalSeconds - from, new Distribution(all.Latencies), all.FirstError);
    });

    /// <summary>
    /// <paramref name="perSecond"/> requests a second: request i is due at i / rate, whatever the answers take,
    /// and its latency counts from then (a request that waits for a free connection waits in its latency).
    /// </summary>
    public Task<LoadResult> FixedRateAsync(double perSecond, int connections, TimeSpan warmup, TimeSpan duration) => Task.Run(() =>
    {
        var firstMeasured = (long)(warmup.TotalSeconds * perSecond);
        var total = Math.Max((long)((warmup + duration).TotalSeconds * perSecond), firstMeasured + 10);
        var next = new long[Threads];
        var perThread = new Outcomes[Threads];
        var lateness = new List<double>[Threads];
        var clock = new Stopwatch();
        var share = (int)((total - firstMeasured) / Threads + 1);
        var broken = RunThreads(clock, connections, thread => { next[thread] = thread; perThread[thread] = new Outcomes(share); lateness[thread] = new(share); },
            (thread, now) =>
            {
                if (next[thread] >= total) return null;
                var due = next[thread] / perSecond;
                if (due > now) return -due; // not yet: the loop waits until then
                next[thread] += Threads;
                return due;
            },
            (thread, request) =>
            {
                if (request.Due < firstMeasured / perSecond) return;
                perThread[thread].Add(request);
                lateness[thread].Add(request.Sent - request.Due);
            });
        var all = Outcomes.Merge(perThread, broken);
        return new LoadResult(all.Latencies.Count, all.Failed, (total - firstMeasured) / perSecond, new Distribution(all.Latencies), all.FirstError)
        {
            Lateness = new Distribution(lateness.SelectMany(l => l)),
        };
    });

    /// <summary>What one request did: when it was due and sent, how long until its whole answer, and its error if any.</summary>
    private readonly record struct Done(double Due, double Sent, double Latency, string? Error);

    /// <summary>Room kept for a closed loop's latencies: more than any machine here answers.</summary>
    private const int MaxPerSecond = 250_000;

    /// <summary>
    /// A thread's latencies, in room taken before the clock starts: growing a list of a million while measuring
    /// would allocate large arrays, and the collection they set off pauses the event loops mid-measure.
    /// </summary>
    private sealed class Outcomes(int room)
    {
        public List<double> Latencies { get; } = new(room);
        public int Failed { get; private set; }
        public string? FirstError { get; private set; }

        public void Add(Done request)
        {
            if (request.Error is null) Latencies.Add(request.Latency);
            else
            {
                Failed++;
                FirstError ??= request.Error;
            }
        }

        public static Outcomes Merge(Outcomes[] parts, string? broken)
        {
            var all = new Outcomes(parts.Sum(p => p.Latencies.Count));
            if (broken is not null) all.Add(new Done(0, 0, 0, broken));
            foreach (var part in parts)
            {
                all.Latencies.AddRange(part.Latencies);
                all.Failed += part.Failed;
                all.FirstError ??= part.FirstError;
            }
            return all;
        }
    }

    /// <summary>
    /// Runs the event loops, one thread each, over <paramref name="connections"/> connections shared out among them, on one clock;
    /// returns why a loop stopped early, if one did.
    /// <paramref name="nextDue"/> gives a thread's next request given the time: its due time, minus its due time
    /// when that lies ahead, or null when the thread has sent all it will send.
    /// </summary>
    private string? RunThreads(Stopwatch clock, int connections, Action<int> start, Func<int, double, double?> nextDue, Action<int, Done> done)
    {
        for (var t = 0; t < Threads; t++) start(t);
        RanAhead = true;
        Exception? broken = null;
        var opened = Enumerable.Range(0, Threads)
            .Select(t => Enumerable.Range(0, Math.Max(1, connections / Threads + (t < connections % Threads ? 1 : 0))).Select(_ => Connection.Open(_server)).ToList())
            .ToList();
        // what earlier phases left is collected now, not in the middle of this one
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        clock.Start();
        var threads = Enumerable.Range(0, Threads).Select(t =>
        {
            var thread = new Thread(() =>
            {
                // a connection that cannot be opened again (the app is gone) ends the loop; the phase reports it
                try { Loop(clock, t, opened[t], nextDue, done); }
                catch (SocketException e) { Interlocked.CompareExchange(ref broken, e, null); }
            }) { IsBackground = true, Name = $"poller {t}" };
            thread.Start();
            return thread;
        }).ToList();
        foreach (var thread in threads) thread.Join();
        return broken is null ? null : $"A connection could not be opened again: {broken.Message}";
    }

    /// <summary>Whether every event loop of the last phase ran ahead of the apps it measures in the scheduler (see <see cref="RaisePriority"/>).</summary>
    public static bool RanAhead { get; private set; }

    private void Loop(Stopwatch clock, int thread, List<Connection> connections, Func<int, double, double?> nextDue, Action<int, Done> done)
    {
        if (!RaisePriority()) RanAhead = false;
        var idle = new Stack<Connection>(connections);
        var busy = new List<Connection>(connections.Count);
        var ready = new List<Socket>(connections.Count);
        var finished = false;
        double? waitUntil = null;
        while (!finished || busy.Count > 0)
        {
            var now = clock.Elapsed.TotalSeconds;
            waitUntil = null;
            while (!finished && idle.Count > 0)
            {
                var due = nextDue(thread, now);
                if (due is null) finished = true;
                else if (due < 0) waitUntil = -due;
                else
                {
                    var connection = idle.Pop();
                    if (connection.Send(_request, due.Value, now) is { } error)
                    {
                        done(thread, new Done(due.Value, now, 0, error));
                        idle.Push(Connection.Reopen(connection, _server));
                    }
                    else busy.Add(connection);
                    continue;
                }
                break;
            }
            if (busy.Count == 0)
            {
                if (waitUntil is { } until) Thread.Sleep(TimeSpan.FromSeconds(Math.Max(0.001, until - clock.Elapsed.TotalSeconds)));
                continue;
            }
            // wait for answers, or until the next request is due (poll() counts whole milliseconds: at least one)
            var timeout = waitUntil is { } at ? Math.Clamp((int)((at - now) * 1e6), 1000, 100_000) : 100_000;
            ready.Clear();
            foreach (var connection in busy) ready.Add(connection.Socket);
            Socket.Select(ready, null, null, timeout);
            now = clock.Elapsed.TotalSeconds;
            for (var i = busy.Count - 1; i >= 0; i--)
            {
                var connection = busy[i];
                if (!ready.Contains(connection.Socket)) continue;
                var outcome = connection.Receive(now);
                if (outcome is null) continue; // more of the answer to come
                busy.RemoveAt(i);
                done(thread, outcome.Value);
                idle.Push(outcome.Value.Error is null ? connection : Connection.Reopen(connection, _server));
            }
        }
        foreach (var connection in idle) connection.Socket.Dispose();
    }

    /// <summary>
    /// Puts the calling thread ahead of the apps it measures in the scheduler (nice -10), where the OS allows it
    /// (Linux, as root or with CAP_SYS_NICE). At 80 % of the maximum the two cores are nearly full; an event loop
    /// that waits behind the server's threads for its turn sends late, and that lateness, the instrument's, was
    /// most of the p99 measured. Its threads use a small share of the CPU, so what the apps get hardly changes.
    /// </summary>
    private static bool RaisePriority()
    {
        if (!OperatingSystem.IsLinux()) return false;
        try
        {
            return SetPriority(0 /* PRIO_PROCESS: on Linux, a thread id names that thread */, GetThreadId(), -10) == 0;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "setpriority", SetLastError = true)]
    private static extern int SetPriority(int which, int who, int priority);

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "gettid")]
    private static extern int GetThreadId();

    private sealed class Connection(Socket socket)
    {
        private byte[] _buffer = new byte[16 * 1024];
        private int _read;
        private double _due, _sent;

        public Socket Socket => socket;

        public static Connection Open(Uri server)
        {
            var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            socket.Connect(server.Host, server.Port);
            socket.Blocking = false;
            return new Connection(socket);
        }

        public static Connection Reopen(Connection broken, Uri server)
        {
            broken.Socket.Dispose();
            return Open(server);
        }

        public string? Send(byte[] request, double due, double now)
        {
            (_due, _sent, _read) = (due, now, 0);
            try
            {
                // a request of a few hundred bytes on a connection with nothing in flight fits the send buffer whole
                return socket.Send(request) == request.Length ? null : "A request was not sent whole";
            }
            catch (SocketException e)
            {
                return "SocketException: " + e.Message;
            }
        }

        /// <summary>Reads what arrived; the outcome once the whole answer is in (or broken), null while more is to come.</summary>
        public Done? Receive(double now)
        {
            try
            {
                while (true)
                {
                    if (_read == _buffer.Length) Array.Resize(ref _buffer, _buffer.Length * 2);
                    var n = socket.Receive(_buffer, _read, _buffer.Length - _read, SocketFlags.None, out var error);
                    if (error == SocketError.WouldBlock) return null;
                    if (error != SocketError.Success) return Failed(now, $"SocketException: {error}");
                    if (n == 0) return Failed(now, "The server closed the connection");
                    _read += n;
                    if (Parse() is { } answer)
                        return _read > answer.Length ? Failed(now, "More bytes than the answer's Content-Length")
                            : _read < answer.Length ? null
                            : new Done(_due, _sent, now - _due, answer.Status == 200 ? null : $"HTTP {answer.Status}");
                }
            }
            catch (InvalidDataException e)
            {
                return Failed(now, e.Message);
            }
        }

        private Done Failed(double now, string error) => new(_due, _sent, now - _due, error);

        /// <summary>The answer's status and whole length, once its headers are in (and, when it comes in chunks, its last chunk).</summary>
        private (int Status, int Length)? Parse()
        {
            var received = _buffer.AsSpan(0, _read);
            var headerEnd = received.IndexOf("\r\n\r\n"u8);
            if (headerEnd < 0) return null;
            var headers = received[..(headerEnd + 2)];
            if (headers.Length < 12 || !Utf8Parser.TryParse(headers[9..12], out int status, out _))
                throw new InvalidDataException("Not an HTTP/1.1 status line");
            Span<byte> lower = stackalloc byte[headers.Length];
            for (var i = 0; i < headers.Length; i++) lower[i] = headers[i] is >= (byte)'A' and <= (byte)'Z' ? (byte)(headers[i] | 0x20) : headers[i];
            var declared = Header(headers, lower, "\r\ncontent-length:"u8);
            if (!declared.IsEmpty)
                return Utf8Parser.TryParse(declared, out int length, out _) ? (status, headerEnd + 4 + length) : throw new InvalidDataException("A bad Content-Length");
            if (Header(headers, lower, "\r\ntransfer-encoding:"u8).SequenceEqual("chunked"u8))
                return ChunkedLength(received, headerEnd + 4) is { } whole ? (status, whole) : null;
            throw new InvalidDataException($"HTTP {status}, an answer with neither Content-Length nor chunks");
        }

        /// <summary>The value of a header, found by its lower-case name (with the line break before it) in <paramref name="lower"/>.</summary>
        private static ReadOnlySpan<byte> Header(ReadOnlySpan<byte> headers, ReadOnlySpan<byte> lower, ReadOnlySpan<byte> name)
        {
            var at = lower.IndexOf(name);
            if (at < 0) return default;
            var value = headers[(at + name.Length)..];
            return value[..value.IndexOf("\r\n"u8)].Trim((byte)' ');
        }

        /// <summary>Where a chunked body that starts at <paramref name="at"/> ends, once its last (empty) chunk is in; null before.</summary>
        private static int? ChunkedLength(ReadOnlySpan<byte> received, int at)
        {
            while (true)
            {
                var lineEnd = received[at..].IndexOf("\r\n"u8);
                if (lineEnd < 0) return null;
                if (!Utf8Parser.TryParse(received.Slice(at, lineEnd), out int size, out var used, 'x') || used != lineEnd)
                    throw new InvalidDataException("A bad chunk size");
                at += lineEnd + 2 + size + 2; // the size line, the chunk and its line break (the last chunk: only the final line break)
                if (size == 0) return at <= received.Length ? at : null;
                if (at > received.Length) return null;
            }
        }
    }
}
