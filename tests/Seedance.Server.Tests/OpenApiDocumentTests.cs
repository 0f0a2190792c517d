using System.Net;
using System.Runtime.Loader;
using System.Text.Json.Nodes;
using Microsoft.CodeAnalysis;
using Seedance.Server.Tests.Support;

namespace Seedance.Server.Tests;

/// <summary>
/// The OpenAPI documents are good enough to build on: both pass a standard validator, a client generated from the public
/// one by a real generator compiles with a typed method per operation, and they say how each route is called and refused.
/// </summary>
[TakesAbout(20)]
public sealed class OpenApiDocumentTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private RunningServer Server => fixture.Server;

    /// <summary>The main operations a customer's client calls, and the envelope each answers with.</summary>
    private static readonly Dictionary<string, string> MainOperations = new()
    {
        ["PresignUpload"] = "EnvelopeOfPresignResult", ["SubmitTask"] = "EnvelopeOfSubmitResult", ["GetTask"] = "EnvelopeOfTaskView",
        ["ListTasks"] = "EnvelopeOfTaskPage", ["CancelTask"] = "EnvelopeOfCancelResult", ["GetBalance"] = "EnvelopeOfBalance",
        ["ListModels"] = "EnvelopeOfModelList", ["QuoteTask"] = "EnvelopeOfQuote",
    };

    private async Task<string> DocumentAsync(string name)
    {
        var response = await Server.Http.GetAsync($"/openapi/{name}.json"); // no key, no token: the documents hold no secrets
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadAsStringAsync();
    }

    private static IEnumerable<(string Path, string Method, JsonObject Operation)> Operations(JsonNode document) =>
        document["paths"]!.AsObject().SelectMany(path => path.Value!.AsObject().Select(op => (path.Key, op.Key, op.Value!.AsObject())));

    [SqlitePassFact]
    public async Task BothDocumentsPassAStandardOpenApiValidator()
    {
        var (exitCode, output) = await OpenApiTools.ValidateAsync(("v1", await DocumentAsync("v1")), ("admin", await DocumentAsync("admin")));
        Assert.True(exitCode == 0, output);
        Assert.Contains("v1.json (OpenAPI 3.1", output);
        Assert.Contains("admin.json (OpenAPI 3.1", output);
    }

    [SqlitePassFact]
    public async Task TheValidatorRefusesADocumentWhoseReferencePointsNowhere()
    {
        var document = JsonNode.Parse(await DocumentAsync("v1"))!;
        document["paths"]!["/api/v1/video/balance"]!["get"]!["responses"]!["401"]!["content"]!["application/json"]!["schema"] =
            new JsonObject { ["$ref"] = "#/components/schemas/NoSuchSchema" };
        var (exitCode, output) = await OpenApiTools.ValidateAsync(("broken", document.ToJsonString()));
        Assert.True(exitCode == 1, output);
        Assert.Contains("NoSuchSchema", output);
    }

    [SqlitePassFact]
    public async Task AClientGeneratedFromThePublicDocumentCompilesWithATypedMethodPerMainOperationAndTalksToTheServer()
    {
        var code = await OpenApiTools.GenerateClientAsync(await DocumentAsync("v1"));
        var (compilation, errors, assembly) = OpenApiTools.Compile(code);
        Assert.True(errors.Count == 0, string.Join("\n", errors.Take(20)));

        var clientType = compilation.GetTypeByMetadataName($"{OpenApiTools.ClientNamespace}.{OpenApiTools.ClientClass}");
        Assert.NotNull(clientType);
        var methods = clientType.GetMembers().OfType<IMethodSymbol>().Where(m => m.DeclaredAccessibility == Accessibility.Public).ToList();
        foreach (var (operation, envelope) in MainOperations)
        {
            var method = methods.FirstOrDefault(m => m.Name == operation + "Async");
            Assert.True(method is not null, $"no {operation}Async in the generated client: {string.Join(", ", methods.Select(m => m.Name).Distinct())}");
            Assert.Equal($"System.Threading.Tasks.Task<{OpenApiTools.ClientNamespace}.{envelope}>", method.ReturnType.ToDisplayString());
        }
        // The event stream comes as the response's stream, for the customer's own server-sent event reader.
        Assert.Equal($"System.Threading.Tasks.Task<{OpenApiTools.ClientNamespace}.FileResponse>",
            methods.First(m => m.Name == "StreamTaskEventsAsync").ReturnType.ToDisplayString());
        var submit = methods.First(m => m.Name == "SubmitTaskAsync");
        Assert.Contains(submit.Parameters, p => p.Type.Name == "VideoTaskRequest");
        // A refusal reaches the customer's code typed: the envelope's code and message.
        Assert.NotNull(compilation.GetTypeByMetadataName($"{OpenApiTools.ClientNamespace}.ErrorEnvelope"));

        // The compiled client against this server: an answer read into its types, a refusal thrown with the envelope's code.
        using var key = await Server.CreateKeyAsync(credits: 25m);
        var loaded = new AssemblyLoadContext("generated client", isCollectible: true);
        try
        {
            dynamic client = Activator.CreateInstance(loaded.LoadFromStream(new MemoryStream(assembly)).GetType($"{OpenApiTools.ClientNamespace}.{OpenApiTools.ClientClass}")!,
                key.Http)!;
            var balance = await client.GetBalanceAsync();
            Assert.Equal(25m, (decimal)balance.Result.Remain_credits);
            var refusal = await Assert.ThrowsAnyAsync<Exception>(async () => await client.GetTaskAsync("0192f0c0a1b2c3d4e5f60718293a4b5c", null));
            dynamic refused = refusal;
            Assert.Equal((404, "TASK_NOT_FOUND"), ((int)refused.StatusCode, (string)refused.Result.Code));
        }
        finally { loaded.Unload(); }
    }

    [SqlitePassFact]
    public async Task EveryPublicOperationNeedsTheApiKeyAndListsTheCodesItCanBeRefusedWith()
    {
        var document = JsonNode.Parse(await DocumentAsync("v1"))!;
        var scheme = document["components"]!["securitySchemes"]!["ApiKey"]!;
        Assert.Equal(("apiKey", "header", "X-API-Key"), (scheme["type"]!.GetValue<string>(), scheme["in"]!.GetValue<string>(), scheme["name"]!.GetValue<string>()));

        var operations = Operations(document).ToList();
        Assert.All(operations, op => Assert.StartsWith("/api/v1/video/", op.Path));
        Assert.Equal(MainOperations.Keys.Order(), MainOperations.Keys.Intersect(operations.Select(op => op.Operation["operationId"]!.GetValue<string>())).Order());
        foreach (var (path, method, operation) in operations)
        {
            Assert.True(operation["security"]?.ToJsonString() == """[{"ApiKey":[]}]""", $"{method} {path}: {operation["security"]}");
            var refusals = operation["responses"]!.AsObject().Where(r => r.Key != "200").ToList();
            Assert.Contains(refusals, r => r.Key == "401" && Codes(r.Value!).Contains("INVALID_API_KEY"));
            Assert.Contains(refusals, r => r.Key == "429" && Codes(r.Value!).Contains("RATE_LIMIT_EXCEEDED"));
            Assert.Contains(refusals, r => r.Key == "500" && Codes(r.Value!).Contains("INTERNAL_ERROR"));
            foreach (var (status, response) in refusals)
            {
                var json = response!["content"]!["application/json"]!;
                Assert.Equal("#/components/schemas/ErrorEnvelope", json["schema"]!["$ref"]!.GetValue<string>());
                // Each code the answer can carry has an example of itself, at this status.
                Assert.Equal(Codes(response).Order(), json["examples"]!.AsObject().Select(e => e.Value!["value"]!["code"]!.GetValue<string>()).Order());
                Assert.All(Codes(response), code => Assert.Contains(code, response["description"]!.GetValue<string>()));
            }
        }

        string[] CodesOf(string path, string method, string status) => Codes(document["paths"]![path]![method]!["responses"]![status]!);
        Assert.Equal(["CONCURRENCY_LIMIT_REACHED", "RATE_LIMIT_EXCEEDED"], CodesOf("/api/v1/video/task", "post", "429"));
        Assert.Equal(["INSUFFICIENT_CREDIT"], CodesOf("/api/v1/video/task", "post", "402"));
        Assert.Equal(["INVALID_PARAMETER"], CodesOf("/api/v1/video/task", "post", "415"));
        Assert.Equal(["TASK_NOT_FOUND"], CodesOf("/api/v1/video/task/{task_id}", "get", "404"));
        Assert.Equal(["TASK_CANCEL_NOT_ALLOWED"], CodesOf("/api/v1/video/task/{task_id}/cancel", "post", "400"));
        Assert.Equal(["SERVICE_BUSY"], CodesOf("/api/v1/video/task/{task_id}/cancel", "post", "503"));
    }

    [SqlitePassFact]
    public async Task EachDocumentListsExactlyTheRoutesTheServerServesUnderItsPrefixWithTheirMethods()
    {
        var served = Server.Services.GetRequiredService<Microsoft.AspNetCore.Routing.EndpointDataSource>().Endpoints
            .OfType<Microsoft.AspNetCore.Routing.RouteEndpoint>()
            .SelectMany(e => (e.Metadata.GetMetadata<Microsoft.AspNetCore.Routing.HttpMethodMetadata>()?.HttpMethods ?? ["*"])
                .Select(m => (Path: System.Text.RegularExpressions.Regex.Replace("/" + e.RoutePattern.RawText!.Trim('/'), @"\{(\w+)(:[^}]*)?\}", "{$1}"),
                    Method: m.ToLowerInvariant())))
            .ToHashSet();

        foreach (var (document, prefix) in new[] { ("v1", "/api/v1/"), ("admin", "/admin/v1/") })
        {
            var listed = Operations(JsonNode.Parse(await DocumentAsync(document))!).Select(o => (o.Path, o.Method)).ToHashSet();
            var servedHere = served.Where(r => r.Path.StartsWith(prefix, StringComparison.Ordinal)).ToHashSet();
            Assert.True(listed.SetEquals(servedHere),
                $"{document}: served but not listed: {string.Join(", ", servedHere.Except(listed))}; listed but not served: {string.Join(", ", listed.Except(servedHere))}");
        }
    }

    [SqlitePassFact]
    public async Task TheDocumentedRefusalsAreTheServersAnswers()
    {
        var document = JsonNode.Parse(await DocumentAsync("v1"))!;
        JsonNode Example(string path, string method, string status, string code) =>
            document["paths"]![path]![method]!["responses"]![status]!["content"]!["application/json"]!["examples"]![code]!["value"]!;

        var noKey = await Server.Http.GetAsync("/api/v1/video/balance");
        Assert.True(JsonNode.DeepEquals(Example("/api/v1/video/balance", "get", "401", "INVALID_API_KEY"), JsonNode.Parse(await noKey.Content.ReadAsStringAsync())));

        using var client = await Server.CreateKeyAsync();
        var unknown = await client.Http.GetAsync("/api/v1/video/task/0192f0c0a1b2c3d4e5f60718293a4b5c");
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.True(JsonNode.DeepEquals(Example("/api/v1/video/task/{task_id}", "get", "404", "TASK_NOT_FOUND"), JsonNode.Parse(await unknown.Content.ReadAsStringAsync())));

        var refused = await client.PostTextAsync("/api/v1/video/task", """{"content":[{"type":"text","text":"A fox"}],"duration":16}""");
        refused.AssertError(400, "INVALID_PARAMETER", "duration must be 4-15");
        Assert.Equal(Example("/api/v1/video/task", "post", "400", "INVALID_PARAMETER")["message"]!.GetValue<string>(), refused.Message);
    }

    [SqlitePassFact]
    public async Task TheAdminDocumentDescribesTheAdminApiBehindTheBearerToken()
    {
        var document = JsonNode.Parse(await DocumentAsync("admin"))!;
        Assert.Equal("""{"type":"http","description":"The admin token (Seedance__AdminToken, or the one generated into the data directory on first start).","scheme":"bearer"}""",
            document["components"]!["securitySchemes"]!["AdminToken"]!.ToJsonString());
        var operations = Operations(document).ToList();
        Assert.Contains(operations, op => op.Path == "/admin/v1/keys" && op.Method == "post" && op.Operation["operationId"]!.GetValue<string>() == "CreateKey");
        Assert.Contains(operations, op => op.Path == "/admin/v1/keys/{key_id}/credits");
        Assert.All(operations, op =>
        {
            Assert.StartsWith("/admin/v1/", op.Path);
            Assert.Equal("""[{"AdminToken":[]}]""", op.Operation["security"]!.ToJsonString());
            Assert.Equal(["INVALID_ADMIN_TOKEN"], Codes(op.Operation["responses"]!["401"]!));
        });
        Assert.Equal(["KEY_NOT_FOUND"], Codes(document["paths"]!["/admin/v1/keys/{key_id}"]!["get"]!["responses"]!["404"]!));
    }

    private static string[] Codes(JsonNode response) => response["x-error-codes"]!.AsArray().Select(c => c!.GetValue<string>()).ToArray();
}
