using System.Text.Json.Nodes;

namespace Seedance.Client;

/// <summary>
/// What to generate. Unset fields take the server's defaults (seedance-2.0, 720p, 16:9, 5 s, no audio).
/// <see cref="Validate"/> checks what does not depend on the server's catalogue; the client calls it before sending.
/// What a model offers (resolutions, ratios, durations, prices) is the server's: <see cref="SeedanceClient.GetModelsAsync"/>,
/// and <see cref="SeedanceClient.QuoteAsync"/> for the cost of a request.
/// </summary>
public sealed class VideoGenerationRequest
{
    /// <summary>An empty request: add content items to <see cref="Content"/>.</summary>
    public VideoGenerationRequest() { }

    /// <summary>A text-to-video request with the given prompt.</summary>
    public VideoGenerationRequest(string prompt) => Content.Add(ContentItem.Text(prompt));

    /// <summary>The content: at most one text, 9 images, 3 videos and 3 audio clips.</summary>
    public IList<ContentItem> Content { get; } = new List<ContentItem>();
    /// <summary>The model (server default: <see cref="VideoModel.Seedance2"/>).</summary>
    public VideoModel? Model { get; set; }
    /// <summary>The resolution (server default: <see cref="VideoResolution.P720"/>).</summary>
    public VideoResolution? Resolution { get; set; }
    /// <summary>The aspect ratio (server default: <see cref="AspectRatio.Ratio16x9"/>).</summary>
    public AspectRatio? Ratio { get; set; }
    /// <summary>The length in seconds (the document's models: 4-15, default 5; the server checks the range of the model).</summary>
    public int? Duration { get; set; }
    /// <summary>Whether to generate an audio track.</summary>
    public bool? GenerateAudio { get; set; }
    /// <summary>The random seed, -1 or more.</summary>
    public long? Seed { get; set; }
    /// <summary>Whether to add a watermark.</summary>
    public bool? Watermark { get; set; }
    /// <summary>An http(s) URL that receives the task when it ends (at most 512 characters).</summary>
    public Uri? CallbackUrl { get; set; }
    /// <summary>Whether to return the last frame as an image.</summary>
    public bool? ReturnLastFrame { get; set; }
    /// <summary>
    /// The <c>Idempotency-Key</c> sent with the submission; the client makes one when unset. Submitting the
    /// same request with the same key again (within 24 h) returns the first task instead of creating one.
    /// </summary>
    public string? IdempotencyKey { get; set; }

    /// <summary>The longest prompt, in characters.</summary>
    public const int MaxTextLength = 5000;

    /// <summary>Throws a <see cref="SeedanceException"/> (INVALID_PARAMETER or MISSING_PARAMETER) naming the first rule the request breaks.</summary>
    public void Validate()
    {
        if (Content.Count == 0) throw SeedanceException.MissingParameter("content");
        // default(VideoModel) and the like name nothing: refused rather than sent as null, which would mean "the server's default".
        if (Model is { Name: null }) throw SeedanceException.InvalidParameter("model must name a model (e.g. VideoModel.Seedance2)");
        if (Resolution is { Name: null }) throw SeedanceException.InvalidParameter("resolution must name a resolution (e.g. VideoResolution.P720)");
        if (Ratio is { Name: null }) throw SeedanceException.InvalidParameter("ratio must name a ratio (e.g. AspectRatio.Ratio16x9)");
        int Count(ContentKind kind) => Content.Count(i => i.Kind == kind);
        if (Count(ContentKind.Text) > 1) throw SeedanceException.InvalidParameter("content may hold at most one text item");
        if (Count(ContentKind.Image) > 9) throw SeedanceException.InvalidParameter("content may hold at most 9 image_url items");
        if (Count(ContentKind.Video) > 3) throw SeedanceException.InvalidParameter("content may hold at most 3 video_url items");
        if (Count(ContentKind.Audio) > 3) throw SeedanceException.InvalidParameter("content may hold at most 3 audio_url items");
        if (Count(ContentKind.Audio) > 0 && Count(ContentKind.Image) + Count(ContentKind.Video) == 0)
            throw SeedanceException.InvalidParameter("audio_url needs at least one image_url or video_url item");
        for (var i = 0; i < Content.Count; i++) CheckItem(Content[i], $"content[{i}]");
        CheckRoles();
        if (Duration is < 1) throw SeedanceException.InvalidParameter("duration must be a positive number of seconds");
        if (Seed is < -1 or > int.MaxValue) throw SeedanceException.InvalidParameter($"seed must be an integer from -1 to {int.MaxValue}");
        if (CallbackUrl is { } callback)
        {
            if (!callback.IsAbsoluteUri || callback.Scheme is not ("http" or "https"))
                throw SeedanceException.InvalidParameter("callback_url must be an absolute http or https URL");
            if (callback.OriginalString.Length > 512) throw SeedanceException.InvalidParameter("callback_url must be at most 512 characters");
        }
    }

