using System.Net.Http.Json;
using System.Net;
using System.Text.Json.Nodes;
using Seedance.Server.Data;
using Seedance.Server.Tests.Support;

namespace Seedance.Server.Tests;

/// <summary>Every answer is the envelope: unknown routes, wrong methods, bad keys, paging, rate limits; and the operational endpoints.</summary>
public sealed class ErrorEnvelopeTests(UnthrottledFixture fixture) : IClassFixture<UnthrottledFixture>
{
    private RunningServer Server => fixture.Server;

    private static readonly (HttpMethod Method, string Path)[] DocumentedCalls =
    [
        (HttpMethod.Get, "/api/v1/video/balance"),
        (HttpMethod.Get, "/api/v1/video/tasks"),
        (HttpMethod.Get, "/api/v1/video/task/0192f0c0a1b2c3d4e5f60718293a4b5c"),
        (HttpMethod.Post, "/api/v1/video/task/0192f0c0a1b2c3d4e5f60718293a4b5c/cancel"),
        (HttpMethod.Post, "/api/v1/video/task"),
        (HttpMethod.Post, "/api/v1/video/upload/presign?filename=scene.png&content_type=image/png"),
    ];

    private static async Task<ApiResponse> SendAsync(HttpClient http, HttpMethod method, string path, Action<HttpRequestMessage>? configure = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (method == HttpMethod.Post && path.EndsWith("/task"))
            request.Content = JsonContent.Create(new { content = new[] { new { type = "text", text = ServerFixture.Stalled } } });
        configure?.Invoke(request);
        var response = await http.SendAsync(request);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        return await ApiResponse.From(response);
    }

    [Theory]
    [InlineData("GET", "/")]
    [InlineData("GET", "/nope")]
    [InlineData("GET", "/api/v1/video/nope")]
    [InlineData("POST", "/api/v1/video/task/0192f0c0a1b2c3d4e5f60718293a4b5c/restart")]
    [InlineData("GET", "/api/v2/video/balance")]
    public async Task AnUnknownRouteAnswersA404Envelope(string method, string path)
    {
        using var client = await Server.CreateKeyAsync();
        var response = await SendAsync(client.Http, new HttpMethod(method), path);
        response.AssertError(404, "NOT_FOUND", path);
    }

    [Theory]
    [InlineData("DELETE", "/api/v1/video/balance")]
    [InlineData("POST", "/api/v1/video/balance")]
    [InlineData("GET", "/api/v1/video/task")]
    [InlineData("PUT", "/api/v1/video/tasks")]
    [InlineData("GET", "/api/v1/video/upload/presign")]
    [InlineData("PUT", "/api/v1/video/task/0192f0c0a1b2c3d4e5f60718293a4b5c")]
    public async Task AWrongMethodAnswersA405Envelope(string method, string path)
    {
        using var client = await Server.CreateKeyAsync();
        var response = await SendAsync(client.Http, new HttpMethod(method), path);
        response.AssertError(405, "METHOD_NOT_ALLOWED", $"{method} {path}");
    }

    [Fact]
    public async Task EveryDocumentedCallWithoutAnApiKeyIsRefusedAsInvalidApiKey()
    {
        foreach (var (method, path) in DocumentedCalls)
            (await SendAsync(Server.Http, method, path)).AssertError(401, "INVALID_API_KEY", "Invalid API key");
    }

    [Theory]
    [InlineData("sk-sd2-000000000000000000000000000000000000000000000000")]
    [InlineData("not-a-key")]
    [InlineData(" ")]
    public async Task EveryDocumentedCallWithAWrongApiKeyIsRefusedAsInvalidApiKey(string key)
    {
        foreach (var (method, path) in DocumentedCalls)
            (await SendAsync(Server.Http, method, path, r => r.Headers.TryAddWithoutValidation("X-API-Key", key)))
                .AssertError(401, "INVALID_API_KEY", "Invalid API key");
    }

