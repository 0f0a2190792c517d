using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net;
using System.Text.Json.Nodes;
using System.Text.Json;
using Seedance.Server.Infrastructure;
using Seedance.Server.Storage;

namespace Seedance.Server.Providers.Ark;

/// <summary>
/// Volcengine Ark / BytePlus ModelArk (<c>/contents/generations/tasks</c>). Uploads reach the upstream
/// as signed links to this server's store, or inline as data URIs for images when the channel says so.
/// </summary>
public sealed class ArkProvider(ChannelOptions channel, HttpClient http, HttpClient upstreamLinks, FileStore store, PublicLinks links) : IVideoProvider, IDisposable
{
    private const string Tasks = "contents/generations/tasks";
    // The upstream's limits on execution_expires_after.
    private const int MinExpiresAfter = 3600, MaxExpiresAfter = 259200;

    public string Name => channel.Name;

    public async Task<string> SubmitAsync(ProviderRequest request, CancellationToken ct)
    {
        var body = new JsonObject
        {
            ["model"] = channel.UpstreamModel(request.Model) ?? throw ProviderException.Transient($"Channel {Name} has no model for {request.Model}"),
            ["content"] = new JsonArray((await Task.WhenAll(request.Content.Select(c => Content(c, ct)))).ToArray<JsonNode?>()),
            ["resolution"] = request.Resolution,
            ["ratio"] = request.Ratio,
            ["duration"] = request.Duration,
            ["watermark"] = request.Watermark,
            ["generate_audio"] = request.GenerateAudio,
            ["return_last_frame"] = request.ReturnLastFrame,
            ["execution_expires_after"] = (int)Math.Clamp(request.ExpiresAfter.TotalSeconds, MinExpiresAfter, MaxExpiresAfter),
        };
        if (request.Seed is { } seed) body["seed"] = seed;
        if (links.CanLinkWithoutRequest) body["callback_url"] = links.UpstreamCallback(request.TaskId, request.ExpiresAfter + TimeSpan.FromDays(1));

        var created = await SendAsync(HttpMethod.Post, Tasks, body, ct);
        return created?["id"]?.GetValue<string>() ?? throw ProviderException.Transient("Upstream answered a create without an id");
    }

    public async Task<ProviderTaskState> GetAsync(string providerTaskId, CancellationToken ct) =>
        StateOf(await SendAsync(HttpMethod.Get, $"{Tasks}/{Uri.EscapeDataString(providerTaskId)}", null, ct) as JsonObject
            ?? throw ProviderException.Transient("Upstream answered without a task"));

    /// <summary>The list endpoint takes <c>filter.task_ids</c> (repeated) and pages of up to 500; a hundred ids keep the query string short.</summary>
    public int BatchSize => 100;

    /// <summary>One list request filtered to the ids. Ark lists only the last 7 days: an older task is absent and checked alone.</summary>
    public async Task<IReadOnlyDictionary<string, ProviderTaskState>> GetManyAsync(IReadOnlyList<string> providerTaskIds, CancellationToken ct)
    {
        var query = string.Concat(providerTaskIds.Select(id => "&filter.task_ids=" + Uri.EscapeDataString(id)));
        var page = await SendAsync(HttpMethod.Get, $"{Tasks}?page_num=1&page_size={providerTaskIds.Count}{query}", null, ct)
            ?? throw ProviderException.Transient("Upstream answered a list without a body");
        var states = new Dictionary<string, ProviderTaskState>(StringComparer.Ordinal);
        foreach (var item in page["items"] as JsonArray ?? throw ProviderException.Transient("Upstream answered a list without items"))
            if (item is JsonObject task && task["id"]?.GetValue<string>() is { } id) states[id] = StateOf(task);
        return states;
    }

    /// <summary>
    /// One page of the account's task list, newest first as the upstream keeps it (the last 7 days only): for
    /// reconciliation, which compares it with this server's tasks.
    /// </summary>
    public async Task<UpstreamTaskPage> ListAsync(int pageNum, int pageSize, CancellationToken ct)
    {
        var page = await SendAsync(HttpMethod.Get, $"{Tasks}?page_num={pageNum}&page_size={pageSize}", null, ct)
            ?? throw ProviderException.Transient("Upstream answered a list without a body");
        var items = new List<UpstreamTask>();
        foreach (var item in page["items"] as JsonArray ?? throw ProviderException.Transient("Upstream answered a list without items"))
        {
            if (item is not JsonObject task || task["id"]?.GetValue<string>() is not { } id) continue;
            var usage = task["usage"] as JsonObject;
            items.Add(new UpstreamTask(id, task["model"]?.GetValue<string>() ?? "", task["status"]?.GetValue<string>() ?? "",
                DateTimeOffset.FromUnixTimeSeconds(task["created_at"]?.GetValue<long>() ?? 0).UtcDateTime,
                usage?["total_tokens"]?.GetValue<long>() ?? usage?["completion_tokens"]?.GetValue<long>() ?? 0));
        }
        return new UpstreamTaskPage(page["total"]?.GetValue<int>() ?? items.Count, items);
    }

    /// <summary>This product's status for one of Ark's.</summary>
    public static string? StatusOf(string arkStatus) => arkStatus switch
    {
        "queued" => "queued", "running" => "processing", "succeeded" => "completed", "failed" => "failed",
        "expired" => "expired", "cancelled" => "cancelled", _ => null,
    };

