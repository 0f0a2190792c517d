using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net;
using System.Text.RegularExpressions;
using System.Text;
using FFMpegCore;
using Seedance.Server.Data;
using Seedance.Server.Storage;
using Seedance.Server.Tests.Support;

namespace Seedance.Server.Tests;

/// <summary>Presigned uploads: the presign rules, the S3-like PUT, and how tasks may reference what landed.</summary>
[TakesAbout(16)]
public sealed class UploadTests(LocalStoreFixture fixture) : IClassFixture<LocalStoreFixture>
{
    private RunningServer Server => fixture.Server;

    private static Task<ApiResponse> PresignAsync(ApiClient client, string query) =>
        client.Http.PostAsync("/api/v1/video/upload/presign" + query, null).ContinueWith(t => ApiResponse.From(t.Result)).Unwrap();

    private static Task<ApiResponse> PresignAsync(ApiClient client, string filename, string contentType) =>
        PresignAsync(client, $"?filename={Uri.EscapeDataString(filename)}&content_type={Uri.EscapeDataString(contentType)}");

    private static async Task<(string Url, string FilePath)> PresignedAsync(ApiClient client, string filename, string contentType)
    {
        var presign = await PresignAsync(client, filename, contentType);
        presign.AssertOk();
        return (presign.Result!["presigned_url"]!.GetValue<string>(), presign.Result!["file_path"]!.GetValue<string>());
    }

