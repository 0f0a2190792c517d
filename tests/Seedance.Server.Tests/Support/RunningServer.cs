using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.Extensions.Logging;
using Seedance.Server.Data;
using Seedance.Server.Infrastructure;

namespace Seedance.Server.Tests.Support;

/// <summary>
/// The real server, in this process, listening on a loopback port over HTTP, with its own data
/// directory (real local files, the sandbox provider with real ffmpeg) and its own database: a real
/// SQLite file there, or a fresh PostgreSQL database (<see cref="TestDatabase"/>).
/// </summary>
public sealed class RunningServer : IServerNode
{
    public const string AdminToken = "test-admin-token-0123456789";

    private readonly CapturedLog _log;

    private RunningServer(WebApplication app, string dataDir, string baseUrl, CapturedLog log)
    {
        App = app;
        DataDir = dataDir;
        BaseUrl = baseUrl;
        _log = log;
        Http = new HttpClient(SecretScan.Answers()) { BaseAddress = new Uri(baseUrl), Timeout = TimeSpan.FromSeconds(60) };
        Admin = new HttpClient(SecretScan.Answers()) { BaseAddress = new Uri(baseUrl), Timeout = TimeSpan.FromSeconds(60) };
        Admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AdminToken);
    }

    public WebApplication App { get; }
    public string DataDir { get; }
    public string BaseUrl { get; }
    /// <summary>A client with no credentials.</summary>
    public HttpClient Http { get; }
    /// <summary>A client carrying the admin token.</summary>
    public HttpClient Admin { get; }
    public IServiceProvider Services => App.Services;
    /// <summary>The bucket of the server's files when it stores them in S3 (<c>SEEDANCE_TEST_STORAGE=s3</c> or its settings); null for local files.</summary>
    public string? Bucket => App.Configuration["Seedance:Storage:Provider"] == "s3" ? App.Configuration["Seedance:Storage:Bucket"] : null;
    /// <summary>Where links to the server's stored files begin: its own <c>/files/</c> route, or its bucket.</summary>
    public string StoreUrlPrefix => Bucket is null ? BaseUrl + "/files/" : $"{TestS3.ServiceUrl}/{Bucket}/";

    /// <summary>The store paths of the files the server keeps under <paramref name="prefix"/> (e.g. <c>results/{task_id}/</c>), wherever it keeps them.</summary>
    public async Task<List<string>> StoredFilesAsync(string prefix)
    {
        if (Bucket is not null) return await TestS3.KeysAsync(Bucket, prefix);
        var root = Path.Combine(DataDir, "files");
        var dir = Path.Combine(root, prefix);
        return Directory.Exists(dir) ? Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(root, f)).ToList() : [];
    }

    /// <summary>Every line the server logged so far, at the levels an operator's log holds (<see cref="CapturedLog"/>).</summary>
    public IReadOnlyCollection<string> LogLines => _log.Lines;

    /// <summary>Leaves the data directory (and its database) in place on dispose, so a next server can start on the same data.</summary>
    public bool KeepDataDir { get; set; }

    /// <summary>
    /// Starts a server. <paramref name="settings"/> are <c>Seedance:...</c> keys (or any configuration key) and values; the
    /// server runs on the test database of <paramref name="dataDir"/> unless they choose a database provider themselves.
    /// </summary>
    /// <param name="services">Replaces services of the server (a fake clock).</param>
    public static async Task<RunningServer> StartAsync(Dictionary<string, string>? settings = null, string? dataDir = null, Action<IServiceCollection>? services = null)
    {
        dataDir ??= TempDir.Create();
        var all = new Dictionary<string, string>
        {
            ["Seedance:DataDir"] = dataDir,
            ["Seedance:AdminToken"] = AdminToken,
            ["Seedance:Sandbox:QueueSeconds"] = "0.2",
            ["Seedance:Tasks:DispatchIntervalSeconds"] = "0.05",
            ["Seedance:Tasks:PollIntervalSeconds"] = "0.1",
            // A poster is one more ffmpeg for every completed task, and most tests never look at one: the servers of the
            // tests that do (ServerFixture, SandboxServer, the S3 and Ark result tests, the SDK's SdkServer) make them, as a server does by default.
            ["Seedance:Tasks:Thumbnails"] = "false",
            ["Logging:LogLevel:Default"] = "Warning",
        };
        foreach (var (k, v) in CapturedLog.Settings) all[k] = v;
        if (TestS3.IsStorage && settings?.ContainsKey("Seedance:Storage:Provider") != true)
            foreach (var (k, v) in await TestS3.SettingsAsync(dataDir)) all[k] = v;
        if (settings?.ContainsKey("Seedance:Database:Provider") != true)
            foreach (var (k, v) in await TestDatabase.SettingsAsync(dataDir)) all[k] = v;
        foreach (var (k, v) in settings ?? []) all[k] = v;
        var args = new List<string> { "--urls=http://127.0.0.1:0" };
        args.AddRange(all.Select(kv => $"--{kv.Key}={kv.Value}"));

        // Every line it logs, scanned for secrets when it stops (SecretScan).
        var log = new CapturedLog();
        var app = SeedanceApp.Create(args.ToArray(), s =>
        {
            s.AddSingleton<ILoggerProvider>(log);
            services?.Invoke(s);
        });
        await app.PrepareAsync();
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new RunningServer(app, dataDir, address, log);
    }

    /// <summary>Creates a key through the admin API and returns a client that carries it.</summary>
    public Task<ApiClient> CreateKeyAsync(decimal credits = 1000m, int? maxConcurrent = null, int? maxPending = null, int? rateLimit = null, string name = "test") =>
        CreateKeyAsync(Admin, BaseUrl, credits, maxConcurrent, maxPending, rateLimit, name);

    /// <summary>Creates a key through the admin API that <paramref name="admin"/> reaches; the client talks to <paramref name="baseUrl"/>.</summary>
    internal static async Task<ApiClient> CreateKeyAsync(HttpClient admin, string baseUrl, decimal credits, int? maxConcurrent, int? maxPending, int? rateLimit, string name)
    {
        var response = await admin.PostAsJsonAsync("/admin/v1/keys", new Dictionary<string, object?>
        {
            ["name"] = name, ["credits"] = credits, ["max_concurrent"] = maxConcurrent, ["max_pending"] = maxPending,
            ["rate_limit_per_second"] = rateLimit ?? 1000,
        });
        var body = await response.Content.ReadFromJsonAsync<JsonObject>();
        Assert.True(response.IsSuccessStatusCode, body?.ToJsonString());
        var result = body!["result"]!;
        return new ApiClient(baseUrl, result["api_key"]!.GetValue<string>(), result["key"]!["key_id"]!.GetValue<long>());
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        Admin.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
        if (!KeepDataDir) TempDir.Delete(DataDir);
        SecretScan.AssertNoneInLog(_log.Lines, $"The server at {BaseUrl}");
    }
}

