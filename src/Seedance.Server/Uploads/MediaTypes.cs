namespace Seedance.Server.Uploads;

/// <summary>The six upload types of the document, their extensions, size limits and signatures.</summary>
public static class MediaTypes
{
    public const long ImageLimit = 30L * 1024 * 1024;
    public const long VideoLimit = 200L * 1024 * 1024;
    /// <summary>Enough leading bytes to recognise every accepted format.</summary>
    public const int SniffLength = 12;

    private static readonly Dictionary<string, string[]> Extensions = new()
    {
        ["image/png"] = [".png"],
        ["image/jpeg"] = [".jpg", ".jpeg"],
        ["image/webp"] = [".webp"],
        ["video/mp4"] = [".mp4"],
        ["video/quicktime"] = [".mov"],
        ["video/webm"] = [".webm"],
    };

    public static IEnumerable<string> All => Extensions.Keys;

    public static bool IsAllowed(string contentType) => Extensions.ContainsKey(contentType);

    public static bool ExtensionFits(string contentType, string filename) =>
        Extensions[contentType].Contains(Path.GetExtension(filename).ToLowerInvariant());

    public static string ExtensionsOf(string contentType) => string.Join(", ", Extensions[contentType]);

    public static long LimitOf(string contentType) => contentType.StartsWith("image/", StringComparison.Ordinal) ? ImageLimit : VideoLimit;

    /// <summary>True when the first bytes of a file carry the signature of <paramref name="contentType"/>.</summary>
    public static bool Matches(string contentType, ReadOnlySpan<byte> head) => contentType switch
    {
        "image/png" => head.StartsWith((byte[])[0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]),
        "image/jpeg" => head.StartsWith((byte[])[0xFF, 0xD8, 0xFF]),
        "image/webp" => head.Length >= 12 && head[..4].SequenceEqual("RIFF"u8) && head[8..12].SequenceEqual("WEBP"u8),
        "video/mp4" or "video/quicktime" => head.Length >= 8 && head[4..8].SequenceEqual("ftyp"u8),
        "video/webm" => head.StartsWith((byte[])[0x1A, 0x45, 0xDF, 0xA3]),
        _ => false,
    };
}