    /// <summary>
    /// A PUT as an S3 client makes it: no API key, the given Content-Type, a known length unless <paramref name="chunked"/>.
    /// With <paramref name="expectContinue"/> the body waits for the server's go-ahead, as curl does for large files,
    /// so a refusal before the body is read arrives as a response rather than a reset connection.
    /// </summary>
    private static async Task<HttpResponseMessage> PutAsync(string url, byte[] bytes, string contentType, bool chunked = false, bool expectContinue = false)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
        HttpContent content = chunked ? new StreamContent(new UnknownLengthStream(bytes)) : new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        var request = new HttpRequestMessage(HttpMethod.Put, url) { Content = content };
        request.Headers.ExpectContinue = expectContinue;
        var response = await http.SendAsync(request);
        await response.Content.LoadIntoBufferAsync();
        return response;
    }

    private async Task<ApiResponse> SubmitWithAsync(ApiClient client, string type, object value) =>
        await client.SubmitAsync(new Dictionary<string, object>
        {
            ["content"] = new object[]
            {
                new Dictionary<string, object> { ["type"] = type, [type] = value },
                new { type = "text", text = ServerFixture.Stalled },
            },
            ["resolution"] = "480p", ["duration"] = 4,
        });

    private string StoredPath(string filePath) => Path.Combine(Server.DataDir, "files", filePath);

    /// <summary>Every file under the key's own upload folder (temporary files included).</summary>
    private string[] FilesOfKey(ApiClient client)
    {
        var dir = Path.Combine(Server.DataDir, "files", "api", "uploads", client.KeyId.ToString());
        return Directory.Exists(dir) ? Directory.GetFiles(dir, "*", SearchOption.AllDirectories) : [];
    }

    private static async Task AssertDeniedAsync(HttpResponseMessage response, string message)
    {
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        var envelope = await ApiResponse.From(response);
        envelope.AssertError(403, "ACCESS_DENIED", message);
    }

    [Theory]
    [InlineData("", "Missing parameter: filename")]
    [InlineData("?content_type=image/png", "Missing parameter: filename")]
    [InlineData("?filename=&content_type=image/png", "Missing parameter: filename")]
    [InlineData("?filename=scene.png", "Missing parameter: content_type")]
    [InlineData("?filename=scene.png&content_type=", "Missing parameter: content_type")]
    public async Task PresignWithoutFilenameOrContentTypeIsRefusedAsMissingParameter(string query, string message)
    {
        using var client = await Server.CreateKeyAsync();
        var response = await PresignAsync(client, query);
        response.AssertError(400, "MISSING_PARAMETER", message);
    }

    [Fact]
    public async Task AFilenameLongerThan128CharactersIsRefusedAndOneOf128IsAccepted()
    {
        using var client = await Server.CreateKeyAsync();
        var tooLong = await PresignAsync(client, new string('a', 125) + ".png", "image/png");
        tooLong.AssertError(400, "INVALID_PARAMETER", "Invalid parameter: filename must be at most 128 characters");
        var longest = await PresignAsync(client, new string('a', 124) + ".png", "image/png");
        longest.AssertOk();
    }

    [Theory]
    [InlineData("../scene.png")]
    [InlineData("dir/scene.png")]
    [InlineData("dir\\scene.png")]
    [InlineData("sce\nne.png")]
    [InlineData("sce\u0000ne.png")]
    [InlineData("..")]
    public async Task AFilenameWithPathSeparatorsOrControlCharactersIsRefused(string filename)
    {
        using var client = await Server.CreateKeyAsync();
        var response = await PresignAsync(client, filename, "image/png");
        response.AssertError(400, "INVALID_PARAMETER", "filename must not contain path separators or control characters");
    }

    [Theory]
    [InlineData("scene.gif", "image/gif")]
    [InlineData("scene.pdf", "application/pdf")]
    [InlineData("meow.mp3", "audio/mpeg")]
    [InlineData("scene.png", "image/png; charset=binary")]
    public async Task AContentTypeOutsideTheSixDocumentedOnesIsRefused(string filename, string contentType)
    {
        using var client = await Server.CreateKeyAsync();
        var response = await PresignAsync(client, filename, contentType);
        response.AssertError(400, "INVALID_PARAMETER",
            "content_type must be one of image/png, image/jpeg, image/webp, video/mp4, video/quicktime, video/webm");
    }

    [Theory]
    [InlineData("scene.jpg", "image/png", ".png")]
    [InlineData("scene", "image/png", ".png")]
    [InlineData("scene.png", "image/jpeg", ".jpg, .jpeg")]
    [InlineData("clip.mov", "video/mp4", ".mp4")]
    [InlineData("clip.mp4", "video/webm", ".webm")]
    [InlineData("clip.png.exe", "image/png", ".png")]
    public async Task AFilenameExtensionThatDoesNotMatchTheContentTypeIsRefused(string filename, string contentType, string extensions)
    {
        using var client = await Server.CreateKeyAsync();
        var response = await PresignAsync(client, filename, contentType);
        response.AssertError(400, "INVALID_PARAMETER", $"filename extension must be {extensions} for {contentType}");
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
    public async Task PresignAnswersTheDocumentedShape(string filename, string contentType)
    {
        using var client = await Server.CreateKeyAsync();
        var response = await PresignAsync(client, filename, contentType);
        response.AssertOk();
        var result = response.Result!.AsObject();
        Assert.Equal(["expires_in", "file_path", "presigned_url"], result.Select(p => p.Key).Order());
        Assert.Equal("3600", result["expires_in"]!.ToJsonString());
        var filePath = result["file_path"]!.GetValue<string>();
        Assert.Matches(new Regex($"^api/uploads/{client.KeyId}/[0-9a-f]{{32}}_{Regex.Escape(filename)}$"), filePath);
        var url = new Uri(result["presigned_url"]!.GetValue<string>());
        Assert.StartsWith(Server.BaseUrl, url.AbsoluteUri);
        Assert.Equal("/files/" + filePath, Uri.UnescapeDataString(url.AbsolutePath));
    }

    [Fact]
    public async Task TwoPresignsOfTheSameFilenameGetDifferentFilePaths()
    {
        using var client = await Server.CreateKeyAsync();
        var (_, first) = await PresignedAsync(client, "scene.png", "image/png");
        var (_, second) = await PresignedAsync(client, "scene.png", "image/png");
        Assert.NotEqual(first, second);
    }

    [Fact]
    public async Task PresignAcceptsTheSameFieldsAsAJsonBody()
    {
        using var client = await Server.CreateKeyAsync();
        var response = await client.PostTextAsync("/api/v1/video/upload/presign", """{"filename":"scene.png","content_type":"image/png"}""");
        response.AssertOk();
        Assert.EndsWith("_scene.png", response.Result!["file_path"]!.GetValue<string>());

        var missing = await client.PostTextAsync("/api/v1/video/upload/presign", """{"filename":"scene.png"}""");
        missing.AssertError(400, "MISSING_PARAMETER", "Missing parameter: content_type");
    }

    [Fact]
    public async Task PresignAcceptsAJsonBodySentWithoutAContentLength()
    {
        using var client = await Server.CreateKeyAsync();
        var response = await ApiResponse.From(await client.Http.PostAsJsonAsync("/api/v1/video/upload/presign",
            new { filename = "scene.png", content_type = "image/png" }));
        response.AssertOk();
        Assert.EndsWith("_scene.png", response.Result!["file_path"]!.GetValue<string>());
    }

    [Fact]
    public async Task PresignWithTheJsonContentTypeButNoBodyStillReadsTheQuery()
    {
        // The document's Python example sends Content-Type: application/json on every call, body or not.
        using var client = await Server.CreateKeyAsync();
        var response = await client.PostTextAsync("/api/v1/video/upload/presign?filename=scene.png&content_type=image/png", "");
        response.AssertOk();
        var missing = await client.PostTextAsync("/api/v1/video/upload/presign", "");
        missing.AssertError(400, "MISSING_PARAMETER", "Missing parameter: filename");
    }

    [Fact]
    public async Task APutWithTheSignedContentTypeStoresTheBytes()
    {
        using var client = await Server.CreateKeyAsync();
        var png = await Media.PngAsync();
        var (url, filePath) = await PresignedAsync(client, "scene.png", "image/png");
        var response = await PutAsync(url, png, "image/png");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(png, await File.ReadAllBytesAsync(StoredPath(filePath)));
    }

    [Fact]
    public async Task APutWithADifferentContentTypeIsDeniedAndStoresNothing()
    {
        using var client = await Server.CreateKeyAsync();
        var (url, _) = await PresignedAsync(client, "scene.png", "image/png");
        await AssertDeniedAsync(await PutAsync(url, await Media.PngAsync(), "image/jpeg"), "Content-Type");
        Assert.Empty(FilesOfKey(client));
    }

    [Fact]
    public async Task ATamperedSignatureIsDenied()
    {
        using var client = await Server.CreateKeyAsync();
        var png = await Media.PngAsync();
        var (url, _) = await PresignedAsync(client, "scene.png", "image/png");
        var last = url[^1];
        var tampered = url[..^1] + (last == 'A' ? 'B' : 'A');
        await AssertDeniedAsync(await PutAsync(tampered, png, "image/png"), "signature");
        Assert.Empty(FilesOfKey(client));
    }

    [Fact]
    public async Task ALaterExpiryOrAnotherPathUnderTheSameSignatureIsDenied()
    {
        using var client = await Server.CreateKeyAsync();
        var png = await Media.PngAsync();
        var (url, _) = await PresignedAsync(client, "scene.png", "image/png");
        var (otherUrl, _) = await PresignedAsync(client, "other.png", "image/png");

        var expires = Regex.Match(url, "expires=([0-9]+)").Groups[1].Value;
        var extended = url.Replace("expires=" + expires, "expires=" + (long.Parse(expires) + 86400));
        await AssertDeniedAsync(await PutAsync(extended, png, "image/png"), "signature");

        var swapped = new Uri(otherUrl).GetLeftPart(UriPartial.Path) + new Uri(url).Query;
        await AssertDeniedAsync(await PutAsync(swapped, png, "image/png"), "signature");

        var unsigned = new Uri(url).GetLeftPart(UriPartial.Path);
        await AssertDeniedAsync(await PutAsync(unsigned, png, "image/png"), "signature");
        Assert.Empty(FilesOfKey(client));
    }

    [Fact]
    public async Task AnExpiredPresignedUrlIsDenied()
    {
        using var client = await Server.CreateKeyAsync();
        var (_, filePath) = await PresignedAsync(client, "scene.png", "image/png");
        var signer = Server.Services.GetRequiredService<UrlSigner>();
        var path = FileStore.RoutePrefix + FileStore.EscapePath(filePath);
        var expired = $"{Server.BaseUrl}{path}?{signer.Sign("PUT", path, DateTimeOffset.UtcNow.AddSeconds(-5), "image/png")}";
        await AssertDeniedAsync(await PutAsync(expired, await Media.PngAsync(), "image/png"), "expired");
        Assert.Empty(FilesOfKey(client));
    }

    public static TheoryData<string, string, byte[]> MismatchedBytes() => new()
    {
        { "scene.png", "image/png", [0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, (byte)'J', (byte)'F', (byte)'I', (byte)'F', 0, 1, 1, 0] },
        { "scene.png", "image/png", Encoding.ASCII.GetBytes("<html><body>not an image</body></html>") },
        { "scene.png", "image/png", [] },
        { "photo.jpg", "image/jpeg", [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0] },
        { "still.webp", "image/webp", Encoding.ASCII.GetBytes("RIFF\0\0\0\0WAVEfmt ") },
        { "clip.mp4", "video/mp4", [0x1A, 0x45, 0xDF, 0xA3, 0, 0, 0, 0, 0, 0, 0, 0] },
        { "clip.webm", "video/webm", [0, 0, 0, 0x18, (byte)'f', (byte)'t', (byte)'y', (byte)'p', (byte)'m', (byte)'p', (byte)'4', (byte)'2'] },
    };

    [Theory]
    [MemberData(nameof(MismatchedBytes))]
    public async Task BytesThatDoNotMatchTheDeclaredTypeAreRefusedAndNothingIsKept(string filename, string contentType, byte[] bytes)
    {
        using var client = await Server.CreateKeyAsync();
        var (url, filePath) = await PresignedAsync(client, filename, contentType);
        var response = await ApiResponse.From(await PutAsync(url, bytes, contentType));
        response.AssertError(400, "INVALID_PARAMETER", $"file content is not {contentType}");
        Assert.Empty(FilesOfKey(client));

        var type = contentType.StartsWith("image/") ? "image_url" : "video_url";
        var task = await SubmitWithAsync(client, type, filePath);
        task.AssertError(400, "INVALID_PARAMETER", "is not a file uploaded with this API key");
    }

    [Fact]
    public async Task ARefusedPutLeavesAnEarlierGoodUploadInPlace()
    {
        using var client = await Server.CreateKeyAsync();
        var png = await Media.PngAsync();
        var (url, filePath) = await PresignedAsync(client, "scene.png", "image/png");
        Assert.Equal(HttpStatusCode.OK, (await PutAsync(url, png, "image/png")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await PutAsync(url, Encoding.ASCII.GetBytes("not a png at all"), "image/png")).StatusCode);
        Assert.Equal([StoredPath(filePath)], FilesOfKey(client));
        Assert.Equal(png, await File.ReadAllBytesAsync(StoredPath(filePath)));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AnImageOver30MegabytesIsRefusedWith413AndNothingIsKept(bool chunked)
    {
        using var client = await Server.CreateKeyAsync();
        var (url, filePath) = await PresignedAsync(client, "huge.png", "image/png");
        var bytes = new byte[30 * 1024 * 1024 + 1];
        (await Media.PngAsync()).CopyTo(bytes, 0);
        var response = await ApiResponse.From(await PutAsync(url, bytes, "image/png", chunked, expectContinue: !chunked));
        response.AssertError(413, "INVALID_PARAMETER", "file must be at most 30 MB for image/png");
        Assert.Empty(FilesOfKey(client));
        (await SubmitWithAsync(client, "image_url", filePath)).AssertError(400, "INVALID_PARAMETER", "is not a file uploaded");
    }

    [Fact]
    public async Task AnImageOfExactly30MegabytesIsStored()
    {
        using var client = await Server.CreateKeyAsync();
        var (url, filePath) = await PresignedAsync(client, "big.png", "image/png");
        var bytes = new byte[30 * 1024 * 1024];
        (await Media.PngAsync()).CopyTo(bytes, 0);
        Assert.Equal(HttpStatusCode.OK, (await PutAsync(url, bytes, "image/png")).StatusCode);
        Assert.Equal(bytes.LongLength, new FileInfo(StoredPath(filePath)).Length);
    }

    [Fact]
    public async Task AFileMayBeUploadedAgainUntilATaskReferencesItThenNeverAgain()
    {
        using var client = await Server.CreateKeyAsync();
        var red = await Media.PngAsync("red");
        var blue = await Media.PngAsync("blue");
        var (url, filePath) = await PresignedAsync(client, "scene.png", "image/png");
        Assert.Equal(HttpStatusCode.OK, (await PutAsync(url, red, "image/png")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await PutAsync(url, blue, "image/png")).StatusCode);
        Assert.Equal(blue, await File.ReadAllBytesAsync(StoredPath(filePath)));

        (await SubmitWithAsync(client, "image_url", filePath)).AssertOk();

        await AssertDeniedAsync(await PutAsync(url, red, "image/png"), "referenced by a task");
        Assert.Equal(blue, await File.ReadAllBytesAsync(StoredPath(filePath)));
        Assert.Equal([StoredPath(filePath)], FilesOfKey(client));
    }

    [Fact]
    public async Task ATaskMayReferenceItsUploadedImageByFilePath()
    {
        using var client = await Server.CreateKeyAsync();
        var filePath = await client.UploadAsync("scene.png", "image/png", await Media.PngAsync());
        var response = await SubmitWithAsync(client, "image_url", filePath);
        response.AssertOk();
    }

    [Fact]
    public async Task AFilenameWithSpacesAndNonAsciiCharactersUploadsAndIsUsable()
    {
        using var client = await Server.CreateKeyAsync();
        var png = await Media.PngAsync();
        var filePath = await client.UploadAsync("场景 #1 (final).png", "image/png", png);
        Assert.EndsWith("_场景 #1 (final).png", filePath);
        Assert.Equal(png, await File.ReadAllBytesAsync(StoredPath(filePath)));
        (await SubmitWithAsync(client, "image_url", filePath)).AssertOk();
    }

    [Fact]
    public async Task ATaskMayReferenceItsUploadedImageByAUrlObject()
    {
        using var client = await Server.CreateKeyAsync();
        var filePath = await client.UploadAsync("scene.png", "image/png", await Media.PngAsync());
        var response = await SubmitWithAsync(client, "image_url", new { url = filePath });
        response.AssertOk();
    }

    [Fact]
    public async Task TwoTasksMayReferenceTheSameUploadedImage()
    {
        using var client = await Server.CreateKeyAsync();
        var filePath = await client.UploadAsync("scene.png", "image/png", await Media.PngAsync());
        (await SubmitWithAsync(client, "image_url", filePath)).AssertOk();
        (await SubmitWithAsync(client, "image_url", new { url = filePath })).AssertOk();
    }

    [Fact]
    public async Task AnImageInAVideoItemIsRefused()
    {
        using var client = await Server.CreateKeyAsync();
        var filePath = await client.UploadAsync("scene.png", "image/png", await Media.PngAsync());
        var response = await SubmitWithAsync(client, "video_url", filePath);
        response.AssertError(400, "INVALID_PARAMETER", "content[0].video_url must reference a video, not image/png");
    }

    [Fact]
    public async Task AVideoInAnImageItemIsRefused()
    {
        using var client = await Server.CreateKeyAsync();
        var filePath = await client.UploadAsync("clip.mp4", "video/mp4", await Media.Mp4Async());
        var response = await SubmitWithAsync(client, "image_url", filePath);
        response.AssertError(400, "INVALID_PARAMETER", "content[0].image_url must reference an image, not video/mp4");
    }

    [Fact]
    public async Task APresignedButNeverUploadedFileIsRefused()
    {
        using var client = await Server.CreateKeyAsync();
        var (_, filePath) = await PresignedAsync(client, "scene.png", "image/png");
        var response = await SubmitWithAsync(client, "image_url", filePath);
        response.AssertError(400, "INVALID_PARAMETER", $"content[0].image_url '{filePath}' is not a file uploaded with this API key");

        var balance = await client.BalanceAsync();
        Assert.Equal(0m, balance.Result!["reserved_credits"]!.GetValue<decimal>());
    }

    [Theory]
    [InlineData("photo.jpg", "image/jpeg")]
    [InlineData("still.webp", "image/webp")]
    [InlineData("scene.png", "image/png")]
    [InlineData("clip.mp4", "video/mp4")]
    [InlineData("clip.mov", "video/quicktime")]
    [InlineData("clip.webm", "video/webm")]
    public async Task EachDocumentedTypeIsAcceptedWithItsOwnSignatureAndUsableInATask(string filename, string contentType)
    {
        using var client = await Server.CreateKeyAsync();
        var bytes = await RealFileAsync(Path.GetExtension(filename));
        var filePath = await client.UploadAsync(filename, contentType, bytes);
        Assert.Equal(bytes, await File.ReadAllBytesAsync(StoredPath(filePath)));
        var response = await SubmitWithAsync(client, contentType.StartsWith("image/") ? "image_url" : "video_url", filePath);
        response.AssertOk();
    }

    /// <summary>A real file of the given kind, made by ffmpeg.</summary>
    private static async Task<byte[]> RealFileAsync(string extension)
    {
        var (input, arguments) = extension switch
        {
            ".jpg" => ("color=c=green:s=320x240:d=1", "-frames:v 1"),
            ".webp" => ("color=c=green:s=320x240:d=1", "-frames:v 1 -c:v libwebp"),
            ".png" => ("color=c=green:s=320x240:d=1", "-frames:v 1"),
            ".mp4" or ".mov" => ("testsrc=s=320x240:d=1", "-c:v libx264 -preset ultrafast -pix_fmt yuv420p"),
            ".webm" => ("testsrc=s=320x240:d=1", "-c:v libvpx -deadline realtime -b:v 200k"),
            _ => throw new ArgumentOutOfRangeException(nameof(extension)),
        };
        var path = Path.Combine(Path.GetTempPath(), $"seedance-{Guid.NewGuid():N}{extension}");
        try
        {
            await FFMpegArguments.FromFileInput(input, false, o => o.ForceFormat("lavfi"))
                .OutputToFile(path, true, o => o.WithCustomArgument(arguments))
                .ProcessAsynchronously();
            return await File.ReadAllBytesAsync(path);
        }
        finally { File.Delete(path); }
    }
}
