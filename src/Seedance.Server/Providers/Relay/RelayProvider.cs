using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Seedance.Server.Infrastructure;
using Seedance.Server.Storage;

namespace Seedance.Server.Providers.Relay;

/// <summary>
/// Another server that speaks this same public API, used with the operator's key there. Uploads go
/// through its presign flow; the submission carries our task id as its Idempotency-Key, so a retried
/// hand-over never creates a second task there.
/// </summary>
public sealed class RelayProvider(ChannelOptions channel, HttpClient http, HttpClient upstreamLinks, FileStore store) : IVideoProvider, IDisposable
{
    private static readonly string[] UserCodes =
        ["INVALID_PARAMETER", "MISSING_PARAMETER", "CONTENT_MODERATION_FAILED", "COPYRIGHT_VIOLATION", "PRIVACY_VIOLATION"];
    private static readonly string[] BusyCodes = ["RATE_LIMIT_EXCEEDED", "CONCURRENCY_LIMIT_REACHED", "SERVICE_BUSY"];

    public string Name => channel.Name;

    public async Task<string> SubmitAsync(ProviderRequest request, CancellationToken ct)
    {
        var content = new JsonArray();
        foreach (var item in request.Content)
        {
            if (item.Type == "text") { content.Add(new JsonObject { ["type"] = "text", ["text"] = item.Text }); continue; }
            var node = new JsonObject { ["type"] = item.Type, [item.Type] = item.Url ?? await UploadAsync(item, ct) };
            if (item.Role is not null) node["role"] = item.Role;
            content.Add(node);
        }
        var body = new JsonObject
        {
            ["model"] = channel.UpstreamModel(request.Model),
            ["content"] = content, ["resolution"] = request.Resolution, ["ratio"] = request.Ratio, ["duration"] = request.Duration,
            ["generate_audio"] = request.GenerateAudio, ["watermark"] = request.Watermark, ["return_last_frame"] = request.ReturnLastFrame,
        };
        if (request.Seed is { } seed) body["seed"] = seed;
        var submit = new HttpRequestMessage(HttpMethod.Post, "api/v1/video/task") { Content = UpstreamHttp.Json(body) };
        submit.Headers.Add("Idempotency-Key", "relay-" + request.TaskId);
        var result = await CallAsync(submit, ct);
        return result?["task_id"]?.GetValue<string>() ?? throw ProviderException.Transient("Relay answered a submission without a task_id");
    }

    public async Task<ProviderTaskState> GetAsync(string providerTaskId, CancellationToken ct) =>
        StateOf(await CallAsync(new HttpRequestMessage(HttpMethod.Get, $"api/v1/video/task/{Uri.EscapeDataString(providerTaskId)}"), ct)
            ?? throw ProviderException.Transient("Relay answered without a task"));

    /// <summary>The relay's batch read (<c>GET /api/v1/video/tasks?task_ids=...</c>) takes up to 100 ids.</summary>
    public int BatchSize => 100;

    /// <summary>
    /// One batch read. A relay of an older version answers it as a plain list page, whose tasks are not the ones asked:
    /// only the ids asked for are taken, and the rest are checked alone.
    /// </summary>
    public async Task<IReadOnlyDictionary<string, ProviderTaskState>> GetManyAsync(IReadOnlyList<string> providerTaskIds, CancellationToken ct)
    {
        var page = await CallAsync(new HttpRequestMessage(HttpMethod.Get,
            "api/v1/video/tasks?task_ids=" + string.Join(',', providerTaskIds.Select(Uri.EscapeDataString))), ct)
            ?? throw ProviderException.Transient("Relay answered a batch read without a result");
        var asked = providerTaskIds.ToHashSet(StringComparer.Ordinal);
        var states = new Dictionary<string, ProviderTaskState>(StringComparer.Ordinal);
        foreach (var item in page["data"] as JsonArray ?? throw ProviderException.Transient("Relay answered a batch read without data"))
            if (item?["task_id"]?.GetValue<string>() is { } id && asked.Contains(id)) states[id] = StateOf(item);
        return states;
    }

    /// <summary>A task object of this API as the tracker sees it.</summary>
    private static ProviderTaskState StateOf(JsonNode task)
    {
        string? Text(string name) => task[name]?.GetValue<string>();
        return Text("status") switch
        {
            "pending" or "queued" => new ProviderTaskState(ProviderState.Queued),
            "processing" => new ProviderTaskState(ProviderState.Running),
            "completed" => new ProviderTaskState(ProviderState.Succeeded, Text("video_url"), Text("last_frame_url"),
                task["seed"]?.GetValue<long>(), task["duration"]?.GetValue<int>()),
            "failed" => new ProviderTaskState(ProviderState.Failed,
                ErrorCode: Text("error_code") is { } code && ApiError.DocumentedCodes.Contains(code) ? code : "INTERNAL_ERROR",
                ErrorMessage: Text("error_message") ?? "Generation failed"),
            "cancelled" => new ProviderTaskState(ProviderState.Cancelled),
            "expired" => new ProviderTaskState(ProviderState.Expired),
            var other => throw ProviderException.Transient($"Relay reported an unknown status '{other}'"),
        };
    }

