using System.Text.Json.Nodes;

namespace Seedance.Server.Tests.Ark;

/// <summary>One task the emulator holds. Read-only to tests; the emulator changes it under its own lock.</summary>
public sealed class EmulatedTask
{
    internal EmulatedTask(string id, long sequence, ArkCreateRequest request, string requestBody, DateTimeOffset now)
    {
        Id = id;
        Sequence = sequence;
        Model = request.Model;
        Prompt = request.Prompt;
        RequestBody = requestBody;
        Resolution = request.Resolution;
        Ratio = request.Ratio;
        Duration = request.Duration;
        (Width, Height) = ArkCreateRequest.SizeOf(request.Resolution, request.Ratio);
        Seed = request.Seed;
        Watermark = request.Watermark;
        GenerateAudio = request.GenerateAudio;
        ReturnLastFrame = request.ReturnLastFrame;
        CallbackUrl = request.CallbackUrl;
        ExecutionExpiresAfter = request.ExecutionExpiresAfter;
        CreatedAt = UpdatedAt = StatusSince = now;
        Triggers = ArkTriggers.Of(request.Prompt);
    }

    public string Id { get; }
    public string Model { get; }
    public string Prompt { get; }
    /// <summary>The create body exactly as received.</summary>
    public string RequestBody { get; }
    public string Status { get; internal set; } = "queued";
    public string Resolution { get; }
    /// <summary>The concrete ratio (an <c>adaptive</c> request is resolved).</summary>
    public string Ratio { get; }
    /// <summary>The concrete duration (a <c>-1</c> request is resolved).</summary>
    public int Duration { get; }
    public int Width { get; }
    public int Height { get; }
    /// <summary>The concrete seed (a <c>-1</c> or absent request gets a random one).</summary>
    public long Seed { get; }
    public bool Watermark { get; }
    public bool GenerateAudio { get; }
    public bool ReturnLastFrame { get; }
    public string? CallbackUrl { get; }
    public long ExecutionExpiresAfter { get; }
    public DateTimeOffset CreatedAt { get; }
    public DateTimeOffset UpdatedAt { get; internal set; }
    public string? ErrorCode { get; internal set; }
    public string? ErrorMessage { get; internal set; }
    public string? VideoUrl { get; internal set; }
    public string? LastFrameUrl { get; internal set; }
    /// <summary>When it reached a terminal status (succeeded, failed, expired or cancelled).</summary>
    public DateTimeOffset? FinishedAt { get; internal set; }
    /// <summary>When a read of it (a GET, or a list that returned it) first arrived after <see cref="FinishedAt"/>: the moment a client could first see the outcome.</summary>
    public DateTimeOffset? FirstReadAfterFinish { get; internal set; }
    /// <summary>GETs of this task answered.</summary>
    public int GetCalls { get; internal set; }
    public long CompletionTokens => ArkCreateRequest.TokensOf(Width, Height, Duration);
    public bool IsTerminal => Status is "succeeded" or "failed" or "expired" or "cancelled";

    internal long Sequence { get; }
    internal DateTimeOffset StatusSince { get; set; }
    /// <summary>Pinned by a test: the timeline leaves it alone.</summary>
    internal bool Held { get; set; }
    /// <summary>Its media is being rendered.</summary>
    internal bool Finishing { get; set; }
    internal ArkTriggers Triggers { get; }
    /// <summary>Its share (0-1) of <see cref="ArkTiming.RunningSpread"/>.</summary>
    internal double RunningShare { get; } = Random.Shared.NextDouble();
    internal Task Callbacks { get; set; } = Task.CompletedTask;

    /// <summary>The task object of GET, list items and callbacks.</summary>
    internal JsonObject ToJson(bool errorAsFailureReason = false)
    {
        var json = new JsonObject
        {
            ["id"] = Id,
            ["model"] = Model,
            ["status"] = Status,
        };
        if (Status == "succeeded")
        {
            var content = new JsonObject { ["video_url"] = VideoUrl };
            if (LastFrameUrl is not null) content["last_frame_url"] = LastFrameUrl;
            json["content"] = content;
            json["usage"] = new JsonObject { ["completion_tokens"] = CompletionTokens, ["total_tokens"] = CompletionTokens };
        }
        json["created_at"] = CreatedAt.ToUnixTimeSeconds();
        json["updated_at"] = UpdatedAt.ToUnixTimeSeconds();
        json["seed"] = Seed;
        json["resolution"] = Resolution;
        json["ratio"] = Ratio;
        json["duration"] = Duration;
        json["framespersecond"] = 24;
        json["generate_audio"] = GenerateAudio;
        json["execution_expires_after"] = ExecutionExpiresAfter;
        json[errorAsFailureReason ? "failure_reason" : "error"] =
            ErrorCode is null ? null : new JsonObject { ["code"] = ErrorCode, ["message"] = ErrorMessage };
        return json;
    }
}
