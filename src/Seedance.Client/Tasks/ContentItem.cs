using System.Text.Json.Nodes;

namespace Seedance.Client;

/// <summary>The kind of a content item, named as on the wire.</summary>
public enum ContentKind
{
    /// <summary><c>text</c>: the prompt.</summary>
    Text,
    /// <summary><c>image_url</c>: a reference image.</summary>
    Image,
    /// <summary><c>video_url</c>: a reference video.</summary>
    Video,
    /// <summary><c>audio_url</c>: a reference audio clip.</summary>
    Audio,
    /// <summary><c>sample_id</c>: an entry of the operator's sample catalogue.</summary>
    Sample,
}

/// <summary>
/// One item of a task's content: the prompt, a reference file (an uploaded <c>file_path</c> or an
/// <c>https://</c> URL) with an optional role, or a sample id. Build them with the static methods.
/// </summary>
public sealed record ContentItem
{
    private ContentItem(ContentKind kind, string value, ContentRole? role)
    {
        Kind = kind;
        Value = value;
        Role = role;
    }

    /// <summary>The kind of item.</summary>
    public ContentKind Kind { get; }

    /// <summary>The prompt text, the file path or URL, or the sample id.</summary>
    public string Value { get; }

    /// <summary>The role of a reference file, if any.</summary>
    public ContentRole? Role { get; }

    /// <summary>The prompt (at most 5000 characters).</summary>
    public static ContentItem Text(string prompt) => new(ContentKind.Text, prompt, null);

    /// <summary>A reference image: an uploaded <c>file_path</c> or an <c>https://</c> URL.</summary>
    public static ContentItem Image(string filePathOrUrl, ContentRole? role = null) => new(ContentKind.Image, filePathOrUrl, role);

    /// <summary>A reference image uploaded with <see cref="SeedanceClient.UploadFileAsync(string, IProgress{TransferProgress}?, CancellationToken)"/>.</summary>
    public static ContentItem Image(UploadedFile file, ContentRole? role = null) => Image(Required(file).FilePath, role);

    /// <summary>A reference image at a public URL.</summary>
    public static ContentItem Image(Uri url, ContentRole? role = null) => Image(Required(url).AbsoluteUri, role);

    /// <summary>A reference video: an uploaded <c>file_path</c> or an <c>https://</c> URL.</summary>
    public static ContentItem Video(string filePathOrUrl, ContentRole? role = null) => new(ContentKind.Video, filePathOrUrl, role);

    /// <summary>A reference video uploaded with <see cref="SeedanceClient.UploadFileAsync(string, IProgress{TransferProgress}?, CancellationToken)"/>.</summary>
    public static ContentItem Video(UploadedFile file, ContentRole? role = null) => Video(Required(file).FilePath, role);

    /// <summary>A reference video at a public URL.</summary>
    public static ContentItem Video(Uri url, ContentRole? role = null) => Video(Required(url).AbsoluteUri, role);

    /// <summary>A reference audio clip at an <c>https://</c> URL (needs at least one image or video in the content).</summary>
    public static ContentItem Audio(string url, ContentRole? role = null) => new(ContentKind.Audio, url, role);

    /// <summary>A reference audio clip at a public URL.</summary>
    public static ContentItem Audio(Uri url, ContentRole? role = null) => Audio(Required(url).AbsoluteUri, role);

    /// <summary>An entry of the operator's sample catalogue.</summary>
    public static ContentItem Sample(string sampleId) => new(ContentKind.Sample, sampleId, null);

    internal string WireType => Kind switch
    {
        ContentKind.Text => "text",
        ContentKind.Image => "image_url",
        ContentKind.Video => "video_url",
        ContentKind.Audio => "audio_url",
        _ => "sample_id",
    };

    internal JsonObject ToJson()
    {
        var item = new JsonObject { ["type"] = WireType, [WireType] = Value };
        if (Role is { } role) item["role"] = WireName.Of(role);
        return item;
    }

    private static T Required<T>(T value) where T : class => value ?? throw new ArgumentNullException(nameof(value));
}
