using System.Text.Json.Serialization;

namespace Seedance.Client;

/// <summary>
/// The generation model, by its API name. The document's two are given; a server may offer others
/// (<see cref="SeedanceClient.GetModelsAsync"/>), and any name it answers with reads as a model.
/// </summary>
[JsonConverter(typeof(WireStringConverter<VideoModel>))]
public readonly record struct VideoModel : IWireString<VideoModel>
{
    /// <summary>A model by its API name, e.g. <c>seedance-2.0</c>.</summary>
    public VideoModel(string name) => Name = WireStrings.Check(name, nameof(name));

    /// <summary><c>seedance-2.0</c>, the standard model (the default).</summary>
    public static VideoModel Seedance2 { get; } = new("seedance-2.0");
    /// <summary><c>seedance-2.0-fast</c>, the fast model.</summary>
    public static VideoModel Seedance2Fast { get; } = new("seedance-2.0-fast");

    /// <summary>The API name.</summary>
    public string Name { get; }

    static VideoModel IWireString<VideoModel>.From(string name) => new(name);

    /// <summary>The API name.</summary>
    public override string ToString() => Name;
}

/// <summary>The video resolution by its API name (<c>720p</c>: the short side of the frame in pixels); a server may offer others.</summary>
[JsonConverter(typeof(WireStringConverter<VideoResolution>))]
public readonly record struct VideoResolution : IWireString<VideoResolution>
{
    /// <summary>A resolution by its API name, e.g. <c>720p</c>.</summary>
    public VideoResolution(string name) => Name = WireStrings.Check(name, nameof(name));

    /// <summary><c>480p</c>.</summary>
    public static VideoResolution P480 { get; } = new("480p");
    /// <summary><c>720p</c> (the default).</summary>
    public static VideoResolution P720 { get; } = new("720p");
    /// <summary><c>1080p</c>.</summary>
    public static VideoResolution P1080 { get; } = new("1080p");

    /// <summary>The API name.</summary>
    public string Name { get; }

    static VideoResolution IWireString<VideoResolution>.From(string name) => new(name);

    /// <summary>The API name.</summary>
    public override string ToString() => Name;
}

/// <summary>The aspect ratio of the frame by its API name (<c>16:9</c>); a server may offer others.</summary>
[JsonConverter(typeof(WireStringConverter<AspectRatio>))]
public readonly record struct AspectRatio : IWireString<AspectRatio>
{
    /// <summary>A ratio by its API name, e.g. <c>16:9</c>.</summary>
    public AspectRatio(string name) => Name = WireStrings.Check(name, nameof(name));

    /// <summary><c>16:9</c> (the default).</summary>
    public static AspectRatio Ratio16x9 { get; } = new("16:9");
    /// <summary><c>9:16</c>.</summary>
    public static AspectRatio Ratio9x16 { get; } = new("9:16");
    /// <summary><c>4:3</c>.</summary>
    public static AspectRatio Ratio4x3 { get; } = new("4:3");
    /// <summary><c>3:4</c>.</summary>
    public static AspectRatio Ratio3x4 { get; } = new("3:4");
    /// <summary><c>1:1</c>.</summary>
    public static AspectRatio Ratio1x1 { get; } = new("1:1");
    /// <summary><c>21:9</c>.</summary>
    public static AspectRatio Ratio21x9 { get; } = new("21:9");

    /// <summary>The API name.</summary>
    public string Name { get; }

    static AspectRatio IWireString<AspectRatio>.From(string name) => new(name);

    /// <summary>The API name.</summary>
    public override string ToString() => Name;
}

/// <summary>A value the API names with a string of its own choosing (a model, a resolution, a ratio).</summary>
public interface IWireString<TSelf> where TSelf : struct, IWireString<TSelf>
{
    /// <summary>The API name.</summary>
    string Name { get; }

    /// <summary>The value of an API name.</summary>
    static abstract TSelf From(string name);
}

/// <summary>Reads and writes an <see cref="IWireString{TSelf}"/> as its JSON string.</summary>
public sealed class WireStringConverter<T> : JsonConverter<T> where T : struct, IWireString<T>
{
    /// <inheritdoc/>
    public override T Read(ref System.Text.Json.Utf8JsonReader reader, Type typeToConvert, System.Text.Json.JsonSerializerOptions options) =>
        reader.TokenType == System.Text.Json.JsonTokenType.String && reader.GetString() is { } name && !string.IsNullOrWhiteSpace(name)
            ? T.From(name) : throw new System.Text.Json.JsonException($"expected a non-empty string for {typeof(T).Name}");

    /// <inheritdoc/>
    public override void Write(System.Text.Json.Utf8JsonWriter writer, T value, System.Text.Json.JsonSerializerOptions options) =>
        writer.WriteStringValue(value.Name ?? throw new System.Text.Json.JsonException($"a default {typeof(T).Name} names nothing"));
}

internal static class WireStrings
{
    public static string Check(string name, string parameter) =>
        string.IsNullOrWhiteSpace(name) ? throw new ArgumentException("An API name must not be empty", parameter) : name;
}

/// <summary>A task's status. <see cref="Completed"/>, <see cref="Failed"/>, <see cref="Cancelled"/> and <see cref="Expired"/> are final.</summary>
public enum VideoTaskStatus
{
    /// <summary>Accepted, waiting to be handed to the generator.</summary>
    Pending,
    /// <summary>Queued at the generator.</summary>
    Queued,
    /// <summary>Being generated.</summary>
    Processing,
    /// <summary>Done: the video is ready (final).</summary>
    Completed,
    /// <summary>Generation failed; see the error code (final, not charged).</summary>
    Failed,
    /// <summary>Cancelled (final, not charged).</summary>
    Cancelled,
    /// <summary>Did not finish in time (final, not charged).</summary>
    Expired,
}

/// <summary>The role of a reference file in the generation.</summary>
public enum ContentRole
{
    /// <summary>An image that opens the video.</summary>
    [JsonStringEnumMemberName("first_frame")] FirstFrame,
    /// <summary>An image that closes the video (needs a first frame).</summary>
    [JsonStringEnumMemberName("last_frame")] LastFrame,
    /// <summary>An image used as a reference.</summary>
    [JsonStringEnumMemberName("reference_image")] ReferenceImage,
    /// <summary>A video used as a reference.</summary>
    [JsonStringEnumMemberName("reference_video")] ReferenceVideo,
    /// <summary>An audio clip used as a reference.</summary>
    [JsonStringEnumMemberName("reference_audio")] ReferenceAudio,
}

/// <summary>The wire spelling of this library's enums (<c>16:9</c>, <c>720p</c>, <c>seedance-2.0-fast</c>, <c>processing</c>).</summary>
public static class WireName
{
    /// <summary>The value as the API writes it.</summary>
    public static string Of<T>(T value) where T : struct, Enum =>
        System.Text.Json.JsonSerializer.Serialize(value, Internal.Wire.Options).Trim('"');

    /// <summary>Reads a value as the API writes it; false when it is not one of <typeparamref name="T"/>'s.</summary>
    public static bool TryParse<T>(string? text, out T value) where T : struct, Enum
    {
        foreach (var candidate in Enum.GetValues<T>())
        {
            if (string.Equals(Of(candidate), text, StringComparison.OrdinalIgnoreCase))
            {
                value = candidate;
                return true;
            }
        }
        value = default;
        return false;
    }

    /// <summary>Every value of <typeparamref name="T"/> as the API writes it.</summary>
    public static IReadOnlyList<string> All<T>() where T : struct, Enum => Enum.GetValues<T>().Select(Of).ToList();
}