    private static void CheckItem(ContentItem item, string at)
    {
        if (string.IsNullOrWhiteSpace(item.Value)) throw SeedanceException.InvalidParameter($"{at}.{item.WireType} must be a non-empty string");
        switch (item.Kind)
        {
            case ContentKind.Text when item.Value.Length > MaxTextLength:
                throw SeedanceException.InvalidParameter($"{at}.text must be at most {MaxTextLength} characters");
            case ContentKind.Image or ContentKind.Video or ContentKind.Audio:
                var https = item.Value.StartsWith("https://", StringComparison.Ordinal);
                if (!https && !item.Value.StartsWith("api/uploads/", StringComparison.Ordinal))
                    throw SeedanceException.InvalidParameter($"{at}.{item.WireType} must be an uploaded file_path (api/uploads/...) or an https:// URL");
                if (https && !Uri.TryCreate(item.Value, UriKind.Absolute, out _)) throw SeedanceException.InvalidParameter($"{at}.{item.WireType} is not a valid URL");
                if (item.Role is { } role && !RoleFits(item.Kind, role))
                    throw SeedanceException.InvalidParameter($"{at}.role {WireName.Of(role)} does not fit {item.WireType}");
                break;
        }
    }

    private static bool RoleFits(ContentKind kind, ContentRole role) => kind switch
    {
        ContentKind.Image => role is ContentRole.FirstFrame or ContentRole.LastFrame or ContentRole.ReferenceImage,
        ContentKind.Video => role is ContentRole.ReferenceVideo,
        _ => role is ContentRole.ReferenceAudio,
    };

    private void CheckRoles()
    {
        int Count(ContentRole role) => Content.Count(i => i.Role == role);
        if (Count(ContentRole.FirstFrame) > 1) throw SeedanceException.InvalidParameter("content may hold at most one first_frame image");
        if (Count(ContentRole.LastFrame) > 1) throw SeedanceException.InvalidParameter("content may hold at most one last_frame image");
        if (Count(ContentRole.LastFrame) == 1 && Count(ContentRole.FirstFrame) == 0)
            throw SeedanceException.InvalidParameter("a last_frame image needs a first_frame image");
        var frames = Count(ContentRole.FirstFrame) + Count(ContentRole.LastFrame);
        var references = Count(ContentRole.ReferenceImage) + Count(ContentRole.ReferenceVideo) + Count(ContentRole.ReferenceAudio);
        if (frames > 0 && references > 0) throw SeedanceException.InvalidParameter("first_frame/last_frame images cannot be mixed with reference_* items");
    }

    internal JsonObject ToJson()
    {
        var body = new JsonObject();
        if (Model is { } model) body["model"] = model.Name;
        body["content"] = new JsonArray(Content.Select(i => (JsonNode)i.ToJson()).ToArray());
        if (Resolution is { } resolution) body["resolution"] = resolution.Name;
        if (Ratio is { } ratio) body["ratio"] = ratio.Name;
        if (Duration is { } duration) body["duration"] = duration;
        if (GenerateAudio is { } audio) body["generate_audio"] = audio;
        if (Seed is { } seed) body["seed"] = seed;
        if (Watermark is { } watermark) body["watermark"] = watermark;
        if (CallbackUrl is { } callback) body["callback_url"] = callback.OriginalString;
        if (ReturnLastFrame is { } lastFrame) body["return_last_frame"] = lastFrame;
        return body;
    }
}