/// <summary>An API user's client: one key, the documented endpoints, envelopes parsed.</summary>
public sealed class ApiClient : IDisposable
{
    public ApiClient(string baseUrl, string apiKey, long keyId)
    {
        ApiKey = apiKey;
        KeyId = keyId;
        Http = new HttpClient(SecretScan.Answers()) { BaseAddress = new Uri(baseUrl), Timeout = TimeSpan.FromSeconds(120) };
        Http.DefaultRequestHeaders.Add("X-API-Key", apiKey);
    }

    public string ApiKey { get; }
    public long KeyId { get; }
    public HttpClient Http { get; }

    public async Task<ApiResponse> SubmitAsync(object body, string? idempotencyKey = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/video/task") { Content = JsonContent.Create(body) };
        if (idempotencyKey is not null) request.Headers.Add("Idempotency-Key", idempotencyKey);
        return await ApiResponse.From(await Http.SendAsync(request));
    }

    /// <summary>Submits a text-to-video task with the given prompt (and optional extra fields); asserts success, returns the task id.</summary>
    public async Task<string> SubmitTextAsync(string prompt, int duration = 4, string resolution = "480p", Dictionary<string, object>? extra = null)
    {
        var body = new Dictionary<string, object>
        {
            ["content"] = new[] { new { type = "text", text = prompt } }, ["duration"] = duration, ["resolution"] = resolution,
        };
        foreach (var (k, v) in extra ?? []) body[k] = v;
        var response = await SubmitAsync(body);
        response.AssertOk();
        return response.Result!["task_id"]!.GetValue<string>();
    }

