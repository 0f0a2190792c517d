using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;

namespace Seedance.Server.Tests.Support;

/// <summary>
/// The server binary as an operator runs it: <c>dotnet Seedance.Server.dll</c> in a process of its own,
/// serving on a loopback port, or running one of its commands to the end.
/// </summary>
public sealed class ServerProcess : IServerNode
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private ServerProcess(Process process, string baseUrl)
    {
        _process = process;
        BaseUrl = baseUrl;
        Admin = new HttpClient(SecretScan.Answers()) { BaseAddress = new Uri(baseUrl), Timeout = TimeSpan.FromSeconds(60) };
        Admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", RunningServer.AdminToken);
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    /// <summary>The server's dll as published for these processes, ahead-of-time compiled, beside the tests (the test project's build publishes it).</summary>
    public static string ServerDll => Path.Combine(AppContext.BaseDirectory, "server", "Seedance.Server.dll");

    public string BaseUrl { get; }
    /// <summary>A client carrying the admin token.</summary>
    public HttpClient Admin { get; }
    /// <summary>Everything the process wrote to stdout and stderr so far.</summary>
    public string Output { get { lock (_output) return _output.ToString(); } }

    /// <summary>
    /// Starts the server on a free loopback port with the given environment and waits until it is ready.
    /// It runs on the database and the store of this test run that belong to its <c>Seedance__DataDir</c>
    /// (<see cref="TestDatabase"/>, <see cref="TestS3"/>).
    /// </summary>
    /// <param name="workingDirectory">Where the process starts (default: beside the tests and the server's binary).</param>
    public static async Task<ServerProcess> StartAsync(IDictionary<string, string> environment, TimeSpan? readyWithin = null, string? workingDirectory = null) =>
        await StartAsync(StartInfo([], await WithTestStorage(await WithDatabaseAsync([], environment)), workingDirectory: workingDirectory),
            readyWithin ?? TimeSpan.FromSeconds(60));

    /// <summary>
    /// Starts the server through a launcher such as the README's <c>./run</c> (which builds first, so it may
    /// take longer to be ready), with <c>--urls</c> on a free loopback port appended to its arguments.
    /// </summary>
    public static async Task<ServerProcess> StartAsync(string launcher, IDictionary<string, string> environment, string workingDirectory) =>
        await StartAsync(StartInfo([], await WithTestStorage(await WithDatabaseAsync([], environment)), launcher, workingDirectory), TimeSpan.FromMinutes(3));

    /// <summary>On the S3 pass (<c>SEEDANCE_TEST_STORAGE=s3</c>) a server not told otherwise stores its files in a bucket of its data directory's own.</summary>
    private static async Task<IDictionary<string, string>> WithTestStorage(IDictionary<string, string> environment)
    {
        if (!TestS3.IsStorage || environment.ContainsKey("Seedance__Storage__Provider")) return environment;
        var all = new Dictionary<string, string>(environment);
        foreach (var (k, v) in await TestS3.SettingsAsync(environment.TryGetValue("Seedance__DataDir", out var dir) ? dir : null, "__")) all[k] = v;
        return all;
    }

    private static async Task<ServerProcess> StartAsync(ProcessStartInfo info, TimeSpan readyWithin)
    {
        var baseUrl = $"http://127.0.0.1:{FreePort()}";
        info.ArgumentList.Add("--urls");
        info.ArgumentList.Add(baseUrl);
        var process = Process.Start(info)!;
        var server = new ServerProcess(process, baseUrl);
        try
        {
            await server.WaitUntilReadyAsync(readyWithin);
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>Creates a key through this server's admin API and returns a client that carries it.</summary>
    public Task<ApiClient> CreateKeyAsync(decimal credits = 1000m, int? maxConcurrent = null, int? maxPending = null, int? rateLimit = null, string name = "test") =>
        RunningServer.CreateKeyAsync(Admin, BaseUrl, credits, maxConcurrent, maxPending, rateLimit, name);

    /// <summary>The crash: SIGKILL to the server and everything it started (ffmpeg renders included).</summary>
    public void Kill()
    {
        _process.Kill(entireProcessTree: true);
        _process.WaitForExit();
    }

    /// <summary>Runs the binary with <paramref name="args"/> to its end (at most <paramref name="timeoutSeconds"/>).</summary>
    public static async Task<CommandResult> RunAsync(IEnumerable<string> args, IDictionary<string, string>? environment = null, int timeoutSeconds = 90)
    {
        var all = args.ToList();
        using var process = Process.Start(StartInfo(all, await WithDatabaseAsync(all, environment ?? new Dictionary<string, string>())))!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(timeoutSeconds));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"'{string.Join(' ', args)}' still running after {timeoutSeconds} s:\n{await stdout}\n{await stderr}");
        }
        return new CommandResult(process.ExitCode, await stdout, await stderr);
    }

    private static ProcessStartInfo StartInfo(IEnumerable<string> args, IDictionary<string, string> environment,
        string? launcher = null, string? workingDirectory = null)
    {
        var info = new ProcessStartInfo(launcher ?? Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? AppContext.BaseDirectory,
        };
        if (launcher is null) info.ArgumentList.Add(ServerDll);
        // Profile-guided tiering recompiles hot code once more, instrumented: a gain for a server that runs for days,
        // a cost for one that runs seconds. Idle thread-pool workers sleep at once instead of spinning (tests/Directory.Build.targets).
        info.Environment["DOTNET_TieredPGO"] = "0";
        info.Environment["DOTNET_ThreadPool_UnfairSemaphoreSpinLimit"] = "0";
        foreach (var arg in args) info.ArgumentList.Add(arg);
        foreach (var name in info.Environment.Keys.Where(k => k.StartsWith("Seedance", StringComparison.OrdinalIgnoreCase)
                     || k.StartsWith("ConnectionStrings__", StringComparison.OrdinalIgnoreCase)).ToList())
            info.Environment.Remove(name);
        foreach (var (name, value) in environment) info.Environment[name] = value;
        return info;
    }

    /// <summary>
    /// The environment plus the database settings of the data directory it names (<c>Seedance__DataDir</c> or
    /// a <c>--data-dir</c> argument); left as it is when it chooses a database provider itself.
    /// </summary>
    private static async Task<IDictionary<string, string>> WithDatabaseAsync(IReadOnlyList<string> args, IDictionary<string, string> environment)
    {
        var at = args.ToList().IndexOf("--data-dir");
        var dataDir = at >= 0 && at + 1 < args.Count ? args[at + 1] : environment.TryGetValue("Seedance__DataDir", out var dir) ? dir : null;
        if (dataDir is null || environment.ContainsKey("Seedance__Database__Provider")) return environment;
        var all = new Dictionary<string, string>(environment);
        foreach (var (name, value) in await TestDatabase.EnvironmentAsync(dataDir)) all[name] = value;
        return all;
    }

    /// <summary>
    /// A loopback port free now, for a process to bind a little later. Taken below the kernel's ephemeral range
    /// (32768 and up), where a port handed to the tests' own outgoing connections or to a server binding port 0
    /// could otherwise take it in the meantime (a server built by <c>./run</c> binds seconds after it was chosen).
    /// </summary>
    public static int FreePort()
    {
        while (true)
        {
            var port = Random.Shared.Next(20_000, 32_000);
            using var listener = new TcpListener(IPAddress.Loopback, port);
            try
            {
                listener.Start();
                return port;
            }
            catch (SocketException) { } // in use: another
        }
    }

    private async Task WaitUntilReadyAsync(TimeSpan readyWithin)
    {
        var deadline = DateTime.UtcNow + readyWithin;
        using var http = new HttpClient { BaseAddress = new Uri(BaseUrl), Timeout = TimeSpan.FromSeconds(5) };
        while (true)
        {
            if (_process.HasExited) Assert.Fail($"The server exited with {_process.ExitCode} before it was ready:\n{Output}");
            try
            {
                if ((await http.GetAsync("/readyz")).IsSuccessStatusCode) return;
            }
            catch (HttpRequestException) { }
            catch (TaskCanceledException) { }
            if (DateTime.UtcNow > deadline) Assert.Fail($"The server was not ready after {readyWithin.TotalSeconds} s:\n{Output}");
            await Task.Delay(100);
        }
    }

    private void Append(string? line)
    {
        if (line is null) return;
        lock (_output) _output.AppendLine(line);
    }

    public async ValueTask DisposeAsync()
    {
        Admin.Dispose();
        if (!_process.HasExited) Kill();
        await _process.WaitForExitAsync();
        _process.Dispose();
        SecretScan.AssertNoneInLog(Output.Split('\n'), $"The server process at {BaseUrl}");
    }
}

public sealed record CommandResult(int ExitCode, string Stdout, string Stderr)
{
    public override string ToString() => $"exit {ExitCode}\nstdout:\n{Stdout}\nstderr:\n{Stderr}";
}
