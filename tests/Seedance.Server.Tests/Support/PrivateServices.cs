using System.Diagnostics;

namespace Seedance.Server.Tests.Support;

/// <summary>
/// A service of the test's own, for a test that stops, kills or fills it: the shared ones of <c>./test</c>
/// (<c>.ci/services.sh</c>) serve every other test and stay up. The binaries are those <c>./test</c> installs for its
/// shared services, so they are there in both passes.
/// </summary>
public static class Commands
{
    /// <summary>Runs a command to its end; fails the test, with its output, when it does not succeed.</summary>
    public static async Task<string> RunAsync(string file, params string[] arguments)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments) info.ArgumentList.Add(argument);
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"{file} {string.Join(' ', arguments)} exited with {process.ExitCode}: {await output}{await error}");
        return await output;
    }

    public static bool IsRoot => Environment.UserName == "root";
}

/// <summary>
/// A PostgreSQL server of the test's own, in a temporary directory on a free loopback port, made as <c>.ci/services.sh</c>
/// makes the shared one (as the postgres user when the tests run as root), but with its defaults: commits reach the disk.
/// </summary>
public sealed class PrivatePostgres : IAsyncDisposable
{
    private readonly string _dir;
    private readonly string _bin;

    private PrivatePostgres(string dir, string bin, int port)
    {
        _dir = dir;
        _bin = bin;
        Port = port;
    }

    public int Port { get; }
    public string ConnectionString => $"Host=127.0.0.1;Port={Port};Username=seedance;Database=postgres";
    private string Data => Path.Combine(_dir, "data");

    public static async Task<PrivatePostgres> StartAsync()
    {
        var bin = Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql").Select(d => Path.Combine(d, "bin"))
                .Where(d => File.Exists(Path.Combine(d, "initdb"))).OrderBy(d => Version.Parse(Path.GetFileName(Path.GetDirectoryName(d)!) + ".0")).LastOrDefault()
            : null;
        if (bin is null) throw new InvalidOperationException("PostgreSQL is not installed: run the tests with ./test, which installs it (.ci/services.sh)");
        var dir = Path.Combine(Path.GetTempPath(), "seedance-pg-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        if (Commands.IsRoot) await Commands.RunAsync("chown", "postgres", dir);
        var postgres = new PrivatePostgres(dir, bin, ServerProcess.FreePort());
        await postgres.AsPostgresAsync("initdb", "-D", postgres.Data, "-U", "seedance", "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8");
        await postgres.StartAgainAsync();
        return postgres;
    }

    /// <summary>Starts the server (again), and returns once it accepts connections.</summary>
    public Task StartAgainAsync() => AsPostgresAsync("pg_ctl", "-D", Data, "-l", Path.Combine(_dir, "log"), "-w", "start",
        "-o", $"-p {Port} -k {_dir} -c listen_addresses=127.0.0.1 -c max_connections=200");

    /// <summary>Stops the server as a crash would (<c>-m immediate</c>: connections cut, no checkpoint; it recovers from its log at the next start).</summary>
    public Task StopAsync() => AsPostgresAsync("pg_ctl", "-D", Data, "-m", "immediate", "-w", "stop");

    private Task<string> AsPostgresAsync(string tool, params string[] arguments) => Commands.IsRoot
        ? Commands.RunAsync("runuser", ["-u", "postgres", "--", Path.Combine(_bin, tool), .. arguments])
        : Commands.RunAsync(Path.Combine(_bin, tool), arguments);

    public async ValueTask DisposeAsync()
    {
        try { await StopAsync(); } catch (InvalidOperationException) { } // stopped already
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

/// <summary>A Redis server of the test's own on a free loopback port, which the test may kill and start again on the same port.</summary>
public sealed class PrivateRedis : IAsyncDisposable
{
    private Process? _process;

    private PrivateRedis(int port) => Port = port;

    public int Port { get; }
    public string Configuration => $"127.0.0.1:{Port}";

    public static async Task<PrivateRedis> StartAsync()
    {
        var redis = new PrivateRedis(ServerProcess.FreePort());
        await redis.StartAgainAsync();
        return redis;
    }

    /// <summary>Starts redis-server (again) in the foreground of a child process, and returns once it answers PING.</summary>
    public async Task StartAgainAsync()
    {
        var info = new ProcessStartInfo("redis-server") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { "--bind", "127.0.0.1", "--port", Port.ToString(), "--save", "", "--appendonly", "no" }) info.ArgumentList.Add(argument);
        _process = Process.Start(info) ?? throw new InvalidOperationException("redis-server did not start: run the tests with ./test, which installs it");
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        for (var i = 0; i < 200; i++)
        {
            try
            {
                using var client = new System.Net.Sockets.TcpClient();
                await client.ConnectAsync("127.0.0.1", Port);
                await using var stream = client.GetStream();
                await stream.WriteAsync("PING\r\n"u8.ToArray());
                var buffer = new byte[16];
                if (await stream.ReadAsync(buffer) > 0 && System.Text.Encoding.ASCII.GetString(buffer).StartsWith("+PONG")) return;
            }
            catch (Exception e) when (e is System.Net.Sockets.SocketException or IOException) { }
            await Task.Delay(50);
        }
        throw new InvalidOperationException($"redis-server did not answer on port {Port} within 10 s");
    }

    /// <summary>Kills the server (SIGKILL): its clients' connections break at once.</summary>
    public async Task KillAsync()
    {
        if (_process is null) return;
        _process.Kill();
        await _process.WaitForExitAsync();
        _process.Dispose();
        _process = null;
    }

    public async ValueTask DisposeAsync() => await KillAsync();
}
