using System.Text.Json;
using System.Text.Json.Nodes;
using static Seedance.Server.Tests.Ark.ArkCreateRequest;

namespace Seedance.Server.Tests.Ark;

/// <summary>
/// The <c>content</c> array: items, their roles, and the rule that the three modes (first frame;
/// first + last frame; multimodal reference) never mix.
/// </summary>
internal sealed record ArkContent(string Prompt, bool HasMedia, (int Width, int Height)? FirstFrameSize)
{
    private const long MaxImageBytes = 30 * 1024 * 1024;

    private sealed record Item(int Index, string Type, string? Role, (int Width, int Height)? Size);

    public static ArkContent Parse(JsonNode? node)
    {
        if (node is null) throw Fail(ArkError.Missing("content"));
        if (node is not JsonArray array) throw Fail(ArkError.Invalid("content", "must be an array"));
        if (array.Count == 0) throw Fail(ArkError.Invalid("content", "must not be empty"));

        var prompts = new List<string>();
        var media = new List<Item>();
        for (var i = 0; i < array.Count; i++)
        {
            var at = $"content[{i}]";
            if (array[i] is not JsonObject item) throw Fail(ArkError.Invalid(at, "must be an object"));
            var type = item["type"] is JsonValue t && t.GetValueKind() == JsonValueKind.String ? t.GetValue<string>()
                : throw Fail(item["type"] is null ? ArkError.Missing($"{at}.type") : ArkError.Invalid($"{at}.type", "must be a string"));
            string[] allowed = type == "text" ? ["type", "text"] : ["type", type, "role"];
            if (type is not ("text" or "image_url" or "video_url" or "audio_url"))
                throw Fail(ArkError.Invalid($"{at}.type", $"`{type}` is not one of text, image_url, video_url, audio_url"));
            foreach (var (name, _) in item)
                if (!allowed.Contains(name)) throw Fail(ArkError.Invalid($"{at}.{name}", "unknown parameter"));

            if (type == "text")
            {
                prompts.Add(item["text"] is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>()
                    : throw Fail(item["text"] is null ? ArkError.Missing($"{at}.text") : ArkError.Invalid($"{at}.text", "must be a string")));
                continue;
            }
            var role = item["role"] switch
            {
                null => null,
                JsonValue r when r.GetValueKind() == JsonValueKind.String => r.GetValue<string>(),
                _ => throw Fail(ArkError.Invalid($"{at}.role", "must be a string")),
            };
            var url = UrlOf(item[type], $"{at}.{type}");
            media.Add(type switch
            {
                "image_url" => Image(i, role, url, at),
                "video_url" => Video(i, role, url, at),
                _ => Audio(i, role, url, at),
            });
        }

        CheckModes(media);
        if (prompts.Count == 0 && media.Count == 0) throw Fail(ArkError.Missing("content.text"));
        var firstFrame = media.FirstOrDefault(m => m.Type == "image_url" && m.Role is null or "first_frame");
        return new ArkContent(string.Join("\n", prompts), media.Count > 0, firstFrame?.Size);
    }

    private static void CheckModes(List<Item> media)
    {
        var images = media.Where(m => m.Type == "image_url").ToList();
        var frames = images.Where(m => m.Role is null or "first_frame" or "last_frame").ToList();
        var references = media.Where(m => m.Role is "reference_image" or "reference_video" or "reference_audio").ToList();
        if (frames.Count > 0 && references.Count > 0)
            throw Fail(ArkError.Invalid("content", "first/last frame images and reference media cannot be mixed"));

        if (frames.Count > 0)
        {
            if (frames.Count > 1 && frames.FirstOrDefault(f => f.Role is null) is { } bare)
                throw Fail(ArkError.Invalid($"content[{bare.Index}].role", "a role is required when more than one image is given"));
            if (frames.Count(f => f.Role is null or "first_frame") > 1) throw Fail(ArkError.Invalid("content", "at most one first_frame image"));
            if (frames.Count(f => f.Role == "last_frame") > 1) throw Fail(ArkError.Invalid("content", "at most one last_frame image"));
            if (frames.All(f => f.Role == "last_frame")) throw Fail(ArkError.Invalid("content", "a last_frame image needs a first_frame image"));
            return;
        }

        var referenceImages = references.Count(r => r.Role == "reference_image");
        var videos = references.Count(r => r.Role == "reference_video");
        var audios = references.Count(r => r.Role == "reference_audio");
        if (referenceImages > 9) throw Fail(ArkError.Invalid("content", "at most 9 reference images"));
        if (videos > 3) throw Fail(ArkError.Invalid("content", "at most 3 reference videos"));
        if (audios > 3) throw Fail(ArkError.Invalid("content", "at most 3 reference audios"));
        if (audios > 0 && referenceImages + videos == 0)
            throw Fail(ArkError.Invalid("content", "reference audio cannot be the only reference; add a reference image or video"));
    }