    [Fact]
    public async Task AKeyPresentedInTheWrongHeaderIsRefused()
    {
        using var client = await Server.CreateKeyAsync();
        var asBearer = await SendAsync(Server.Http, HttpMethod.Get, "/api/v1/video/balance",
            r => r.Headers.Authorization = new("Bearer", client.ApiKey));
        asBearer.AssertError(401, "INVALID_API_KEY");
        var twice = await SendAsync(Server.Http, HttpMethod.Get, "/api/v1/video/balance",
            r => r.Headers.Add("X-API-Key", [client.ApiKey, client.ApiKey]));
        twice.AssertError(401, "INVALID_API_KEY");
    }

    [Fact]
    public async Task TheAdminApiRefusesAMissingOrWrongTokenWithAnEnvelope()
    {
        (await SendAsync(Server.Http, HttpMethod.Get, "/admin/v1/keys")).AssertError(401, "INVALID_ADMIN_TOKEN");
        (await SendAsync(Server.Http, HttpMethod.Get, "/admin/v1/keys", r => r.Headers.Authorization = new("Bearer", "wrong-token-0123456789")))
            .AssertError(401, "INVALID_ADMIN_TOKEN");
        using var client = await Server.CreateKeyAsync();
        (await SendAsync(Server.Http, HttpMethod.Get, "/admin/v1/keys", r => r.Headers.Authorization = new("Bearer", client.ApiKey)))
            .AssertError(401, "INVALID_ADMIN_TOKEN");
    }

    [Theory]
    [InlineData("{\"name\":", "application/json", 400)]
    [InlineData("{\"name\":\"x\",\"credits\":\"lots\"}", "application/json", 400)]
    [InlineData("name=x", "application/x-www-form-urlencoded", 415)]
    public async Task TheAdminApiAnswersABadBodyWithAnEnvelope(string body, string contentType, int status)
    {
        var content = new StringContent(body, System.Text.Encoding.UTF8, contentType);
        var response = await Server.Admin.PostAsync("/admin/v1/keys", content);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        (await ApiResponse.From(response)).AssertError(status, "INVALID_PARAMETER");
    }

    [Fact]
    public async Task ADisabledKeyStopsWorkingWithinOneSecondAndWorksAgainWhenEnabled()
    {
        using var client = await Server.CreateKeyAsync();
        (await client.BalanceAsync()).AssertOk();

        var disabled = await Server.Admin.PatchAsJsonAsync($"/admin/v1/keys/{client.KeyId}", new { enabled = false });
        Assert.Equal(HttpStatusCode.OK, disabled.StatusCode);
        await Task.Delay(TimeSpan.FromSeconds(1.1));
        (await client.BalanceAsync()).AssertError(401, "INVALID_API_KEY");
        (await ApiResponse.From(await client.Http.PostAsJsonAsync("/api/v1/video/task",
            new { content = new[] { new { type = "text", text = ServerFixture.Stalled } } }))).AssertError(401, "INVALID_API_KEY");

        var enabled = await Server.Admin.PatchAsJsonAsync($"/admin/v1/keys/{client.KeyId}", new { enabled = true });
        Assert.Equal(HttpStatusCode.OK, enabled.StatusCode);
        await Task.Delay(TimeSpan.FromSeconds(1.1));
        (await client.BalanceAsync()).AssertOk();
    }

    [Theory]
    [InlineData("?page_size=0", "page_size must be 1-100")]
    [InlineData("?page_size=101", "page_size must be 1-100")]
    [InlineData("?page_size=-1", "page_size must be 1-100")]
    [InlineData("?page_size=ten", "page_size must be 1-100")]
    [InlineData("?page=0", "page must be an integer of 1 or more")]
    [InlineData("?page=1.5", "page must be an integer of 1 or more")]
    [InlineData("?status=done", "status must be one of pending, queued, processing, completed, failed, cancelled, expired")]
    [InlineData("?status=", "status must be one of")]
    [InlineData("?status=PENDING", "status must be one of")]
    public async Task ListParametersOutsideTheirRangeAreRefused(string query, string message)
    {
        using var client = await Server.CreateKeyAsync();
        (await client.ListAsync(query)).AssertError(400, "INVALID_PARAMETER", message);
    }

