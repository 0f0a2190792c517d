using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Seedance.Server.Tests.Ark;

/// <summary>A create body that passed Ark's checks, with the defaults filled in.</summary>
internal sealed record ArkCreateRequest(
    string Model, string Prompt, string Resolution, string Ratio, int Duration, long Seed,
    bool Watermark, bool GenerateAudio, bool ReturnLastFrame, string? CallbackUrl, long ExecutionExpiresAfter)
{
    public static readonly string[] Models =
    [
        "doubao-seedance-2-0-260128", "doubao-seedance-2-0-fast-260128",
        "dreamina-seedance-2-0-260128", "dreamina-seedance-2-0-fast-260128",
    ];
    public static readonly string[] Ratios = ["16:9", "4:3", "1:1", "3:4", "9:16", "21:9", "adaptive"];
    public static readonly string[] Resolutions = ["480p", "720p", "1080p"];

    private static readonly HashSet<string> Fields =
    [
        "model", "content", "resolution", "ratio", "duration", "seed", "watermark", "generate_audio",
        "return_last_frame", "callback_url", "execution_expires_after",
    ];

    private static readonly Regex ImageDataUrl = new("^data:image/(jpeg|jpg|png|webp|bmp|tiff|gif);base64,(.*)$", RegexOptions.Singleline);
    private static readonly Regex AudioDataUrl = new("^data:audio/(wav|x-wav|wave|mp3|mpeg);base64,(.*)$", RegexOptions.Singleline);

    /// <summary>Checks a raw create body as strictly as the contract page says; throws <see cref="ArkErrorException"/>.</summary>
    public static ArkCreateRequest Parse(string raw)
    {
        JsonObject body;
        try { body = JsonNode.Parse(raw) as JsonObject ?? throw Fail(ArkError.Invalid("body", "the body must be a JSON object")); }
        catch (JsonException) { throw Fail(ArkError.Invalid("body", "the body is not valid JSON")); }

        foreach (var (name, _) in body)
            if (!Fields.Contains(name)) throw Fail(ArkError.Invalid(name, "unknown parameter"));

        var model = String(body, "model") ?? throw Fail(ArkError.Missing("model"));
        if (!Models.Contains(model) && !(model.StartsWith("ep-", StringComparison.Ordinal) && model.Length > 3))
            throw Fail(new ArkError(404, "InvalidEndpointOrModel.NotFound",
                $"The model or endpoint {model} does not exist or you do not have access to it.", "model"));

        var content = ArkContent.Parse(body["content"]);

        var resolution = String(body, "resolution") ?? "720p";
        if (!Resolutions.Contains(resolution)) throw Fail(ArkError.Invalid("resolution", $"`{resolution}` is not one of 480p, 720p, 1080p"));
        if (model.Contains("-fast-", StringComparison.Ordinal) && resolution == "1080p")
            throw Fail(ArkError.Invalid("resolution", $"the model {model} supports up to 720p"));

        var ratio = String(body, "ratio") ?? (content.HasMedia ? "adaptive" : "16:9");
        if (!Ratios.Contains(ratio)) throw Fail(ArkError.Invalid("ratio", $"`{ratio}` is not a supported ratio"));
        if (ratio == "adaptive") ratio = content.FirstFrameSize is { } size ? NearestRatio(size.Width, size.Height) : "16:9";

        var duration = Integer(body, "duration") ?? 5;
        if (duration != -1 && duration is < 4 or > 15) throw Fail(ArkError.Invalid("duration", "must be between 4 and 15, or -1"));
        if (duration == -1) duration = 5; // the model's own choice

        var seed = Integer(body, "seed") ?? -1;
        if (seed is < -1 or > int.MaxValue) throw Fail(ArkError.Invalid("seed", "must be between -1 and 2147483647"));
        if (seed == -1) seed = Random.Shared.NextInt64(0, (long)int.MaxValue + 1);

        var callbackUrl = String(body, "callback_url");
        if (callbackUrl is not null && !IsHttpUrl(callbackUrl)) throw Fail(ArkError.Invalid("callback_url", "must be an absolute http(s) URL"));

        var expiresAfter = Integer(body, "execution_expires_after") ?? 172800;
        if (expiresAfter < 1) throw Fail(ArkError.Invalid("execution_expires_after", "must be a positive number of seconds"));

        return new ArkCreateRequest(model, content.Prompt, resolution, ratio, (int)duration, seed,
            Boolean(body, "watermark") ?? false, Boolean(body, "generate_audio") ?? true, Boolean(body, "return_last_frame") ?? false,
            callbackUrl, expiresAfter);
    }

    /// <summary>Output size: the short side is the resolution, the long side follows the ratio, rounded to even.</summary>
    public static (int Width, int Height) SizeOf(string resolution, string ratio)
    {
        var shortSide = int.Parse(resolution.TrimEnd('p'));
        var parts = ratio.Split(':');
        int w = int.Parse(parts[0]), h = int.Parse(parts[1]);
        var longSide = (int)Math.Round(shortSide * (double)Math.Max(w, h) / Math.Min(w, h) / 2, MidpointRounding.AwayFromZero) * 2;
        return w >= h ? (longSide, shortSide) : (shortSide, longSide);
    }

    /// <summary>Tokens = width x height x (duration x 24 + 1) / 1024.</summary>
    public static long TokensOf(int width, int height, int duration) => (long)width * height * (duration * 24 + 1) / 1024;

    private static string NearestRatio(int width, int height) =>
        Ratios.Where(r => r != "adaptive")
            .MinBy(r => { var p = r.Split(':'); return Math.Abs(Math.Log((double)width / height) - Math.Log(double.Parse(p[0]) / double.Parse(p[1]))); })!;

    internal static bool IsHttpUrl(string url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps);

    internal static Match MatchImageDataUrl(string url) => ImageDataUrl.Match(url);
    internal static Match MatchAudioDataUrl(string url) => AudioDataUrl.Match(url);

    internal static ArkErrorException Fail(ArkError error) => new(error);

    // null counts as absent, as a Go server decoding into pointer fields treats it
    private static string? String(JsonObject body, string name) => body[name] switch
    {
        null => null,
        JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
        _ => throw Fail(ArkError.Invalid(name, "must be a string")),
    };

    private static long? Integer(JsonObject body, string name) => body[name] switch
    {
        null => null,
        JsonValue v when v.GetValueKind() == JsonValueKind.Number && v.TryGetValue<long>(out var n) => n,
        _ => throw Fail(ArkError.Invalid(name, "must be an integer")),
    };

    private static bool? Boolean(JsonObject body, string name) => body[name] switch
    {
        null => null,
        JsonValue v when v.GetValueKind() == JsonValueKind.True => true,
        JsonValue v when v.GetValueKind() == JsonValueKind.False => false,
        _ => throw Fail(ArkError.Invalid(name, "must be a boolean")),
    };
}
