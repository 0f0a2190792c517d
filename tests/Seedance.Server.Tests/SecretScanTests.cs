using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using Seedance.Server.Tests.Support;
using Xunit.Sdk;

namespace Seedance.Server.Tests;

/// <summary>
/// The scan every server and client of the suite goes through (<see cref="SecretScan"/>) sees what it must: the server's
/// log at the levels an operator's log holds, and a secret in a log line or in the wrong customer's answer fails it.
/// </summary>
public sealed class SecretScanTests
{
    [Fact]
    public async Task TheServersLogIsCapturedAtTheLevelsOfTheShippedSettings()
    {
        await using var server = await RunningServer.StartAsync();
        using var client = await server.CreateKeyAsync();
        await client.SubmitTextAsync(ServerFixture.Stalled);

        Assert.Contains(server.LogLines, line => line.StartsWith("Information Microsoft.Hosting.Lifetime: Application started", StringComparison.Ordinal));
        Assert.DoesNotContain(server.LogLines, line => line.Contains("Microsoft.EntityFrameworkCore.Database.Command", StringComparison.Ordinal));
    }

    [Fact]
    public void ALogLineHoldingAnApiKeyAWebhookSecretOrALinkSignatureFailsTheScan()
    {
        var key = "sk-sd2-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));
        foreach (var line in new[]
                 {
                     $"Information Seedance.Server.Auth: key {key} accepted",
                     "Warning Seedance.Server.Callbacks: signing with whsec_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(24)),
                     "Warning Seedance.Server.Storage: GET /files/results/a/video.mp4?expires=1&signature=AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_AbCd",
                     $"Warning Seedance.Server.Keys: the admin token {RunningServer.AdminToken} was refused",
                 })
            Assert.ThrowsAny<XunitException>(() => SecretScan.AssertNoneInLog([line], "A server"));
        SecretScan.AssertNoneInLog([$"Information Seedance.Server.Keys: key {key[..11]}... created"], "A server"); // the prefix that recognises a key is no secret
    }

    [Fact]
    public async Task ASignedLinkToAnotherKeysUploadInACustomersAnswerFailsTheScan()
    {
        var (alice, bob) = (Random.Shared.NextInt64(1_000_000, 2_000_000), Random.Shared.NextInt64(2_000_000, 3_000_000));
        var answers = new Answers();
        using var http = new HttpClient(SecretScan.Answers(answers)) { BaseAddress = new Uri("http://127.0.0.1:9") };
        var aliceKey = await CreatedKeyAsync(http, answers, alice);
        await CreatedKeyAsync(http, answers, bob);
        http.DefaultRequestHeaders.Add("X-API-Key", aliceKey);

        answers.Next = Envelope($$"""{"presigned_url":"http://127.0.0.1:9/files/api/uploads/{{alice}}/x_a.png?expires=1&signature={{Signature()}}"}""");
        await http.PostAsync("/api/v1/video/upload/presign", null); // her own: handed out to its owner
        answers.Next = Envelope($$"""{"presigned_url":"http://127.0.0.1:9/files/api/uploads/{{bob}}/x_b.png?expires=1&signature={{Signature()}}"}""");
        await Assert.ThrowsAnyAsync<XunitException>(() => http.PostAsync("/api/v1/video/upload/presign", null));
        answers.Next = Envelope($$"""{"message":"your key is {{aliceKey}}"}""");
        await Assert.ThrowsAnyAsync<XunitException>(() => http.GetAsync("/api/v1/video/balance"));
    }

    private static async Task<string> CreatedKeyAsync(HttpClient http, Answers answers, long keyId)
    {
        var apiKey = "sk-sd2-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));
        answers.Next = Envelope($$"""{"api_key":"{{apiKey}}","key":{"key_id":{{keyId}}""" + "}}");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/admin/v1/keys") { Content = JsonContent.Create(new { name = "scan" }) };
        request.Headers.Authorization = new("Bearer", RunningServer.AdminToken);
        await http.SendAsync(request);
        return apiKey;
    }

    private static string Signature() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static string Envelope(string result) => """{"code":"200","message":"Success","result":""" + result + "}";

    /// <summary>A server that answers each request with <see cref="Next"/>.</summary>
    private sealed class Answers : HttpMessageHandler
    {
        public string Next { get; set; } = "";

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct) =>
            Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(Next, Encoding.UTF8, "application/json") });
    }
}
