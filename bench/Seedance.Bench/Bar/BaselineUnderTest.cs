using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Seedance.Bench.Bar;

/// <summary>
/// The bare ASP.NET Core app of <c>bench/Seedance.Bench.Baseline</c> as a process of its own, started like the
/// server (Release, <c>dotnet App.dll</c>, a fresh directory, a free loopback port), so both meet the same load.
/// </summary>
public sealed class BaselineUnderTest : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _dir;

    private BaselineUnderTest(Process process, string baseUrl, string dir)
    {
        _process = process;
        BaseUrl = baseUrl;
        _dir = dir;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public string BaseUrl { get; }
    public int ProcessId => _process.Id;

    /// <summary>Starts the app accepting <paramref name="apiKey"/> and answering polls with <paramref name="taskBody"/>.</summary>
    public static async Task<BaselineUnderTest> StartAsync(string dll, string apiKey, byte[] taskBody, CancellationToken ct)
    {
        if (!File.Exists(dll)) throw new FileNotFoundException("The baseline app build is missing; build it with: dotnet build -c Release bench/Seedance.Bench.Baseline", dll);
        var dir = Path.Combine(Path.GetTempPath(), "seedance-baseline-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        var bodyFile = Path.Combine(dir, "task.json");
        await File.WriteAllBytesAsync(bodyFile, taskBody, ct);
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var baseUrl = $"http://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}";
        listener.Stop();

        var info = ServerUnderTest.Dotnet(dll);
        info.ArgumentList.Add("--urls");
        info.ArgumentList.Add(baseUrl);
        info.Environment["BASELINE_KEY"] = apiKey;
        info.Environment["BASELINE_BODY_FILE"] = bodyFile;
        info.Environment["BASELINE_DATA_DIR"] = Path.Combine(dir, "data");
        var baseline = new BaselineUnderTest(Process.Start(info)!, baseUrl, dir);
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri(baseUrl), Timeout = TimeSpan.FromSeconds(5) };
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (true)
            {
                if (baseline._process.HasExited) throw new InvalidOperationException($"The baseline app exited with {baseline._process.ExitCode}");
                try
                {
                    if ((await http.GetAsync("/healthz", ct)).IsSuccessStatusCode) return baseline;
                }
                catch (HttpRequestException) { }
                if (DateTime.UtcNow > deadline) throw new TimeoutException("The baseline app was not ready after 60 s");
                await Task.Delay(100, ct);
            }
        }
        catch
        {
            await baseline.DisposeAsync();
            throw;
        }
    }

    public long? RssBytes => ProcessMemory.Read(_process.Id, "VmRSS:");
    public long? PeakRssBytes => ProcessMemory.Read(_process.Id, "VmHWM:");
    public bool ResetPeakRss() => ProcessMemory.ResetPeak(_process.Id);

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
        _process.Dispose();
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }
}

/// <summary>A process's memory as Linux reports it in <c>/proc/{pid}/status</c>.</summary>
public static class ProcessMemory
{
    /// <summary>A field of the status file (<c>VmRSS:</c>, <c>VmHWM:</c>) in bytes, or null off Linux.</summary>
    public static long? Read(int pid, string field)
    {
        var status = $"/proc/{pid}/status";
        if (!File.Exists(status)) return null;
        var line = File.ReadLines(status).FirstOrDefault(l => l.StartsWith(field, StringComparison.Ordinal));
        return line is null ? null : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
    }

    /// <summary>Starts the peak (<c>VmHWM</c>) afresh at the current RSS; false off Linux.</summary>
    public static bool ResetPeak(int pid)
    {
        var clearRefs = $"/proc/{pid}/clear_refs";
        if (!File.Exists(clearRefs)) return false;
        File.WriteAllText(clearRefs, "5");
        return true;
    }
}