    public async Task<bool> CancelAsync(string providerTaskId, CancellationToken ct)
    {
        try
        {
            await CallAsync(new HttpRequestMessage(HttpMethod.Post, $"api/v1/video/task/{Uri.EscapeDataString(providerTaskId)}/cancel"), ct);
            return true;
        }
        catch (ProviderException e) when (e.Code == "TASK_CANCEL_NOT_ALLOWED") { return false; }
    }

    /// <summary>The relay's model list: the key must be good, and each mapped model one the relay offers.</summary>
    public async Task CheckAsync(CancellationToken ct)
    {
        var offered = (await CallAsync(new HttpRequestMessage(HttpMethod.Get, "api/v1/video/models"), ct))?["data"] as JsonArray
            ?? throw ProviderException.Transient("Relay answered its model list without data");
        var names = offered.Select(m => m?["model"]?.GetValue<string>()).ToHashSet();
        if (channel.Models.Values.FirstOrDefault(m => !names.Contains(m)) is { } missing)
            throw ProviderException.Misconfigured($"Relay does not offer model '{missing}' (it offers {string.Join(", ", names)})");
    }

    public Task DownloadAsync(string url, Stream destination, CancellationToken ct) => UpstreamHttp.DownloadAsync(upstreamLinks, url, destination, ct);

    /// <summary>Presigns at the relay and PUTs the file there; returns the relay's file_path.</summary>
    private async Task<string> UploadAsync(ProviderContent item, CancellationToken ct)
    {
        var name = Path.GetFileName(item.StorePath!);
        name = name[(name.IndexOf('_') + 1)..];
        var presign = await CallAsync(new HttpRequestMessage(HttpMethod.Post,
            $"api/v1/video/upload/presign?filename={Uri.EscapeDataString(name)}&content_type={Uri.EscapeDataString(item.ContentType!)}"), ct)
            ?? throw ProviderException.Transient("Relay answered a presign without a result");
        await using var file = await store.OpenReadAsync(item.StorePath!, ct);
        var put = new HttpRequestMessage(HttpMethod.Put, presign["presigned_url"]!.GetValue<string>()) { Content = new StreamContent(file) };
        put.Content.Headers.ContentType = new MediaTypeHeaderValue(item.ContentType!);
        using var response = await UpstreamHttp.SendAsync(upstreamLinks, put, Name, ct);
        if (!response.IsSuccessStatusCode) throw ProviderException.Transient($"Relay refused an upload with {(int)response.StatusCode}");
        return presign["file_path"]!.GetValue<string>();
    }

    /// <summary>Calls the relay's API with the operator's key and unwraps the envelope.</summary>
    private async Task<JsonNode?> CallAsync(HttpRequestMessage request, CancellationToken ct)
    {
        request.Headers.Add("X-API-Key", channel.ApiKey);
        using var response = await UpstreamHttp.SendAsync(http, request, Name, ct);
        JsonNode? envelope;
        try { envelope = await response.Content.ReadFromJsonAsync<JsonNode>(ct); }
        catch (JsonException) { envelope = null; }
        var code = envelope?["code"]?.GetValue<string>() ?? "";
        if (response.IsSuccessStatusCode && code == "200") return envelope?["result"];
        var message = envelope?["message"]?.GetValue<string>() ?? $"HTTP {(int)response.StatusCode}";
        if (UserCodes.Contains(code)) throw ProviderException.Refused(code, message);
        if (BusyCodes.Contains(code)) throw ProviderException.RateLimited($"Relay busy: {code}");
        var why = $"Relay refused with {(int)response.StatusCode} {code}: {message}";
        if (code is "INVALID_API_KEY" or "INSUFFICIENT_CREDIT") throw ProviderException.Misconfigured(why);
        throw new ProviderException(ProviderFault.Channel, code is "" or "INTERNAL_ERROR" ? "TASK_SUBMIT_FAILED" : code, why);
    }

    /// <summary>Lets go of the provider's HTTP clients (a channel's settings tested, not kept).</summary>
    public void Dispose()
    {
        http.Dispose();
        upstreamLinks.Dispose();
    }
}
