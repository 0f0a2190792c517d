using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Seedance.Client.Internal;

namespace Seedance.Client.Http;

/// <summary>
/// Sends API calls: relative paths against the base URL with the caller's credentials, JSON in, the
/// <c>{code, message, result}</c> envelope out, every failure turned into a <see cref="SeedanceException"/>.
/// Absolute links (presigned uploads, results) are fetched without credentials.
/// </summary>
internal sealed class ApiTransport(HttpClient http, SeedanceClientOptions options, Action<HttpRequestMessage> authorize)
{
    public SeedanceClientOptions Options => options;

    public HttpClient HttpClient => http;

    public async Task<T> SendAsync<T>(HttpMethod method, string path, JsonNode? body, CancellationToken ct,
        string? taskId = null, Action<HttpRequestMessage>? configure = null)
    {
        using var request = Request(method, path);
        // Serialized up front so that the request carries its Content-Length (a streamed body goes chunked, which some proxies refuse).
        if (body is not null) request.Content = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(body, Wire.Options))
        {
            Headers = { ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" } },
        };
        configure?.Invoke(request);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(options.RequestTimeout);
        using var response = await SendRawAsync(request, HttpCompletionOption.ResponseContentRead, timeout.Token, ct, taskId);
        return await ReadResultAsync<T>(response, taskId, ct);
    }

    public HttpRequestMessage Request(HttpMethod method, string path)
    {
        var request = new HttpRequestMessage(method, new Uri(Base(), path.TrimStart('/')));
        authorize(request);
        return request;
    }

    /// <summary>Sends and returns the response whatever its status; connection failures and timeouts become <see cref="SeedanceException"/>.</summary>
    public async Task<HttpResponseMessage> SendRawAsync(HttpRequestMessage request, HttpCompletionOption completion, CancellationToken token,
        CancellationToken callerToken, string? taskId = null)
    {
        try
        {
            return await http.SendAsync(request, completion, token);
        }
        catch (OperationCanceledException e) when (!callerToken.IsCancellationRequested)
        {
            throw new SeedanceException(SeedanceErrorCodes.ConnectionFailed, $"No answer from {request.RequestUri?.GetLeftPart(UriPartial.Authority)} in time", null, taskId, e);
        }
        catch (HttpRequestException e)
        {
            throw new SeedanceException(SeedanceErrorCodes.ConnectionFailed, $"Cannot reach {request.RequestUri?.GetLeftPart(UriPartial.Authority)}: {e.Message}", null, taskId, e);
        }
    }

    public static async Task<T> ReadResultAsync<T>(HttpResponseMessage response, string? taskId, CancellationToken ct)
    {
        var envelope = await ReadEnvelopeAsync(response, ct);
        if (envelope is null) throw await UnexpectedAsync(response, taskId, SeedanceErrorCodes.UnexpectedResponse, ct);
        var (code, message, result) = envelope.Value;
        if (code != "200" || !response.IsSuccessStatusCode) throw new SeedanceException(code, message, response.StatusCode, taskId);
        if (result is null) throw new SeedanceException(SeedanceErrorCodes.UnexpectedResponse, "The server answered success without a result", response.StatusCode, taskId);
        try
        {
            return result.Deserialize<T>(Wire.Options) ?? throw new JsonException("null result");
        }
        catch (JsonException e)
        {
            throw new SeedanceException(SeedanceErrorCodes.UnexpectedResponse, $"The server's answer cannot be read: {e.Message}", response.StatusCode, taskId, e);
        }
    }

    /// <summary>The error of a failed response that is not meant to carry a result (uploads, downloads, streams).</summary>
    public static async Task<SeedanceException> ErrorAsync(HttpResponseMessage response, string? taskId, string fallbackCode, CancellationToken ct)
    {
        var envelope = await ReadEnvelopeAsync(response, ct);
        return envelope is { } e
            ? new SeedanceException(e.Code, e.Message, response.StatusCode, taskId)
            : await UnexpectedAsync(response, taskId, fallbackCode, ct);
    }

    private Uri Base()
    {
        var text = options.BaseUrl.AbsoluteUri;
        return new Uri(text.EndsWith('/') ? text : text + "/");
    }

    private static async Task<(string Code, string Message, JsonNode? Result)?> ReadEnvelopeAsync(HttpResponseMessage response, CancellationToken ct)
    {
        try
        {
            var text = await response.Content.ReadAsStringAsync(ct);
            if (JsonNode.Parse(text) is JsonObject body && body["code"] is JsonValue code && code.TryGetValue<string>(out var c))
                return (c, body["message"]?.GetValue<string>() ?? c, body["result"]);
        }
        catch (JsonException) { }
        catch (InvalidOperationException) { }
        return null;
    }

    private static Task<SeedanceException> UnexpectedAsync(HttpResponseMessage response, string? taskId, string code, CancellationToken ct) =>
        Task.FromResult(new SeedanceException(code,
            $"The server answered {(int)response.StatusCode} {response.ReasonPhrase} from {response.RequestMessage?.RequestUri?.GetLeftPart(UriPartial.Path)}",
            response.StatusCode, taskId));

    public static bool IsSuccess(HttpResponseMessage response) => response.StatusCode is >= HttpStatusCode.OK and < HttpStatusCode.MultipleChoices;
}
