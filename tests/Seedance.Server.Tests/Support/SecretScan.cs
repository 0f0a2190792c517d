using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Seedance.Server.Tests.Support;

/// <summary>
/// Secrets never leak: every answer the suite's clients receive goes through <see cref="Answers"/>, and every log line of
/// every server it starts through <see cref="AssertNoneInLog"/>. Known secrets are the admin token, every API key the
/// admin API created, every webhook signing secret and every link signature an answer handed out.
/// <list type="bullet">
/// <item>A log line never holds any of them, nor anything shaped like one (<c>sk-sd2-</c> and 48 hex digits, <c>whsec_...</c>,
/// a <c>signature=</c> or <c>X-Amz-Signature=</c> value).</item>
/// <item>An answer to a customer (a request with <c>X-API-Key</c>) or to no one (no credentials) never holds the admin token
/// nor an API key, its own included. A webhook secret only in answers to the key that owns it (the owner is the key whose
/// <c>GET /webhook/secret</c> or <c>POST /webhook/secret/rotate</c> answer handed it out, or the key of the admin's
/// <c>/admin/v1/keys/{id}/webhook</c>). A signed link only to its owner: <c>uploads/{key_id}/...</c> to that key,
/// <c>results/{task_id}/...</c> to the key whose submission answered that task id (a task the suite put into the database
/// itself has no known owner and is not checked). An answer to no one holds no signed link.</item>
/// <item>Answers to the operator (<c>Authorization: Bearer</c>) are where keys and secrets are handed out: they are read
/// for the secrets they hold, not checked.</item>
/// </list>
/// Event streams and non-JSON bodies (files) are not read.
/// </summary>
public static partial class SecretScan
{
    private static readonly ConcurrentDictionary<string, string> Known = new(StringComparer.Ordinal);
    private static readonly ConcurrentDictionary<string, long> KeyIds = new(StringComparer.Ordinal);
    private static readonly ConcurrentDictionary<string, long> WebhookSecretOwners = new(StringComparer.Ordinal);
    private static readonly ConcurrentDictionary<string, long> TaskOwners = new(StringComparer.Ordinal);

    static SecretScan() => Known[RunningServer.AdminToken] = "the admin token";

    [GeneratedRegex(@"sk-sd2-[0-9a-f]{48}")]
    private static partial Regex ApiKeyShape();

    [GeneratedRegex(@"whsec_[A-Za-z0-9+/=]{16,}")]
    private static partial Regex WebhookSecretShape();

    [GeneratedRegex(@"(?:signature|X-Amz-Signature)=([A-Za-z0-9_\-%]+)", RegexOptions.IgnoreCase)]
    private static partial Regex SignatureParameter();

    /// <summary>Runs of characters long enough to be a secret: each is looked up among the known ones.</summary>
    [GeneratedRegex(@"[A-Za-z0-9_\-]{24,}")]
    private static partial Regex LongToken();

    [GeneratedRegex(@"https?://[^\s""'<>\\]+?[?&](?:signature|X-Amz-Signature)=[A-Za-z0-9_\-%]+", RegexOptions.IgnoreCase)]
    private static partial Regex SignedLink();

    [GeneratedRegex(@"(?:^|/)(?:api/)?uploads/(?<key>\d+)/|(?:^|/)results/(?<task>[0-9a-f]{32})/")]
    private static partial Regex LinkOwner();

    [GeneratedRegex(@"^/admin/v1/keys/(?<key>\d+)/webhook")]
    private static partial Regex AdminWebhookRoute();

    /// <summary>The handler every client of the suite sends through: it reads each JSON answer for the secrets above.</summary>
    public static HttpMessageHandler Answers(HttpMessageHandler? inner = null) => new AnswerCheck { InnerHandler = inner ?? new HttpClientHandler() };

    /// <summary>Fails if <paramref name="lines"/> (a server's log) hold a secret; <paramref name="whose"/> names the server.</summary>
    public static void AssertNoneInLog(IEnumerable<string> lines, string whose)
    {
        foreach (var line in lines)
            if (SecretIn(line) is { } secret)
                Assert.Fail($"{whose} logged {secret}:\n{line}");
    }

    /// <summary>What secret <paramref name="text"/> holds, described, or null.</summary>
    private static string? SecretIn(string text)
    {
        foreach (Match m in LongToken().Matches(text))
            if (Known.TryGetValue(m.Value, out var what)) return what;
        if (ApiKeyShape().Match(text) is { Success: true }) return "an API key";
        if (WebhookSecretShape().Match(text) is { Success: true }) return "a webhook signing secret";
        if (SignatureParameter().Match(text) is { Success: true }) return "a link signature";
        return null;
    }

