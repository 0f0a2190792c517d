using System.Text.Json;
using Seedance.Server.Infrastructure;

namespace Seedance.Server.Tasks;

/// <summary>One content item after validation; uploads are checked against the store at submission.</summary>
public sealed record ContentItem(
    string Type, string? Text = null, string? Url = null, string? FilePath = null, string? Role = null, string? SampleId = null, string? ContentType = null);

/// <summary>A submission body, validated field by field with messages that name the field and the rule.</summary>
public sealed record TaskRequest(
    string Model, IReadOnlyList<ContentItem> Content, string Resolution, string Ratio, int Duration,
    bool GenerateAudio, long? Seed, bool Watermark, string? CallbackUrl, bool ReturnLastFrame)
{
    private static readonly string[] Fields =
        ["model", "content", "resolution", "ratio", "duration", "generate_audio", "seed", "watermark", "callback_url", "return_last_frame"];
    private const int MaxText = 5000;

    /// <summary>The body checked against <paramref name="catalogue"/>: the model, then what that model offers.</summary>
    public static TaskRequest Parse(JsonElement body, ModelCatalogue catalogue)
    {
        if (body.ValueKind != JsonValueKind.Object) throw ApiError.InvalidParameter("body must be a JSON object");
        foreach (var property in body.EnumerateObject())
            if (!Fields.Contains(property.Name)) throw ApiError.InvalidParameter($"unknown field '{property.Name}'");

        var model = catalogue.Find(OneOf(body, "model", catalogue.Names, catalogue.Default.Name, null, null, null))!;
        var resolution = OneOf(body, "resolution", model.Resolutions, model.DefaultResolution, catalogue, model, static (m, asked) => m.Prices.ContainsKey(asked));
        var ratio = OneOf(body, "ratio", model.Ratios, model.DefaultRatio, catalogue, model, static (m, asked) => m.Ratios.Contains(asked));
        var duration = (int)(Integer(body, "duration", model.MinDuration, model.MaxDuration, $"must be {model.MinDuration}-{model.MaxDuration}") ?? model.DefaultDuration);
        var seed = Integer(body, "seed", -1, int.MaxValue, $"must be an integer from -1 to {int.MaxValue}");
        var audio = Boolean(body, "generate_audio");
        if (audio && !model.Audio) throw ApiError.InvalidParameter($"generate_audio is not offered for {model.Name}");
        var callback = ParseCallbackUrl(body);
        var content = ParseContent(body);

        return new TaskRequest(model.Name, content, resolution, ratio, duration,
            audio, seed, Boolean(body, "watermark"), callback, Boolean(body, "return_last_frame"));
    }

    private static JsonElement? Optional(JsonElement body, string name) =>
        body.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null ? value : null;

    /// <param name="offers">Whether a model offers a value: a value <paramref name="model"/> does not offer but another model of
    /// <paramref name="catalogue"/> does is refused naming <paramref name="model"/>. Static, so a submission allocates nothing for it.</param>
    private static string OneOf(JsonElement body, string name, IReadOnlyList<string> allowed, string fallback,
        ModelCatalogue? catalogue, ModelEntry? model, Func<ModelEntry, string, bool>? offers)
    {
        if (Optional(body, name) is not { } value) return fallback;
        if (value.ValueKind != JsonValueKind.String || !allowed.Contains(value.GetString()!))
        {
            var asked = value.ValueKind == JsonValueKind.String ? value.GetString()! : null;
            var elsewhere = asked is not null && offers is not null && catalogue!.Models.Any(m => offers(m, asked));
            throw ApiError.InvalidParameter($"{name} must be one of {string.Join(", ", allowed)}{(elsewhere ? $" for {model!.Name}" : "")}");
        }
        return value.GetString()!;
    }

    private static long? Integer(JsonElement body, string name, long min, long max, string rule)
    {
        if (Optional(body, name) is not { } value) return null;
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt64(out var number) || number < min || number > max)
            throw ApiError.InvalidParameter($"{name} {rule}");
        return number;
    }

    private static bool Boolean(JsonElement body, string name)
    {
        if (Optional(body, name) is not { } value) return false;
        return value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw ApiError.InvalidParameter($"{name} must be true or false"),
        };
    }

    private static string? ParseCallbackUrl(JsonElement body)
    {
        if (Optional(body, "callback_url") is not { } value) return null;
        var url = value.ValueKind == JsonValueKind.String ? value.GetString()! : throw ApiError.InvalidParameter("callback_url must be a string");
        if (url.Length > 512) throw ApiError.InvalidParameter("callback_url must be at most 512 characters");
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || string.IsNullOrEmpty(uri.Host))
            throw ApiError.InvalidParameter("callback_url must be an absolute http or https URL");
        return url;
    }

    private static List<ContentItem> ParseContent(JsonElement body)
    {
        if (Optional(body, "content") is not { } content) throw ApiError.MissingParameter("content");
        if (content.ValueKind != JsonValueKind.Array || content.GetArrayLength() == 0)
            throw ApiError.InvalidParameter("content must be a non-empty array");

        var items = content.EnumerateArray().Select(Item).ToList();
        int Count(string type) => items.Count(i => i.Type == type);
        if (Count("text") > 1) throw ApiError.InvalidParameter("content may hold at most one text item");
        if (Count("image_url") > 9) throw ApiError.InvalidParameter("content may hold at most 9 image_url items");
        if (Count("video_url") > 3) throw ApiError.InvalidParameter("content may hold at most 3 video_url items");
        if (Count("audio_url") > 3) throw ApiError.InvalidParameter("content may hold at most 3 audio_url items");
        if (Count("audio_url") > 0 && Count("image_url") + Count("video_url") == 0)
            throw ApiError.InvalidParameter("audio_url needs at least one image_url or video_url item");
        CheckRoles(items);
        return items;
    }

    private static ContentItem Item(JsonElement item, int index)
    {
        var at = $"content[{index}]";
        if (item.ValueKind != JsonValueKind.Object) throw ApiError.InvalidParameter($"{at} must be an object");
        if (!item.TryGetProperty("type", out var typeValue) || typeValue.ValueKind == JsonValueKind.Null)
            throw ApiError.MissingParameter($"{at}.type");
        if (typeValue.ValueKind != JsonValueKind.String) throw UnknownType(at);
        var type = typeValue.GetString()!;
        var allowed = new[] { "type", type, "role" };
        foreach (var property in item.EnumerateObject())
            if (!allowed.Contains(property.Name)) throw ApiError.InvalidParameter($"unknown field '{at}.{property.Name}'");

        switch (type)
        {
            case "text":
                var text = RequiredString(item, "text", at);
                if (text.Length > MaxText) throw ApiError.InvalidParameter($"{at}.text must be at most {MaxText} characters");
                if (item.TryGetProperty("role", out _)) throw ApiError.InvalidParameter($"{at}.role is not allowed on text");
                return new ContentItem(type, Text: text);
            case "sample_id":
                if (item.TryGetProperty("role", out _)) throw ApiError.InvalidParameter($"{at}.role is not allowed on sample_id");
                return new ContentItem(type, SampleId: RequiredString(item, "sample_id", at));
            case "image_url" or "video_url" or "audio_url":
                var reference = MediaReference(item, type, at);
                var role = Role(item, type, at);
                return reference.StartsWith("https://", StringComparison.Ordinal)
                    ? new ContentItem(type, Url: reference, Role: role)
                    : new ContentItem(type, FilePath: reference, Role: role);
            default:
                throw UnknownType(at);
        }
    }

    private static ApiError UnknownType(string at) =>
        ApiError.InvalidParameter($"{at}.type must be one of text, image_url, video_url, audio_url, sample_id");

    private static string RequiredString(JsonElement item, string name, string at)
    {
        if (!item.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null) throw ApiError.MissingParameter($"{at}.{name}");
        if (value.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(value.GetString()))
            throw ApiError.InvalidParameter($"{at}.{name} must be a non-empty string");
        return value.GetString()!;
    }

    private static string MediaReference(JsonElement item, string type, string at)
    {
        if (!item.TryGetProperty(type, out var value) || value.ValueKind == JsonValueKind.Null) throw ApiError.MissingParameter($"{at}.{type}");
        string? reference = value.ValueKind switch
        {
            JsonValueKind.String => value.GetString(),
            JsonValueKind.Object when value.EnumerateObject().All(p => p.Name == "url") && value.TryGetProperty("url", out var url)
                && url.ValueKind == JsonValueKind.String => url.GetString(),
            _ => null,
        };
        if (string.IsNullOrWhiteSpace(reference))
            throw ApiError.InvalidParameter($"{at}.{type} must be an uploaded file_path, an https:// URL, or {{\"url\": ...}}");
        if (!reference.StartsWith("https://", StringComparison.Ordinal) && !reference.StartsWith("api/uploads/", StringComparison.Ordinal))
            throw ApiError.InvalidParameter($"{at}.{type} must be an uploaded file_path (api/uploads/...) or an https:// URL");
        if (reference.StartsWith("https://", StringComparison.Ordinal) && !Uri.TryCreate(reference, UriKind.Absolute, out _))
            throw ApiError.InvalidParameter($"{at}.{type} is not a valid URL");
        return reference;
    }

    private static string? Role(JsonElement item, string type, string at)
    {
        if (!item.TryGetProperty("role", out var value) || value.ValueKind == JsonValueKind.Null) return null;
        var role = value.ValueKind == JsonValueKind.String ? value.GetString() : null;
        if (role is null || !AllowedRoles(type).Contains(role))
            throw ApiError.InvalidParameter($"{at}.role must be one of {string.Join(", ", AllowedRoles(type))} for {type}");
        return role;
    }

    private static string[] AllowedRoles(string type) => type switch
    {
        "image_url" => ["first_frame", "last_frame", "reference_image"],
        "video_url" => ["reference_video"],
        _ => ["reference_audio"],
    };

    /// <summary>The upstream's three modes never mix: first frame; first and last frame; multimodal reference.</summary>
    private static void CheckRoles(List<ContentItem> items)
    {
        int Count(string role) => items.Count(i => i.Role == role);
        if (Count("first_frame") > 1) throw ApiError.InvalidParameter("content may hold at most one first_frame image");
        if (Count("last_frame") > 1) throw ApiError.InvalidParameter("content may hold at most one last_frame image");
        if (Count("last_frame") == 1 && Count("first_frame") == 0)
            throw ApiError.InvalidParameter("a last_frame image needs a first_frame image");
        var frames = Count("first_frame") + Count("last_frame");
        var references = items.Count(i => i.Role is "reference_image" or "reference_video" or "reference_audio");
        if (frames > 0 && references > 0)
            throw ApiError.InvalidParameter("first_frame/last_frame images cannot be mixed with reference_* items");
    }
}
