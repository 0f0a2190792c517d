using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Seedance.Server.Tests.Ark;

public sealed partial class ArkEmulator
{
    private const string RequestIdKey = "ark-request-id";
    /// <summary>How far back the list endpoint reaches.</summary>
    private static readonly TimeSpan ListedFor = TimeSpan.FromDays(7);
    private static readonly string[] Statuses = ["queued", "running", "succeeded", "failed", "expired", "cancelled"];

    private void MapEndpoints(WebApplication app)
    {
        app.Use(PipelineAsync);
        app.MapPost(TasksPath, CreateAsync);
        app.MapGet(TasksPath, ListAsync);
        app.MapGet(TasksPath + "/{id}", GetAsync);
        app.MapDelete(TasksPath + "/{id}", DeleteAsync);
        app.MapMethods("/results/{id}/{file}", ["GET", "HEAD"], ResultAsync);
        app.MapFallback(ctx => ctx.Request.Path.StartsWithSegments("/api/v3")
            ? throw new ArkErrorException(new ArkError(404, "NotFound", $"The requested path {ctx.Request.Path} does not exist."))
            : WriteTosErrorAsync(ctx, 404, "NoSuchKey", "The specified key does not exist."));
    }

    /// <summary>Request id, counters, latency, auth, one-shot faults and the error body, around every endpoint.</summary>
    private async Task PipelineAsync(HttpContext ctx, RequestDelegate next)
    {
        var arrivedAt = DateTimeOffset.UtcNow;
        var requestId = DateTime.UtcNow.ToString("yyyyMMddHHmmss") + RandomText("0123456789abcdef", 20);
        ctx.Items[RequestIdKey] = requestId;
        ctx.Response.Headers["X-Request-Id"] = requestId;
        var call = Classify(ctx.Request);
        Count(call);
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(ctx.RequestAborted, _stopping.Token);
        var answered = true;
        try
        {
            if (Faults.Latency > TimeSpan.Zero) await Task.Delay(Faults.Latency, cancel.Token);
            if (!ctx.Request.Path.StartsWithSegments("/api/v3"))
            {
                await next(ctx);
                return;
            }
            if (ctx.Request.Headers.Authorization.ToString() != $"Bearer {ApiKey}")
                throw new ArkErrorException(new ArkError(401, "AuthenticationError", "The API key in the request is missing or invalid."));

            var fault = Faults.Take(call);
            if (fault is { Hang: true, AfterProcessing: false }) await Task.Delay(Timing.HangFor, cancel.Token);
            if (fault?.Error is { } error) throw new ArkErrorException(error);
            if (fault is { Hang: true, AfterProcessing: true })
            {
                var body = ctx.Response.Body;
                using var buffer = new MemoryStream();
                ctx.Response.Body = buffer;
                try { await RunEndpointAsync(ctx, next); }
                finally { ctx.Response.Body = body; }
                await Task.Delay(Timing.HangFor, cancel.Token);
                buffer.Position = 0;
                await buffer.CopyToAsync(body, cancel.Token);
                return;
            }
            await RunEndpointAsync(ctx, next);
        }
        catch (ArkErrorException e) { await WriteErrorAsync(ctx, e.Error); }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            answered = false;
            ctx.Abort();
        }
        finally
        {
            var record = new ArkRequestRecord(ctx.Request.Method, ctx.Request.Path + ctx.Request.QueryString, answered ? ctx.Response.StatusCode : 0, requestId, call, arrivedAt,
                ctx.Request.ContentLength, ctx.Request.Headers.TransferEncoding.ToString());
            lock (_gate) _requests.Add(record);
        }
    }

    private static async Task RunEndpointAsync(HttpContext ctx, RequestDelegate next)
    {
        try { await next(ctx); }
        catch (ArkErrorException e) { await WriteErrorAsync(ctx, e.Error); }
    }

    private async Task CreateAsync(HttpContext ctx)
    {
        string raw;
        using (var reader = new StreamReader(ctx.Request.Body, Encoding.UTF8)) raw = await reader.ReadToEndAsync(ctx.RequestAborted);
        lock (_gate) _createBodies.Add(raw);

        var request = ArkCreateRequest.Parse(raw);
        if ((ArkTriggers.Of(request.Prompt).Refuse ?? Faults.RefuseInputCode) is { } refusal)
            throw new ArkErrorException(new ArkError(400, refusal, RefusalMessage(refusal)));

        EmulatedTask task;
        lock (_gate)
        {
            var now = DateTimeOffset.UtcNow;
            string id;
            do id = $"cgt-{now.UtcDateTime:yyyyMMddHHmmss}-{RandomText("abcdefghijklmnopqrstuvwxyz0123456789", 5)}";
            while (_tasks.ContainsKey(id));
            task = new EmulatedTask(id, ++_sequence, request, raw, now);
            _tasks[id] = task;
            Transition(task, "queued");
        }
        await WriteJsonAsync(ctx, 200, new JsonObject { ["id"] = task.Id });
    }

    private async Task GetAsync(HttpContext ctx)
    {
        var id = (string)ctx.Request.RouteValues["id"]!;
        var now = DateTimeOffset.UtcNow;
        JsonObject json;
        lock (_gate)
        {
            var task = _tasks.GetValueOrDefault(id) ?? throw NotFound(id);
            task.GetCalls++;
            if (task.FinishedAt is not null) task.FirstReadAfterFinish ??= now;
            json = task.ToJson();
        }
        await WriteJsonAsync(ctx, 200, json);
    }

    private async Task ListAsync(HttpContext ctx)
    {
        var query = ctx.Request.Query;
        var pageNum = PageParameter(query, "page_num", 1);
        var pageSize = PageParameter(query, "page_size", 10);
        var status = query["filter.status"].LastOrDefault();
        if (status is not null && !Statuses.Contains(status))
            throw new ArkErrorException(ArkError.Invalid("filter.status", $"`{status}` is not a task status"));
        var model = query["filter.model"].LastOrDefault();
        var ids = query["filter.task_ids"].Where(v => !string.IsNullOrEmpty(v)).ToHashSet();

        JsonObject json;
        lock (_gate)
        {
            var since = DateTimeOffset.UtcNow - ListedFor;
            var matching = _tasks.Values
                .Where(t => t.CreatedAt >= since) // the upstream lists only the last 7 days
                .Where(t => status is null || t.Status == status)
                .Where(t => model is null || t.Model == model)
                .Where(t => ids.Count == 0 || ids.Contains(t.Id))
                .OrderByDescending(t => t.Sequence)
                .ToList();
            var page = matching.Skip((pageNum - 1) * pageSize).Take(pageSize).ToList();
            var now = DateTimeOffset.UtcNow;
            foreach (var task in page.Where(t => t.FinishedAt is not null)) task.FirstReadAfterFinish ??= now;
            json = new JsonObject
            {
                ["total"] = matching.Count,
                ["items"] = new JsonArray(page.Select(t => (JsonNode)t.ToJson(ListErrorAsFailureReason)).ToArray()),
            };
        }
        await WriteJsonAsync(ctx, 200, json);
    }

    private async Task DeleteAsync(HttpContext ctx)
    {
        var id = (string)ctx.Request.RouteValues["id"]!;
        lock (_gate)
        {
            var task = _tasks.GetValueOrDefault(id) ?? throw NotFound(id);
            switch (task.Status)
            {
                case "queued":
                    Transition(task, "cancelled");
                    break;
                case "succeeded" or "failed" or "expired":
                    _tasks.Remove(id);
                    break;
                default:
                    throw new ArkErrorException(new ArkError(409, "InvalidAction.TaskStatusNotAllowed",
                        $"The task {id} cannot be cancelled or deleted while it is {task.Status}.", "id"));
            }
        }
        await WriteJsonAsync(ctx, 200, new JsonObject());
    }

    /// <summary>A presigned result link: the signature must match and the link must not have expired.</summary>
    private async Task ResultAsync(HttpContext ctx)
    {
        var id = (string)ctx.Request.RouteValues["id"]!;
        var file = (string)ctx.Request.RouteValues["file"]!;
        ArkResult? result;
        lock (_gate) result = _results.GetValueOrDefault(id);
        var bytes = file switch { "video.mp4" => result?.Media.Video, "last_frame.png" => result?.Media.LastFrame, _ => null };
        if (result is null || bytes is null)
            await WriteTosErrorAsync(ctx, 404, "NoSuchKey", "The specified key does not exist.");
        else if (ctx.Request.Query["X-Tos-Signature"] != result.Signature)
            await WriteTosErrorAsync(ctx, 403, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided.");
        else if (result.Revoked || DateTimeOffset.UtcNow > result.PublishedAt + Faults.ResultLinkLifetime)
            await WriteTosErrorAsync(ctx, 403, "AccessDenied", "Request has expired.");
        else
            await Results.Bytes(bytes, file.EndsWith(".mp4") ? "video/mp4" : "image/png", enableRangeProcessing: true).ExecuteAsync(ctx);
    }

    private void Count(ArkCall call)
    {
        switch (call)
        {
            case ArkCall.Create: Interlocked.Increment(ref _createCalls); break;
            case ArkCall.Get: Interlocked.Increment(ref _getCalls); break;
            case ArkCall.List: Interlocked.Increment(ref _listCalls); break;
            case ArkCall.Delete: Interlocked.Increment(ref _deleteCalls); break;
        }
    }

    private static ArkCall Classify(HttpRequest request)
    {
        var path = request.Path.Value?.TrimEnd('/') ?? "";
        if (path == TasksPath) return request.Method switch { "POST" => ArkCall.Create, "GET" => ArkCall.List, _ => ArkCall.None };
        if (path.StartsWith(TasksPath + "/", StringComparison.Ordinal) && path.IndexOf('/', TasksPath.Length + 1) < 0)
            return request.Method switch { "GET" => ArkCall.Get, "DELETE" => ArkCall.Delete, _ => ArkCall.None };
        return ArkCall.None;
    }

    private static int PageParameter(IQueryCollection query, string name, int fallback)
    {
        var value = query[name].LastOrDefault();
        if (value is null) return fallback;
        if (!int.TryParse(value, out var n) || n is < 1 or > 500)
            throw new ArkErrorException(ArkError.Invalid(name, "must be an integer between 1 and 500"));
        return n;
    }

    private static ArkErrorException NotFound(string id) =>
        new(new ArkError(404, "ResourceNotFound", $"The specified task {id} is not found.", "id"));

    private static string RefusalMessage(string code)
    {
        var what = code.StartsWith("InputImage") ? "input image" : code.StartsWith("InputVideo") ? "input video"
            : code.StartsWith("InputAudio") ? "input audio" : code.StartsWith("InputText") ? "input text" : "input";
        return code.EndsWith(".PrivacyInformation")
            ? $"The request failed because the {what} may contain real person information."
            : $"The request failed because the {what} may contain sensitive information.";
    }

    private static Task WriteErrorAsync(HttpContext ctx, ArkError error) =>
        WriteJsonAsync(ctx, error.Status, error.ToJson((string)ctx.Items[RequestIdKey]!));

    private static Task WriteTosErrorAsync(HttpContext ctx, int status, string code, string message) =>
        WriteJsonAsync(ctx, status, new JsonObject { ["Code"] = code, ["Message"] = message, ["RequestId"] = (string)ctx.Items[RequestIdKey]! });

    private static async Task WriteJsonAsync(HttpContext ctx, int status, JsonNode json)
    {
        ctx.Response.StatusCode = status;
        ctx.Response.ContentType = "application/json; charset=utf-8";
        await ctx.Response.WriteAsync(json.ToJsonString());
    }
}