    [Fact]
    public async Task TheListPagesNewestFirstWithTotalsAndFiltersByStatus()
    {
        using var client = await Server.CreateKeyAsync(maxConcurrent: 1);
        var ids = new List<string>();
        for (var i = 0; i < 5; i++) ids.Add(await client.SubmitTextAsync(ServerFixture.Stalled));
        await client.WaitForAsync(ids[0], "queued", "processing");
        (await client.CancelAsync(ids[2])).AssertOk();
        var newestFirst = Enumerable.Reverse(ids).ToList();

        var seen = new List<string>();
        for (var page = 1; page <= 3; page++)
        {
            var response = await client.ListAsync($"?page={page}&page_size=2");
            response.AssertOk();
            Assert.Equal(5, response.Result!["total"]!.GetValue<int>());
            Assert.Equal(page, response.Result!["page"]!.GetValue<int>());
            Assert.Equal(2, response.Result!["page_size"]!.GetValue<int>());
            seen.AddRange(response.Result!["data"]!.AsArray().Select(t => t!["task_id"]!.GetValue<string>()));
        }
        Assert.Equal(newestFirst, seen);

        var beyond = await client.ListAsync("?page=4&page_size=2");
        Assert.Empty(beyond.Result!["data"]!.AsArray());
        Assert.Equal(5, beyond.Result!["total"]!.GetValue<int>());

        var defaults = await client.ListAsync();
        Assert.Equal(1, defaults.Result!["page"]!.GetValue<int>());
        Assert.Equal(20, defaults.Result!["page_size"]!.GetValue<int>());
        Assert.Equal(newestFirst, defaults.Result!["data"]!.AsArray().Select(t => t!["task_id"]!.GetValue<string>()));

        var pending = await client.ListAsync("?status=pending");
        Assert.Equal(3, pending.Result!["total"]!.GetValue<int>());
        Assert.Equal([ids[4], ids[3], ids[1]], pending.Result!["data"]!.AsArray().Select(t => t!["task_id"]!.GetValue<string>()));

        var cancelled = await client.ListAsync("?status=cancelled");
        Assert.Equal(1, cancelled.Result!["total"]!.GetValue<int>());
        Assert.Equal("cancelled", Assert.Single(cancelled.Result!["data"]!.AsArray())!["status"]!.GetValue<string>());

        var completed = await client.ListAsync("?status=completed&page_size=100");
        Assert.Equal(0, completed.Result!["total"]!.GetValue<int>());
        Assert.Empty(completed.Result!["data"]!.AsArray());
    }

    [Fact]
    public async Task AnUnknownTaskIdAnswersTaskNotFound()
    {
        using var client = await Server.CreateKeyAsync();
        (await client.GetTaskAsync("0192f0c0a1b2c3d4e5f60718293a4b5c")).AssertError(404, "TASK_NOT_FOUND");
        (await client.GetTaskAsync("not-a-task-id")).AssertError(404, "TASK_NOT_FOUND");
        (await client.CancelAsync("0192f0c0a1b2c3d4e5f60718293a4b5c")).AssertError(404, "TASK_NOT_FOUND");
    }

    [Fact]
    public async Task CancellingAnAlreadyCancelledTaskIsNotAllowed()
    {
        using var client = await Server.CreateKeyAsync(maxConcurrent: 1);
        await client.SubmitTextAsync(ServerFixture.Stalled);
        var waiting = await client.SubmitTextAsync(ServerFixture.Stalled);
        (await client.CancelAsync(waiting)).AssertOk();
        (await client.CancelAsync(waiting)).AssertError(400, "TASK_CANCEL_NOT_ALLOWED", "cancelled");
    }

