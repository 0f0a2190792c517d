using System.Text.Json.Serialization;

namespace Seedance.Client;

/// <summary>The generation model.</summary>
public enum VideoModel
{
    /// <summary><c>seedance-2.0</c>, the standard model (the default).</summary>
    [JsonStringEnumMemberName("seedance-2.0")] Seedance2,
    /// <summary><c>seedance-2.0-fast</c>, the fast model.</summary>
    [JsonStringEnumMemberName("seedance-2.0-fast")] Seedance2Fast,
}

/// <summary>The video resolution: the short side of the frame in pixels.</summary>
public enum VideoResolution
{
    /// <summary><c>480p</c>.</summary>
    [JsonStringEnumMemberName("480p")] P480,
    /// <summary><c>720p</c> (the default).</summary>
    [JsonStringEnumMemberName("720p")] P720,
    /// <summary><c>1080p</c>.</summary>
    [JsonStringEnumMemberName("1080p")] P1080,
}

/// <summary>The aspect ratio of the frame.</summary>
public enum AspectRatio
{
    /// <summary><c>16:9</c> (the default).</summary>
    [JsonStringEnumMemberName("16:9")] Ratio16x9,
    /// <summary><c>9:16</c>.</summary>
    [JsonStringEnumMemberName("9:16")] Ratio9x16,
    /// <summary><c>4:3</c>.</summary>
    [JsonStringEnumMemberName("4:3")] Ratio4x3,
    /// <summary><c>3:4</c>.</summary>
    [JsonStringEnumMemberName("3:4")] Ratio3x4,
    /// <summary><c>1:1</c>.</summary>
    [JsonStringEnumMemberName("1:1")] Ratio1x1,
    /// <summary><c>21:9</c>.</summary>
    [JsonStringEnumMemberName("21:9")] Ratio21x9,
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
