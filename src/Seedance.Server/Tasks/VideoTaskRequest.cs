using System.ComponentModel;

namespace Seedance.Server.Tasks;

/// <summary>
/// The body of a submission or a quote as the API documents describe it; for them only: the handlers parse the JSON
/// themselves (<see cref="TaskRequest.Parse"/>), to refuse unknown fields and name the bad one.
/// </summary>
public sealed record VideoTaskRequest(
    [property: Description("What to generate from: a prompt, reference images, videos and audio, or a sample")] IReadOnlyList<VideoTaskContent> Content,
    [property: Description("A model of GET /api/v1/video/models; the default model when absent")] string? Model = null,
    [property: Description("480p, 720p or 1080p, as the model offers; its default when absent")] string? Resolution = null,
    [property: Description("16:9, 9:16, 4:3, 3:4, 1:1 or 21:9, as the model offers; its default when absent")] string? Ratio = null,
    [property: Description("Seconds of video, in the model's range (4-15 for the document's models)")] int? Duration = null,
    [property: Description("Generate an audio track, where the model offers it")] bool? GenerateAudio = null,
    [property: Description("-1 (random) or a seed to repeat a result")] long? Seed = null,
    bool? Watermark = null,
    [property: Description("An http(s) address (at most 512 characters) that receives the task object when the task ends, signed per Standard Webhooks")]
    string? CallbackUrl = null,
    [property: Description("Also produce the last frame as an image (last_frame_url)")] bool? ReturnLastFrame = null);

/// <summary>One item of <see cref="VideoTaskRequest.Content"/>: its type names the one other field it carries.</summary>
public sealed record VideoTaskContent(
    [property: Description("text, image_url, video_url, audio_url or sample_id")] string Type,
    [property: Description("The prompt, at most 5000 characters")] string? Text = null,
    [property: Description(VideoTaskContent.Media)] string? ImageUrl = null,
    [property: Description(VideoTaskContent.Media)] string? VideoUrl = null,
    [property: Description(VideoTaskContent.Media)] string? AudioUrl = null,
    [property: Description("An entry of the operator's sample catalogue")] string? SampleId = null,
    [property: Description("first_frame, last_frame, reference_image, reference_video or reference_audio")] string? Role = null)
{
    internal const string Media = "A file_path from POST /api/v1/video/upload/presign, or an https:// URL (an object {\"url\": \"...\"} is accepted too)";
}