    [Fact]
    public async Task ATaskObjectCarriesTheDocumentedFieldsInTheirOrderThenTheAdditionsAndFormats()
    {
        using var client = await Server.CreateKeyAsync();
        var taskId = await client.SubmitTextAsync(ServerFixture.Stalled);
        Assert.Matches("^[0-9a-f]{32}$", taskId);
        var task = (await client.GetTaskAsync(taskId)).Result!.AsObject();
        string[] documented =
        [
            "task_id", "model", "status", "resolution", "ratio", "duration", "generate_audio", "seed", "video_url", "last_frame_url",
            "error_code", "error_message", "credit_cost", "created_at", "updated_at",
        ];
        string[] additions = ["thumbnail_url", "queue_position", "estimated_finish_at", "progress"];
        Assert.Equal([.. documented, .. additions], task.Select(p => p.Key));
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", task["created_at"]!.GetValue<string>());
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", task["updated_at"]!.GetValue<string>());
    }

    [Fact]
    public async Task RequestsOverAKeysRateLimitAreRefusedWithRetryAfter()
    {
        using var limited = await Server.CreateKeyAsync(rateLimit: 2);
        using var other = await Server.CreateKeyAsync();
        var responses = await Task.WhenAll(Enumerable.Range(0, 10).Select(async _ => await ApiResponse.From(await limited.Http.GetAsync("/api/v1/video/balance"))));

        Assert.All(responses, r => Assert.True(r.Status is 200 or 429, $"{r.Status} {r.Code}: {r.Message}"));
        Assert.Contains(responses, r => r.Status == 200);
        var refused = responses.Where(r => r.Status == 429).ToList();
        Assert.NotEmpty(refused);
        foreach (var response in refused)
        {
            response.AssertError(429, "RATE_LIMIT_EXCEEDED", "Rate limit exceeded");
            var retryAfter = Assert.Single(response.Raw.Headers.GetValues("Retry-After"));
            Assert.True(int.TryParse(retryAfter, out var seconds) && seconds >= 1, $"Retry-After: {retryAfter}");
        }

        // Another key has its own allowance.
        (await other.BalanceAsync()).AssertOk();
    }

    [Theory]
    [InlineData("/healthz")]
    [InlineData("/readyz")]
    public async Task HealthEndpointsAnswer200(string path)
    {
        var response = await SendAsync(Server.Http, HttpMethod.Get, path);
        response.AssertOk();
    }

    [Theory]
    [InlineData("GET", "/api/v1/video/balance")]
    [InlineData("GET", "/api/v1/video/nowhere")]
    [InlineData("POST", "/api/v1/video/task")]
    [InlineData("GET", "/healthz")]
    public async Task EveryAnswerForbidsContentSniffingNamesNoServerSoftwareAndOpensNoCrossOriginAccess(string method, string path)
    {
        using var client = await Server.CreateKeyAsync();
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        request.Headers.Add("Origin", "https://evil.example");
        using var preflight = new HttpRequestMessage(HttpMethod.Options, path);
        preflight.Headers.Add("Origin", "https://evil.example");
        preflight.Headers.Add("Access-Control-Request-Method", "POST");

        using var response = await client.Http.SendAsync(request);
        using var preflighted = await client.Http.SendAsync(preflight);

        foreach (var answer in new[] { response, preflighted })
        {
            Assert.Equal(["nosniff"], answer.Headers.GetValues("X-Content-Type-Options"));
            Assert.False(answer.Headers.Contains("Server"), $"{method} {path}: Server: {string.Join(",", answer.Headers.Server)}");
            Assert.False(answer.Headers.Contains("Access-Control-Allow-Origin"));
        }
    }

    [Fact]
    public async Task TheOpenApiDocumentDescribesTheTaskEndpoints()
    {
        var response = await Server.Http.GetAsync("/openapi/v1.json");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var document = JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
        var paths = document["paths"]!.AsObject();
        Assert.True(paths.ContainsKey("/api/v1/video/task"), string.Join(", ", paths.Select(p => p.Key)));
        Assert.NotNull(paths["/api/v1/video/task"]!["post"]);
        Assert.True(paths.ContainsKey("/api/v1/video/task/{task_id}"));
        Assert.True(paths.ContainsKey("/api/v1/video/tasks"));
        Assert.True(paths.ContainsKey("/api/v1/video/upload/presign"));
        Assert.True(paths.ContainsKey("/api/v1/video/balance"));
        Assert.DoesNotContain(paths, p => p.Key.StartsWith("/admin"));
    }
}