    private static void Remember(string secret, string what) => Known.TryAdd(secret, what);

    private sealed class AnswerCheck : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
        {
            var response = await base.SendAsync(request, ct);
            if (response.Content.Headers.ContentType?.MediaType is not "application/json") return response;
            await response.Content.LoadIntoBufferAsync(ct);
            var body = await response.Content.ReadAsStringAsync(ct);
            var path = request.RequestUri?.AbsolutePath ?? "";
            if (request.Headers.Authorization?.Scheme == "Bearer") LearnFromOperatorAnswer(path, body);
            else
            {
                var customer = request.Headers.TryGetValues("X-API-Key", out var values) && KeyIds.TryGetValue(values.First(), out var id) ? id : (long?)null;
                CheckCustomerAnswer(request.Method, path, (int)response.StatusCode, body, customer);
            }
            return response;
        }
    }

    /// <summary>An operator's answer hands out keys (with their ids) and webhook secrets: remembered.</summary>
    private static void LearnFromOperatorAnswer(string path, string body)
    {
        foreach (Match m in ApiKeyShape().Matches(body)) Remember(m.Value, "an API key");
        if (path.TrimEnd('/') == "/admin/v1/keys" && Result(body) is JsonObject created
            && created["api_key"]?.GetValue<string>() is { } apiKey && created["key"]?["key_id"]?.GetValue<long>() is { } keyId)
            KeyIds[apiKey] = keyId;
        var owner = AdminWebhookRoute().Match(path) is { Success: true } route ? long.Parse(route.Groups["key"].Value) : (long?)null;
        foreach (Match m in WebhookSecretShape().Matches(body))
        {
            Remember(m.Value, "a webhook signing secret");
            if (owner is { } o) WebhookSecretOwners.TryAdd(m.Value, o);
        }
        foreach (Match m in SignatureParameter().Matches(body)) Remember(m.Groups[1].Value, "a link signature");
    }

    private static void CheckCustomerAnswer(HttpMethod method, string path, int status, string body, long? customer)
    {
        var to = customer is { } k ? $"key {k}'s answer to {method} {path}" : $"an answer without credentials to {method} {path}";
        if (method == HttpMethod.Post && path == "/api/v1/video/task" && status == 200 && customer is { } submitter
            && Result(body) is JsonObject submitted && submitted["task_id"]?.GetValue<string>() is { } taskId)
            TaskOwners.TryAdd(taskId, submitter);

        foreach (Match m in LongToken().Matches(body))
            if (Known.TryGetValue(m.Value, out var what) && what is "the admin token" or "an API key")
                Assert.Fail($"{to} holds {what}: {body}");
        if (ApiKeyShape().Match(body) is { Success: true }) Assert.Fail($"{to} holds an API key: {body}");

        var handsOutSecret = path is "/api/v1/video/webhook/secret" or "/api/v1/video/webhook/secret/rotate";
        foreach (Match m in WebhookSecretShape().Matches(body))
        {
            Remember(m.Value, "a webhook signing secret");
            var owner = handsOutSecret && customer is { } c ? WebhookSecretOwners.GetOrAdd(m.Value, c) : WebhookSecretOwners.GetValueOrDefault(m.Value, -1);
            if (customer is null || owner != customer) Assert.Fail($"{to} holds a webhook signing secret that is not its own: {body}");
        }

        foreach (Match link in SignedLink().Matches(body))
        {
            foreach (Match s in SignatureParameter().Matches(link.Value)) Remember(s.Groups[1].Value, "a link signature");
            if (customer is null) Assert.Fail($"{to} holds a signed link: {link.Value}");
            var owner = LinkOwner().Match(Uri.UnescapeDataString(new Uri(link.Value).AbsolutePath));
            long? ownerKey = !owner.Success ? null
                : owner.Groups["key"].Success ? long.Parse(owner.Groups["key"].Value)
                : TaskOwners.TryGetValue(owner.Groups["task"].Value, out var o) ? o : null;
            if (owner.Success && ownerKey is { } known && known != customer)
                Assert.Fail($"{to} holds a signed link to key {known}'s file: {link.Value}");
        }
    }

    private static JsonNode? Result(string body)
    {
        try { return JsonNode.Parse(body)?["result"]; }
        catch (JsonException) { return null; }
    }
}
