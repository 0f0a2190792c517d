using System.Diagnostics;
using System.Globalization;
using Microsoft.Data.Sqlite;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text.Json.Nodes;

namespace Seedance.Bench;

/// <summary>
/// The server as an operator runs it: <c>dotnet Seedance.Server.dll</c> in a process of its own, on a fresh
/// data directory and a free loopback port, with its CPU time and peak memory read from outside.
/// </summary>
public sealed class ServerUnderTest : IAsyncDisposable
{
    private const int OutputLinesKept = 200;
    private readonly ProcessStartInfo _info;
    private readonly Queue<string> _output = new();
    private Process _process;
    private long _peakOfEarlierProcesses;

    private ServerUnderTest(ProcessStartInfo info, string baseUrl, string dataDir, string adminToken)
    {
        _info = info;
        _process = Launch(info);
        BaseUrl = baseUrl;
        DataDir = dataDir;
        Admin = new HttpClient { BaseAddress = new Uri(baseUrl), Timeout = TimeSpan.FromSeconds(60) };
        Admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", adminToken);
    }

    private Process Launch(ProcessStartInfo info)
    {
        var process = Process.Start(info)!;
        process.OutputDataReceived += (_, e) => Keep(e.Data);
        process.ErrorDataReceived += (_, e) => Keep(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    public string BaseUrl { get; }
    public string DataDir { get; }
    public int ProcessId => _process.Id;
    /// <summary>A client carrying the admin token.</summary>
    public HttpClient Admin { get; }
    /// <summary>The SQLite database of the fresh data directory.</summary>
    public string DatabasePath => Path.Combine(DataDir, "seedance.db");
    /// <summary>The last lines the server wrote, for a report when something goes wrong.</summary>
    public string OutputTail { get { lock (_output) return string.Join('\n', _output); } }

    /// <summary>User plus system CPU time the server has used so far.</summary>
    public TimeSpan CpuTime
    {
        get
        {
            _process.Refresh();
            return _process.TotalProcessorTime;
        }
    }

    /// <summary>The server's peak resident set size so far in bytes (<c>VmHWM</c>), or null off Linux.</summary>
    public long? PeakRssBytes => Bar.ProcessMemory.Read(_process.Id, "VmHWM:");

    /// <summary>The highest <see cref="PeakRssBytes"/> of this server over every process it ran as (restarts, peak resets).</summary>
    public long? PeakRssOverRunBytes => PeakRssBytes is { } now ? Math.Max(now, _peakOfEarlierProcesses) : null;

    /// <summary>Starts the peak (<c>VmHWM</c>) afresh at the current RSS, so a peak of one phase can be read alone; false off Linux.</summary>
    public bool ResetPeakRss()
    {
        _peakOfEarlierProcesses = PeakRssOverRunBytes ?? 0;
        return Bar.ProcessMemory.ResetPeak(_process.Id);
    }

    /// <summary>Stops the server as an operator does (SIGTERM, so it shuts down in order) and waits until it has exited.</summary>
    public async Task StopAsync()
    {
        if (_process.HasExited) return;
        _peakOfEarlierProcesses = PeakRssOverRunBytes ?? _peakOfEarlierProcesses;
        if (OperatingSystem.IsLinux() || OperatingSystem.IsMacOS()) _ = Signal(_process.Id, 15);
        else _process.Kill(entireProcessTree: true);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try { await _process.WaitForExitAsync(timeout.Token); }
        catch (OperationCanceledException) { _process.Kill(entireProcessTree: true); await _process.WaitForExitAsync(); }
    }

    /// <summary>Starts the server again on the same data directory and address, with <paramref name="changes"/> to its settings.</summary>
    public async Task RestartAsync(IReadOnlyDictionary<string, string> changes, CancellationToken ct)
    {
        await StopAsync();
        _process.Dispose();
        foreach (var (name, value) in changes) _info.Environment[name] = value;
        _process = Launch(_info);
        await WaitUntilReadyAsync(TimeSpan.FromSeconds(120), ct);
    }

    /// <summary>The crash: SIGKILL to the server and everything it started (ffmpeg renders included), and waits until it is gone.</summary>
    public async Task CrashAsync()
    {
        if (_process.HasExited) return;
        _peakOfEarlierProcesses = PeakRssOverRunBytes ?? _peakOfEarlierProcesses;
        _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
    }

    /// <summary>Starts the server again after <see cref="CrashAsync"/> or <see cref="StopAsync"/>, on the same data, address and settings.</summary>
    public async Task StartAgainAsync(CancellationToken ct)
    {
        if (!_process.HasExited) throw new InvalidOperationException("The server is still running");
        _process.Dispose();
        _process = Launch(_info);
        await WaitUntilReadyAsync(TimeSpan.FromSeconds(120), ct);
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Signal(int pid, int signal);

    /// <summary><c>dotnet <paramref name="dll"/></c> in the dll's folder, its output captured.</summary>
    internal static ProcessStartInfo Dotnet(string dll)
    {
        var info = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = Path.GetDirectoryName(dll)!,
        };
        info.ArgumentList.Add(dll);
        return info;
    }

    /// <summary>Starts the server with <paramref name="configuration"/> (<c>Seedance__...</c> variables) and waits until it is ready.</summary>
    /// <param name="dataDir">A data directory to share with other nodes (default: a fresh one of its own).</param>
    public static async Task<ServerUnderTest> StartAsync(string serverDll, Func<string, IReadOnlyDictionary<string, string>> configuration, CancellationToken ct,
        string? dataDir = null)
    {
        if (!File.Exists(serverDll)) throw new FileNotFoundException($"The server build is missing; build it with: dotnet build -c Release src/Seedance.Server", serverDll);
        var baseUrl = $"http://127.0.0.1:{FreePort()}";
        dataDir ??= Path.Combine(Path.GetTempPath(), "seedance-bench-" + Guid.NewGuid().ToString("N"));
        var adminToken = Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
        var info = Dotnet(serverDll);
        info.ArgumentList.Add("--urls");
        info.ArgumentList.Add(baseUrl);
        foreach (var name in info.Environment.Keys.Where(k => k.StartsWith("Seedance", StringComparison.OrdinalIgnoreCase)).ToList())
            info.Environment.Remove(name);
        info.Environment["Seedance__DataDir"] = dataDir;
        info.Environment["Seedance__AdminToken"] = adminToken;
        info.Environment["Seedance__PublicBaseUrl"] = baseUrl;
        foreach (var (name, value) in configuration(baseUrl)) info.Environment[name] = value;

        var server = new ServerUnderTest(info, baseUrl, dataDir, adminToken);
        try
        {
            await server.WaitUntilReadyAsync(TimeSpan.FromSeconds(60), ct);
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// The server's own record of each task, read from its database: the API rounds <c>updated_at</c> to
    /// whole seconds, too coarse for delays of a few seconds.
    /// </summary>
    public List<ServerTask> ReadTasks()
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = DatabasePath, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT task_id, status, upstream_task_id, updated_at FROM video_tasks";
        using var reader = command.ExecuteReader();
        var tasks = new List<ServerTask>();
        while (reader.Read())
            tasks.Add(new ServerTask(reader.GetString(0), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2),
                DateTimeOffset.Parse(reader.GetString(3), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal)));
        return tasks;
    }

    /// <summary>The server's resident set size now in bytes (<c>VmRSS</c>), or null off Linux.</summary>
    public long? RssBytes => Bar.ProcessMemory.Read(_process.Id, "VmRSS:");

    /// <summary>Creates an API key through the admin API and returns it.</summary>
    public async Task<string> CreateKeyAsync(JsonObject key, CancellationToken ct) => (await CreateKeyWithIdAsync(key, ct)).ApiKey;

    /// <summary>Creates an API key through the admin API and returns it with its id.</summary>
    public async Task<(string ApiKey, long KeyId)> CreateKeyWithIdAsync(JsonObject key, CancellationToken ct)
    {
        using var response = await Admin.PostAsJsonAsync("/admin/v1/keys", key, ct);
        var body = await response.Content.ReadAsStringAsync(ct);
        if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"Creating a key failed: {(int)response.StatusCode} {body}");
        var result = JsonNode.Parse(body)!["result"]!;
        return (result["api_key"]!.GetValue<string>(), result["key"]!["key_id"]!.GetValue<long>());
    }

    private async Task WaitUntilReadyAsync(TimeSpan within, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + within;
        using var http = new HttpClient { BaseAddress = new Uri(BaseUrl), Timeout = TimeSpan.FromSeconds(5) };
        while (true)
        {
            if (_process.HasExited) throw new InvalidOperationException($"The server exited with {_process.ExitCode} before it was ready:\n{OutputTail}");
            try
            {
                if ((await http.GetAsync("/readyz", ct)).IsSuccessStatusCode) return;
            }
            catch (HttpRequestException) { }
            catch (TaskCanceledException) when (!ct.IsCancellationRequested) { }
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"The server was not ready after {within.TotalSeconds} s:\n{OutputTail}");
            await Task.Delay(100, ct);
        }
    }

    private void Keep(string? line)
    {
        if (line is null) return;
        lock (_output)
        {
            _output.Enqueue(line);
            if (_output.Count > OutputLinesKept) _output.Dequeue();
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        Admin.Dispose();
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
        _process.Dispose();
        if (!KeepDataDir)
            try { Directory.Delete(DataDir, recursive: true); } catch (IOException) { }
    }

    /// <summary>Leaves the data directory in place on dispose (a run that found a problem keeps it for a look).</summary>
    public bool KeepDataDir { get; set; }
}

/// <summary>A task as the server's database holds it.</summary>
public sealed record ServerTask(string TaskId, string Status, string? UpstreamId, DateTimeOffset UpdatedAt);