    private static string UrlOf(JsonNode? node, string at)
    {
        if (node is null) throw Fail(ArkError.Missing(at));
        if (node is not JsonObject obj) throw Fail(ArkError.Invalid(at, "must be an object with a url"));
        foreach (var (name, _) in obj)
            if (name != "url") throw Fail(ArkError.Invalid($"{at}.{name}", "unknown parameter"));
        return obj["url"] is JsonValue v && v.GetValueKind() == JsonValueKind.String && v.GetValue<string>().Length > 0 ? v.GetValue<string>()
            : throw Fail(obj["url"] is null ? ArkError.Missing($"{at}.url") : ArkError.Invalid($"{at}.url", "must be a non-empty string"));
    }

    private static Item Image(int index, string? role, string url, string at)
    {
        if (role is not (null or "first_frame" or "last_frame" or "reference_image"))
            throw Fail(ArkError.Invalid($"{at}.role", $"`{role}` is not a role of an image"));
        if (IsHttpUrl(url)) return new Item(index, "image_url", role, null);

        var match = MatchImageDataUrl(url);
        if (!match.Success) throw Fail(ArkError.Invalid($"{at}.image_url.url", "must be an http(s) URL or a data:image/<format>;base64 URL"));
        var bytes = Decode(match.Groups[2].Value, $"{at}.image_url.url");
        if (bytes.Length > MaxImageBytes) throw Fail(ArkError.Invalid($"{at}.image_url.url", "the image is larger than 30 MB"));
        var size = ImageSize.Of(bytes);
        if (size is null && match.Groups[1].Value != "tiff") throw Fail(ArkError.Invalid($"{at}.image_url.url", "the image cannot be decoded"));
        if (size is { } s)
        {
            if (Math.Min(s.Width, s.Height) < 300 || Math.Max(s.Width, s.Height) > 6000)
                throw Fail(ArkError.Invalid($"{at}.image_url.url", $"each side of the image must be 300-6000 px, got {s.Width}x{s.Height}"));
            var aspect = (double)s.Width / s.Height;
            if (aspect is < 0.4 or > 2.5) throw Fail(ArkError.Invalid($"{at}.image_url.url", $"the aspect ratio of the image must be 0.4-2.5, got {aspect:0.##}"));
        }
        return new Item(index, "image_url", role, size);
    }

    private static Item Video(int index, string? role, string url, string at)
    {
        if (role != "reference_video") throw Fail(ArkError.Invalid($"{at}.role", "a video must have the role reference_video"));
        if (!IsHttpUrl(url)) throw Fail(ArkError.Invalid($"{at}.video_url.url", "a reference video must be an http(s) URL (base64 is not accepted)"));
        return new Item(index, "video_url", role, null);
    }

    private static Item Audio(int index, string? role, string url, string at)
    {
        if (role != "reference_audio") throw Fail(ArkError.Invalid($"{at}.role", "an audio must have the role reference_audio"));
        if (IsHttpUrl(url)) return new Item(index, "audio_url", role, null);
        var match = MatchAudioDataUrl(url);
        if (!match.Success) throw Fail(ArkError.Invalid($"{at}.audio_url.url", "must be an http(s) URL or a data:audio/<wav|mp3>;base64 URL"));
        if (Decode(match.Groups[2].Value, $"{at}.audio_url.url").Length > 15 * 1024 * 1024)
            throw Fail(ArkError.Invalid($"{at}.audio_url.url", "the audio is larger than 15 MB"));
        return new Item(index, "audio_url", role, null);
    }

    private static byte[] Decode(string base64, string at)
    {
        try { return Convert.FromBase64String(base64); }
        catch (FormatException) { throw Fail(ArkError.Invalid(at, "the base64 data is malformed")); }
    }
}