    /// <summary>A list of at most one task per model the channel maps: the key must be good, and each model's name one the upstream knows.</summary>
    public async Task CheckAsync(CancellationToken ct)
    {
        foreach (var model in channel.Models.Values.Distinct())
            _ = await SendAsync(HttpMethod.Get, $"{Tasks}?page_num=1&page_size=1&filter.model={Uri.EscapeDataString(model)}", null, ct)
                ?? throw ProviderException.Transient("Upstream answered a list without a body");
    }

    /// <summary>A task object (of a GET or a list) as the tracker sees it.</summary>
    private static ProviderTaskState StateOf(JsonObject task)
    {
        var error = task["error"] as JsonObject ?? task["failure_reason"] as JsonObject;
        var content = task["content"] as JsonObject;
        long? seed = task["seed"]?.GetValue<long>();
        int? duration = task["duration"]?.GetValue<int>() is > 0 and var d ? d : null;
        return task["status"]?.GetValue<string>() switch
        {
            "queued" => new ProviderTaskState(ProviderState.Queued),
            "running" => new ProviderTaskState(ProviderState.Running),
            "succeeded" => new ProviderTaskState(ProviderState.Succeeded, content?["video_url"]?.GetValue<string>(),
                content?["last_frame_url"]?.GetValue<string>(), seed, duration),
            "failed" => Failed(error),
            "expired" => new ProviderTaskState(ProviderState.Expired),
            "cancelled" => new ProviderTaskState(ProviderState.Cancelled),
            var other => throw ProviderException.Transient($"Upstream reported an unknown status '{other}'"),
        };
    }

    private static ProviderTaskState Failed(JsonObject? error)
    {
        var code = error?["code"]?.GetValue<string>() ?? "";
        var message = error?["message"]?.GetValue<string>() ?? "Generation failed";
        return new ProviderTaskState(ProviderState.Failed, ErrorCode: ArkErrors.UserCode(code) ?? "INTERNAL_ERROR",
            ErrorMessage: ArkErrors.UserCode(code) is null ? "Generation failed upstream" : message);
    }

    /// <summary>
    /// Only a queued task is cancelled. Ark's DELETE of a finished task deletes its record (and its result),
    /// so the status is read first; a queued task cannot finish without running first, so nothing slips between.
    /// </summary>
    public async Task<bool> CancelAsync(string providerTaskId, CancellationToken ct)
    {
        if ((await GetAsync(providerTaskId, ct)).State != ProviderState.Queued) return false;
        using var response = await Send(new HttpRequestMessage(HttpMethod.Delete, $"{Tasks}/{Uri.EscapeDataString(providerTaskId)}"), ct);
        if (response.IsSuccessStatusCode) return true;
        if ((int)response.StatusCode is >= 400 and < 500 and not 401 and not 403 and not 429) return false; // running or already cancelled
        throw await Refusal(response, ct);
    }

    public Task DownloadAsync(string url, Stream destination, CancellationToken ct) => UpstreamHttp.DownloadAsync(upstreamLinks, url, destination, ct);

    private async Task<JsonNode> Content(ProviderContent item, CancellationToken ct)
    {
        if (item.Type == "text") return new JsonObject { ["type"] = "text", ["text"] = item.Text };
        var url = item.Url ?? await UploadLink(item, ct);
        var node = new JsonObject { ["type"] = item.Type, [item.Type] = new JsonObject { ["url"] = url } };
        if (item.Role is not null) node["role"] = item.Role;
        return node;
    }

    private async Task<string> UploadLink(ProviderContent item, CancellationToken ct)
    {
        if (channel.InlineImages && item.Type == "image_url")
        {
            await using var file = await store.OpenReadAsync(item.StorePath!, ct);
            using var bytes = new MemoryStream();
            await file.CopyToAsync(bytes, ct);
            return $"data:{item.ContentType};base64,{Convert.ToBase64String(bytes.GetBuffer(), 0, (int)bytes.Length)}";
        }
        if (!links.CanLinkFilesWithoutRequest)
            throw ProviderException.Transient($"Channel {Name} cannot pass {item.Type} uploads: set Seedance:PublicBaseUrl");
        return links.Download(item.StorePath!);
    }

    private async Task<JsonNode?> SendAsync(HttpMethod method, string path, JsonObject? body, CancellationToken ct)
    {
        var request = new HttpRequestMessage(method, path);
        if (body is not null) request.Content = UpstreamHttp.Json(body);
        using var response = await Send(request, ct);
        if (!response.IsSuccessStatusCode) throw await Refusal(response, ct);
        return await response.Content.ReadFromJsonAsync<JsonNode>(ct);
    }

    private Task<HttpResponseMessage> Send(HttpRequestMessage request, CancellationToken ct)
    {
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", channel.ApiKey);
        return UpstreamHttp.SendAsync(http, request, Name, ct);
    }

    private static async Task<ProviderException> Refusal(HttpResponseMessage response, CancellationToken ct)
    {
        string code = "", message = "";
        try
        {
            var error = (await response.Content.ReadFromJsonAsync<JsonNode>(ct))?["error"];
            code = error?["code"]?.GetValue<string>() ?? "";
            message = error?["message"]?.GetValue<string>() ?? "";
        }
        catch (JsonException) { }
        return ArkErrors.From(response.StatusCode, code, message);
    }

    /// <summary>Lets go of the provider's HTTP clients (a channel's settings tested, not kept).</summary>
    public void Dispose()
    {
        http.Dispose();
        upstreamLinks.Dispose();
    }
}

/// <summary>A task of the upstream's list, as reconciliation reads it; <see cref="Tokens"/> from its usage (0 until it succeeded).</summary>
public sealed record UpstreamTask(string Id, string Model, string Status, DateTime CreatedAt, long Tokens);

public sealed record UpstreamTaskPage(int Total, IReadOnlyList<UpstreamTask> Items);
