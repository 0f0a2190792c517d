using Seedance.Server.Uploads;

namespace Seedance.Server.Tests.Unit;

/// <summary>The six upload types of the document: which are allowed, their extensions, their size limits and their signatures.</summary>
public sealed class MediaTypesTests
{
    private static readonly byte[] Png = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0x0D];
    private static readonly byte[] Jpeg = [0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, (byte)'J', (byte)'F', (byte)'I', (byte)'F', 0, 1];
    private static readonly byte[] Webp = "RIFF\u0024\0\0\0WEBP"u8.ToArray();
    private static readonly byte[] Mp4 = "\0\0\0\u0018ftypisom"u8.ToArray();
    private static readonly byte[] Mov = "\0\0\0\u0014ftypqt  "u8.ToArray();
    private static readonly byte[] Webm = [0x1A, 0x45, 0xDF, 0xA3, 0x9F, 0x42, 0x86, 0x81, 0x01, 0x42, 0xF7, 0x81];

    private static readonly Dictionary<string, byte[]> Heads = new()
    {
        ["image/png"] = Png, ["image/jpeg"] = Jpeg, ["image/webp"] = Webp,
        ["video/mp4"] = Mp4, ["video/quicktime"] = Mov, ["video/webm"] = Webm,
    };

    [Fact]
    public void TheSixDocumentedTypesAreAllowedAndNoOther()
    {
        Assert.Equal(["image/png", "image/jpeg", "image/webp", "video/mp4", "video/quicktime", "video/webm"], MediaTypes.All);
        foreach (var type in new[] { "image/gif", "application/pdf", "audio/mpeg", "image/png; charset=binary", "IMAGE/PNG", "" })
            Assert.False(MediaTypes.IsAllowed(type), type);
    }

    [Theory]
    [InlineData("scene.png", "image/png")]
    [InlineData("SCENE.PNG", "image/png")]
    [InlineData("photo.jpg", "image/jpeg")]
    [InlineData("photo.jpeg", "image/jpeg")]
    [InlineData("still.webp", "image/webp")]
    [InlineData("clip.mp4", "video/mp4")]
    [InlineData("clip.mov", "video/quicktime")]
    [InlineData("clip.webm", "video/webm")]
    [InlineData("场景 1.png", "image/png")]
    public void AFilenameFitsItsTypesExtension(string filename, string contentType) => Assert.True(MediaTypes.ExtensionFits(contentType, filename));

    [Theory]
    [InlineData("scene.jpg", "image/png", ".png")]
    [InlineData("scene", "image/png", ".png")]
    [InlineData("scene.png", "image/jpeg", ".jpg, .jpeg")]
    [InlineData("clip.mov", "video/mp4", ".mp4")]
    [InlineData("clip.mp4", "video/webm", ".webm")]
    [InlineData("clip.png.exe", "image/png", ".png")]
    public void AFilenameWithAnotherExtensionDoesNotFitAndTheExtensionsThatWouldAreNamed(string filename, string contentType, string extensions)
    {
        Assert.False(MediaTypes.ExtensionFits(contentType, filename));
        Assert.Equal(extensions, MediaTypes.ExtensionsOf(contentType));
    }

    [Theory]
    [InlineData("image/png", 30L * 1024 * 1024)]
    [InlineData("image/jpeg", 30L * 1024 * 1024)]
    [InlineData("image/webp", 30L * 1024 * 1024)]
    [InlineData("video/mp4", 200L * 1024 * 1024)]
    [InlineData("video/quicktime", 200L * 1024 * 1024)]
    [InlineData("video/webm", 200L * 1024 * 1024)]
    public void ImagesMayBeUpTo30MegabytesAndVideosUpTo200(string contentType, long limit) => Assert.Equal(limit, MediaTypes.LimitOf(contentType));

    [Fact]
    public void EachTypesSignatureMatchesItsOwnTypeOnly()
    {
        foreach (var (type, head) in Heads)
            foreach (var other in Heads.Keys)
            {
                // MP4 and QuickTime share the ftyp box: either signature fits either type.
                var same = type == other || (type, other) is ("video/mp4", "video/quicktime") or ("video/quicktime", "video/mp4");
                Assert.True(same == MediaTypes.Matches(other, head), $"{type} bytes as {other}");
            }
    }

    [Fact]
    public void EverySignatureFitsInTheBytesThatAreSniffed() =>
        Assert.All(Heads, h => Assert.True(MediaTypes.Matches(h.Key, h.Value.AsSpan(0, MediaTypes.SniffLength))));

    [Theory]
    [InlineData("image/png", 7)]
    [InlineData("image/jpeg", 2)]
    [InlineData("image/webp", 11)]
    [InlineData("video/mp4", 7)]
    [InlineData("video/webm", 3)]
    public void AFileShorterThanItsSignatureDoesNotMatch(string contentType, int length) =>
        Assert.False(MediaTypes.Matches(contentType, Heads[contentType].AsSpan(0, length)));

    [Theory]
    [InlineData("image/png")]
    [InlineData("video/mp4")]
    public void TextAndEmptyFilesMatchNoType(string contentType)
    {
        Assert.False(MediaTypes.Matches(contentType, "not an image at all"u8));
        Assert.False(MediaTypes.Matches(contentType, []));
    }

    [Fact]
    public void ATypeOutsideTheSixMatchesNothing() => Assert.False(MediaTypes.Matches("image/gif", "GIF89a\0\0\0\0\0\0"u8));
}