    public async Task<ApiResponse> GetTaskAsync(string taskId) => await ApiResponse.From(await Http.GetAsync($"/api/v1/video/task/{taskId}"));

    public async Task<ApiResponse> CancelAsync(string taskId) => await ApiResponse.From(await Http.PostAsync($"/api/v1/video/task/{taskId}/cancel", null));

    public async Task<ApiResponse> BalanceAsync() => await ApiResponse.From(await Http.GetAsync("/api/v1/video/balance"));

    public async Task<ApiResponse> ListAsync(string query = "") => await ApiResponse.From(await Http.GetAsync($"/api/v1/video/tasks{query}"));

    /// <summary>Polls until the task's status is one of <paramref name="statuses"/> (default: any terminal one).</summary>
    public async Task<JsonNode> WaitForAsync(string taskId, params string[] statuses)
    {
        if (statuses.Length == 0) statuses = ["completed", "failed", "cancelled", "expired"];
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (true)
        {
            var response = await GetTaskAsync(taskId);
            response.AssertOk();
            var status = response.Result!["status"]!.GetValue<string>();
            if (statuses.Contains(status)) return response.Result!;
            if (DateTime.UtcNow > deadline) Assert.Fail($"Task {taskId} still {status} after 90 s, waiting for {string.Join("/", statuses)}");
            await Task.Delay(100);
        }
    }

    /// <summary>Presigns and uploads a file; returns its file_path.</summary>
    public async Task<string> UploadAsync(string filename, string contentType, byte[] bytes)
    {
        var presign = await ApiResponse.From(await Http.PostAsync(
            $"/api/v1/video/upload/presign?filename={Uri.EscapeDataString(filename)}&content_type={Uri.EscapeDataString(contentType)}", null));
        presign.AssertOk();
        using var put = new HttpClient();
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        var response = await put.PutAsync(presign.Result!["presigned_url"]!.GetValue<string>(), content);
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        return presign.Result!["file_path"]!.GetValue<string>();
    }

    public void Dispose() => Http.Dispose();
}

/// <summary>A response of the API: HTTP status plus the parsed envelope.</summary>
public sealed record ApiResponse(int Status, string Code, string Message, JsonNode? Result, HttpResponseMessage Raw)
{
    public static async Task<ApiResponse> From(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        JsonObject body;
        try { body = JsonNode.Parse(text)!.AsObject(); }
        catch (JsonException) { throw new Xunit.Sdk.XunitException($"Not an envelope ({(int)response.StatusCode}): {text}"); }
        Assert.True(body.ContainsKey("code") && body.ContainsKey("message") && body.ContainsKey("result"), $"Not an envelope: {text}");
        return new ApiResponse((int)response.StatusCode, body["code"]!.GetValue<string>(), body["message"]!.GetValue<string>(), body["result"], response);
    }

    public void AssertOk()
    {
        Assert.True(Status == 200 && Code == "200", $"Expected success, got {Status} {Code}: {Message}");
        Assert.Equal("Success", Message);
    }

    public void AssertError(int status, string code, string? messageContains = null)
    {
        Assert.True(Status == status && Code == code, $"Expected {status} {code}, got {Status} {Code}: {Message}");
        Assert.Null(Result);
        if (messageContains is not null) Assert.Contains(messageContains, Message);
    }
}

public static class TempDir
{
    public static string Create()
    {
        var dir = Path.Combine(Path.GetTempPath(), "seedance-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }

    /// <summary>Deletes the directory and drops the PostgreSQL database that belonged to it, if any.</summary>
    public static void Delete(string dir)
    {
        TestDatabase.Forget(dir);
        try { Directory.Delete(dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
