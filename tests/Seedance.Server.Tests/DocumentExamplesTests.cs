using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Seedance.Server.Tests.Support;

namespace Seedance.Server.Tests;

/// <summary>
/// The server started the README's way (<c>./run</c>), and the API document's examples run against it,
/// copied verbatim into <c>examples/</c> and changed at run time only in base URL, key and sleep interval.
/// <c>./run</c> starts on its embedded defaults (SQLite, local files) whatever the pass, so these run in the SQLite pass.
/// </summary>
[TakesAbout(16)]
public sealed class DocumentExamplesTests(DocumentExamplesTests.ReadmeServer server) : IClassFixture<DocumentExamplesTests.ReadmeServer>
{
    private const string DocumentBase = "https://api.seedance2.movie";
    private const string KeyPlaceholder = "<your_api_key>";

    public sealed class ReadmeServer : IAsyncLifetime
    {
        public const string AdminToken = "readme-admin-token-0123456789";
        public ServerProcess Process { get; private set; } = null!;
        public string DataDir { get; } = TempDir.Create();

        public async Task InitializeAsync() =>
            Process = await ServerProcess.StartAsync(Path.Combine(RepositoryRoot.Path, "run"),
                new Dictionary<string, string>
                {
                    ["Seedance__DataDir"] = DataDir, ["Seedance__AdminToken"] = AdminToken, ["Seedance__Sandbox__QueueSeconds"] = "0.5",
                },
                RepositoryRoot.Path);

        public async Task DisposeAsync()
        {
            await Process.DisposeAsync();
            TempDir.Delete(DataDir);
        }

        public async Task<string> CreateKeyAsync()
        {
            using var admin = new HttpClient { BaseAddress = new Uri(Process.BaseUrl) };
            admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AdminToken);
            var response = await admin.PostAsJsonAsync("/admin/v1/keys", new { name = "examples", credits = 1000 });
            response.EnsureSuccessStatusCode();
            return (await response.Content.ReadFromJsonAsync<JsonObject>())!["result"]!["api_key"]!.GetValue<string>();
        }
    }

    [SqlitePassFact]
    public async Task ThePythonImageToVideoExampleRunsToAVideoUrl()
    {
        var workDir = TempDir.Create();
        await File.WriteAllBytesAsync(Path.Combine(workDir, "character.png"), await Media.PngAsync("orange", 800, 600));
        var script = Example("image_to_video.py", await server.CreateKeyAsync())
            .Replace("def poll_task(task_id, interval=5, timeout=600):", "def poll_task(task_id, interval=1, timeout=600):");

        var output = await RunAsync("python3", script, ".py", workDir);

        Assert.Contains("Uploaded: api/uploads/", output);
        Assert.Contains("Task submitted: ", output);
        await AssertPlayableVideo(output);
        TempDir.Delete(workDir);
    }

    [SqlitePassFact]
    public async Task ThePythonTextToVideoExampleRunsToAVideoUrl()
    {
        var script = Example("text_to_video.py", await server.CreateKeyAsync()).Replace("time.sleep(8)", "time.sleep(1)");

        var output = await RunAsync("python3", script, ".py", TempDir.Create());

        Assert.Contains("Task submitted: ", output);
        var (analysis, _) = await AssertPlayableVideo(output);
        Assert.Equal(1680, analysis.PrimaryVideoStream!.Width);
        Assert.NotNull(analysis.PrimaryAudioStream);
    }

    [SqlitePassFact]
    public async Task TheCurlFullFlowExampleWorksStepByStep()
    {
        var key = await server.CreateKeyAsync();
        var workDir = TempDir.Create();
        await File.WriteAllBytesAsync(Path.Combine(workDir, "scene.png"), await Media.PngAsync("green", 640, 480));
        var steps = Regex.Split(Example("full_flow_curl.sh", key), @"^# Step \d: .*$", RegexOptions.Multiline)
            .Where(s => s.Contains("curl")).Select(s => s.Trim() + " -sS --fail-with-body").ToArray();
        Assert.Equal(4, steps.Length);

        var presign = JsonNode.Parse(await RunAsync("bash", steps[0], ".sh", workDir))!["result"]!;
        await RunAsync("bash", steps[1].Replace("<presigned_url>", presign["presigned_url"]!.GetValue<string>()), ".sh", workDir);
        var submitted = JsonNode.Parse(await RunAsync("bash", steps[2].Replace("<file_path>", presign["file_path"]!.GetValue<string>()), ".sh", workDir))!;
        Assert.Equal("200", submitted["code"]!.GetValue<string>());
        Assert.Equal(14.4m, submitted["result"]!["credit_cost"]!.GetValue<decimal>());
        var query = steps[3].Replace("<task_id>", submitted["result"]!["task_id"]!.GetValue<string>());

        JsonNode task;
        var deadline = DateTime.UtcNow.AddMinutes(2);
        do
        {
            await Task.Delay(500);
            task = JsonNode.Parse(await RunAsync("bash", query, ".sh", workDir))!["result"]!;
        } while (task["status"]!.GetValue<string>() is "pending" or "queued" or "processing" && DateTime.UtcNow < deadline);

        Assert.Equal("completed", task["status"]!.GetValue<string>());
        var (analysis, _) = await Media.DownloadAndProbeAsync(task["video_url"]!.GetValue<string>());
        Assert.Equal(8, Math.Round(analysis.Duration.TotalSeconds));
        TempDir.Delete(workDir);
    }

    private string Example(string name, string key) =>
        File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "examples", name))
            .Replace(DocumentBase, server.Process.BaseUrl)
            .Replace(KeyPlaceholder, key);

    private static async Task<(FFMpegCore.IMediaAnalysis, string)> AssertPlayableVideo(string output)
    {
        var match = Regex.Match(output, @"^Video URL: (\S+)$", RegexOptions.Multiline);
        Assert.True(match.Success, output);
        var probe = await Media.DownloadAndProbeAsync(match.Groups[1].Value);
        Assert.Equal("h264", probe.Analysis.PrimaryVideoStream!.CodecName);
        return probe;
    }

    private static async Task<string> RunAsync(string interpreter, string script, string extension, string workDir)
    {
        var path = Path.Combine(workDir, "example" + extension);
        await File.WriteAllTextAsync(path, script);
        var info = new ProcessStartInfo(interpreter, [path])
        {
            WorkingDirectory = workDir, RedirectStandardOutput = true, RedirectStandardError = true,
        };
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await process.WaitForExitAsync(timeout.Token);
        Assert.True(process.ExitCode == 0, $"{interpreter} exited {process.ExitCode}\n{await stdout}\n{await stderr}");
        return await stdout;
    }
}
