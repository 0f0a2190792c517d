using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Amazon.S3;
using Microsoft.EntityFrameworkCore;
using Seedance.Server.Data;
using Seedance.Server.Operations;
using Seedance.Server.Storage;
using Seedance.Server.Tests.Support;

using Seedance.Server.Tests.Ark;

namespace Seedance.Server.Tests;

/// <summary>
/// <c>Seedance:Storage:Provider=s3</c> against the real S3-compatible store of <c>./test</c> (s3rver, which
/// checks Signature V4 and presigned-URL expiry): uploads go straight to the bucket, results are copied
/// into it and handed out as presigned links.
/// </summary>
[TakesAbout(25)]
public sealed class S3StorageTests
{
    private static async Task<RunningServer> S3ServerAsync(Dictionary<string, string>? extra = null)
    {
        var settings = await TestS3.SettingsAsync();
        settings["Seedance:Tasks:Thumbnails"] = "true";
        foreach (var (k, v) in extra ?? []) settings[k] = v;
        return await RunningServer.StartAsync(settings);
    }

    private static async Task<ApiResponse> PresignAsync(ApiClient client, string filename, string contentType) =>
        await ApiResponse.From(await client.Http.PostAsync(
            $"/api/v1/video/upload/presign?filename={Uri.EscapeDataString(filename)}&content_type={Uri.EscapeDataString(contentType)}", null));

    private static async Task<HttpResponseMessage> PutAsync(string url, byte[] bytes, string contentType)
    {
        using var http = new HttpClient();
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        var response = await http.PutAsync(url, content);
        await response.Content.LoadIntoBufferAsync();
        return response;
    }

    private static async Task<byte[]?> ObjectAsync(string bucket, string key)
    {
        using var s3 = TestS3.Client();
        try
        {
            using var response = await s3.GetObjectAsync(bucket, key);
            using var bytes = new MemoryStream();
            await response.ResponseStream.CopyToAsync(bytes);
            return bytes.ToArray();
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound) { return null; }
    }

    [Fact]
    public async Task APresignedUploadGoesToTheBucketWithTheSignedContentTypeAndTheStoreRefusesAnother()
    {
        await using var server = await S3ServerAsync();
        using var client = await server.CreateKeyAsync();
        var presign = await PresignAsync(client, "scene.png", "image/png");
        presign.AssertOk();
        var url = presign.Result!["presigned_url"]!.GetValue<string>();
        var filePath = presign.Result!["file_path"]!.GetValue<string>();

        // The document's answer, unchanged: the same fields and file_path format as with local storage.
        Assert.Matches(new Regex($"^api/uploads/{client.KeyId}/[0-9a-f]{{32}}_scene\\.png$"), filePath);
        Assert.Equal(3600, presign.Result!["expires_in"]!.GetValue<int>());
        Assert.StartsWith($"{TestS3.ServiceUrl}/{server.Bucket}/{filePath}?", url);
        Assert.Contains("X-Amz-SignedHeaders=content-type%3Bhost", url);

        var png = await Media.PngAsync();
        var wrongType = await PutAsync(url, png, "image/jpeg");
        Assert.Equal(HttpStatusCode.Forbidden, wrongType.StatusCode);
        Assert.Contains("SignatureDoesNotMatch", await wrongType.Content.ReadAsStringAsync());
        Assert.Null(await ObjectAsync(server.Bucket!, filePath));

        var tampered = await PutAsync(url.Replace("_scene.png", "_other.png"), png, "image/png");
        Assert.Equal(HttpStatusCode.Forbidden, tampered.StatusCode);

        var rightType = await PutAsync(url, png, "image/png");
        Assert.Equal(HttpStatusCode.OK, rightType.StatusCode);
        Assert.Equal(png, await ObjectAsync(server.Bucket!, filePath));

        // The bucket is private: the object's address without a signature is refused.
        using var anonymous = new HttpClient();
        Assert.Equal(HttpStatusCode.Forbidden, (await anonymous.GetAsync($"{TestS3.ServiceUrl}/{server.Bucket}/{filePath}")).StatusCode);
    }

    [Fact]
    public async Task AnExpiredPresignedUploadUrlIsRefusedByTheStore()
    {
        await using var server = await S3ServerAsync();
        var store = server.Services.GetRequiredService<FileStore>();
        var png = await Media.PngAsync();
        var live = store.PresignedUpload("api/uploads/1/live.png", "image/png", DateTimeOffset.UtcNow.AddMinutes(5))!;
        Assert.Equal(HttpStatusCode.OK, (await PutAsync(live, png, "image/png")).StatusCode);

        var shortLived = store.PresignedUpload("api/uploads/1/late.png", "image/png", DateTimeOffset.UtcNow.AddSeconds(1))!;
        var lifetime = int.Parse(Regex.Match(shortLived, "X-Amz-Expires=([0-9]+)&").Groups[1].Value);
        Assert.InRange(lifetime, 1, 2); // the SDK rounds the second up
        await Task.Delay(TimeSpan.FromSeconds(lifetime + 1.5)); // past the link's end

        var late = await PutAsync(shortLived, png, "image/png");
        Assert.Equal(HttpStatusCode.Forbidden, late.StatusCode);
        Assert.Contains("Request has expired", await late.Content.ReadAsStringAsync());
        Assert.Null(await ObjectAsync(server.Bucket!, "api/uploads/1/late.png"));
    }

    [Fact]
    public async Task AnUploadInTheBucketRendersThroughTheSandboxIntoTheBucketAndThePresignedResultLinkServesAPlayableMp4()
    {
        await using var server = await S3ServerAsync();
        using var client = await server.CreateKeyAsync(credits: 100);
        var image = await client.UploadAsync("red.png", "image/png", await Media.PngAsync("red"));
        var response = await client.SubmitAsync(new Dictionary<string, object>
        {
            ["content"] = new object[] { new { type = "image_url", image_url = image }, new { type = "text", text = "The scene comes alive" } },
            ["resolution"] = "480p", ["duration"] = 4, ["return_last_frame"] = true,
        });
        response.AssertOk();
        var taskId = response.Result!["task_id"]!.GetValue<string>();
        var task = await client.WaitForAsync(taskId);
        Assert.True(task.Status() == "completed", task.ToJsonString());

        var videoUrl = task["video_url"]!.GetValue<string>();
        Assert.StartsWith($"{TestS3.ServiceUrl}/{server.Bucket}/results/{taskId}/video.mp4?", videoUrl);
        Assert.Contains("X-Amz-Expires=604", videoUrl); // a week, the longest S3 allows (less the minute kept in hand)
        Assert.StartsWith($"{TestS3.ServiceUrl}/{server.Bucket}/results/{taskId}/thumbnail.jpg?", task["thumbnail_url"]!.GetValue<string>());
        Assert.Equal([$"results/{taskId}/last_frame.png", $"results/{taskId}/thumbnail.jpg", $"results/{taskId}/video.mp4"],
            (await TestS3.KeysAsync(server.Bucket!, "results/")).Order());

        var (analysis, path) = await Media.DownloadAndProbeAsync(videoUrl);
        try
        {
            Assert.Equal("h264", analysis.PrimaryVideoStream!.CodecName);
            Assert.Equal(4, analysis.Duration.TotalSeconds, 0.2);
            var frame = await Frame.FirstOfAsync(path);
            Assert.True(frame.Pixel(frame.Width / 2, frame.Height / 4).IsRed, "the opening frame is the uploaded red image");
        }
        finally { File.Delete(path); }

        // Range requests, as players make them, are served by the store.
        using var http = new HttpClient();
        using var range = new HttpRequestMessage(HttpMethod.Get, videoUrl);
        range.Headers.Range = new RangeHeaderValue(0, 7);
        var partial = await http.SendAsync(range);
        Assert.Equal(HttpStatusCode.PartialContent, partial.StatusCode);
        Assert.Equal("ftyp", System.Text.Encoding.ASCII.GetString((await partial.Content.ReadAsByteArrayAsync())[4..8]));
    }

    [Fact]
    public async Task ASubmissionChecksAnUploadInTheBucketAndRefusesOneThatIsMissingOrNotOfItsTypeWithoutReservingCredit()
    {
        await using var server = await S3ServerAsync();
        using var client = await server.CreateKeyAsync(credits: 100);

        async Task<ApiResponse> SubmitAsync(string filePath) => await client.SubmitAsync(new Dictionary<string, object>
        {
            ["content"] = new object[] { new { type = "image_url", image_url = filePath }, new { type = "text", text = "x" } },
            ["resolution"] = "480p", ["duration"] = 4,
        });

        var never = await PresignAsync(client, "never.png", "image/png");
        (await SubmitAsync(never.Result!["file_path"]!.GetValue<string>())).AssertError(400, "INVALID_PARAMETER", "is not a file uploaded with this API key");

        // The store takes any bytes under the signed type; the server reads the first bytes at submission.
        var fake = await PresignAsync(client, "fake.png", "image/png");
        Assert.Equal(HttpStatusCode.OK, (await PutAsync(fake.Result!["presigned_url"]!.GetValue<string>(), "not a png at all"u8.ToArray(), "image/png")).StatusCode);
        (await SubmitAsync(fake.Result!["file_path"]!.GetValue<string>())).AssertError(400, "INVALID_PARAMETER", "file content is not image/png");

        var balance = await client.BalanceAsync();
        Assert.Equal(0m, balance.Result!["reserved_credits"]!.GetValue<decimal>());
        Assert.Equal(0, (await client.ListAsync()).Result!["total"]!.GetValue<int>());
    }

    [Fact]
    public async Task AQuoteChecksAnUploadInTheBucketAsASubmissionDoesButRecordsNothingAboutIt()
    {
        await using var server = await S3ServerAsync(new() { ["Seedance:Tasks:Dispatch"] = "false" });
        using var client = await server.CreateKeyAsync(credits: 100);
        var presign = await PresignAsync(client, "scene.png", "image/png");
        var filePath = presign.Result!["file_path"]!.GetValue<string>();
        Assert.Equal(HttpStatusCode.OK, (await PutAsync(presign.Result["presigned_url"]!.GetValue<string>(), await Media.PngAsync("green"), "image/png")).StatusCode);
        var body = $$"""{"resolution":"480p","duration":4,"content":[{"type":"image_url","image_url":"{{filePath}}"},{"type":"text","text":"x"}]}""";
        async Task<(object? UploadedAt, object? Size, object? ReferencedAt)> SlotAsync()
        {
            var row = Assert.Single(await TestDatabase.QueryAsync(server.DataDir,
                "SELECT uploaded_at, size, referenced_at FROM uploaded_files WHERE file_path = @path", ("path", filePath)));
            return (row["uploaded_at"], row["size"], row["referenced_at"]);
        }
        var before = await SlotAsync();

        var quote = await client.PostTextAsync("/api/v1/video/quote", body);
        var afterQuote = await SlotAsync();
        var submitted = await client.PostTextAsync("/api/v1/video/task", body);
        var afterSubmission = await SlotAsync();

        quote.AssertOk();
        Assert.Equal(3.6m, quote.Result!["credit_cost"]!.GetValue<decimal>());
        Assert.Equal((null, null, null), before); // the bytes went straight to the bucket: nothing recorded yet
        Assert.Equal(before, afterQuote);
        submitted.AssertOk();
        Assert.NotNull(afterSubmission.UploadedAt);
        Assert.NotNull(afterSubmission.ReferencedAt);
    }

    [Fact]
    public async Task AResultFromTheArkEmulatorIsCopiedIntoTheBucketAndOutlivesTheUpstreamsLinks()
    {
        await using var ark = await ArkEmulator.StartAsync();
        await using var server = await S3ServerAsync(new Dictionary<string, string>
        {
            ["Seedance:Channels:0:Name"] = "ark", ["Seedance:Channels:0:Provider"] = "ark",
            ["Seedance:Channels:0:BaseUrl"] = ark.BaseUrl, ["Seedance:Channels:0:ApiKey"] = ark.ApiKey,
            ["Seedance:Channels:0:Models:seedance-2.0"] = "doubao-seedance-2-0-260128",
            ["Seedance:Models:seedance-2.0-fast:Enabled"] = "false", // the one channel serves one model
            ["Seedance:Channels:0:PollIntervalSeconds"] = "0.2", ["Seedance:Channels:0:AllowPrivateNetworks"] = "true",
        });
        using var client = await server.CreateKeyAsync(credits: 100);
        // Without a public base URL the upstream still gets a link to the upload: the store presigns it.
        var image = await client.UploadAsync("first.png", "image/png", await Media.PngAsync("blue"));
        var response = await client.SubmitAsync(new Dictionary<string, object>
        {
            ["content"] = new object[] { new { type = "image_url", image_url = image }, new { type = "text", text = "A kite over the sea" } },
            ["resolution"] = "480p", ["duration"] = 4, ["return_last_frame"] = true,
        });
        response.AssertOk();
        var taskId = response.Result!["task_id"]!.GetValue<string>();
        var task = await client.WaitForAsync(taskId);
        Assert.True(task.Status() == "completed", task.ToJsonString());

        var sentImage = ark.LastCreateBody!["content"]![0]!["image_url"]!["url"]!.GetValue<string>();
        Assert.StartsWith($"{TestS3.ServiceUrl}/{server.Bucket}/{image}?", sentImage);

        ark.ExpireResultLinks();
        var videoUrl = task["video_url"]!.GetValue<string>();
        Assert.StartsWith($"{TestS3.ServiceUrl}/{server.Bucket}/results/{taskId}/video.mp4?", videoUrl);
        var (analysis, path) = await Media.DownloadAndProbeAsync(videoUrl);
        File.Delete(path);
        Assert.Equal("h264", analysis.PrimaryVideoStream!.CodecName);
        Assert.NotNull(await ObjectAsync(server.Bucket!, $"results/{taskId}/last_frame.png"));
    }

    [Fact]
    public async Task AWriteLargerThanOnePartIsStoredWholeThroughAMultipartUploadAndAFailedWriteLeavesNothing()
    {
        await using var server = await S3ServerAsync();
        var store = server.Services.GetRequiredService<FileStore>();
        var bytes = RandomNumberGenerator.GetBytes(S3FileStore.PartSize * 2 + 12345);

        await store.WriteAsync("results/big/video.mp4", async (stream, ct) =>
        {
            for (var at = 0; at < bytes.Length; at += 100_000)
                await stream.WriteAsync(bytes.AsMemory(at, Math.Min(100_000, bytes.Length - at)), ct);
        }, CancellationToken.None);
        Assert.Equal(SHA256.HashData(bytes), SHA256.HashData((await ObjectAsync(server.Bucket!, "results/big/video.mp4"))!));

        var failure = await Assert.ThrowsAsync<IOException>(() => store.WriteAsync("results/broken/video.mp4", async (stream, ct) =>
        {
            await stream.WriteAsync(bytes.AsMemory(0, S3FileStore.PartSize + 1), ct);
            throw new IOException("the upstream connection dropped");
        }, CancellationToken.None));
        Assert.Equal("the upstream connection dropped", failure.Message);
        Assert.Null(await ObjectAsync(server.Bucket!, "results/broken/video.mp4"));

        // Under one part the write is a single PUT, which must not start on what came before the failure.
        for (var attempt = 0; attempt < 20; attempt++)
        {
            await Assert.ThrowsAsync<IOException>(() => store.WriteAsync($"results/short-{attempt}/video.mp4", async (stream, ct) =>
            {
                await stream.WriteAsync(bytes.AsMemory(0, 1000), ct);
                throw new IOException("the upstream connection dropped");
            }, CancellationToken.None));
        }
        Assert.Empty(await TestS3.KeysAsync(server.Bucket!, "results/short-"));
    }

    [Fact]
    public async Task HousekeepingDeletesAnUploadThatNoTaskUsedOnceItsSlotExpiresAndKeepsOneATaskUses()
    {
        await using var server = await S3ServerAsync();
        using var client = await server.CreateKeyAsync(credits: 100);
        var unused = await client.UploadAsync("unused.png", "image/png", await Media.PngAsync());
        var used = await client.UploadAsync("used.png", "image/png", await Media.PngAsync());
        var response = await client.SubmitAsync(new Dictionary<string, object>
        {
            ["content"] = new object[] { new { type = "image_url", image_url = used }, new { type = "text", text = "[sandbox:stall]" } },
            ["resolution"] = "480p", ["duration"] = 4,
        });
        response.AssertOk();
        await server.WriteDirectlyAsync(db => db.Uploads.ExecuteUpdateAsync(s => s.SetProperty(f => f.ExpiresAt, DateTime.UtcNow.AddMinutes(-1))));

        await server.Services.GetRequiredService<Housekeeping>().RunOnceAsync(CancellationToken.None);

        Assert.Null(await ObjectAsync(server.Bucket!, unused));
        Assert.NotNull(await ObjectAsync(server.Bucket!, used));
        await using (var scope = server.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<SeedanceDb>();
            Assert.Equal([used], await db.Uploads.Select(f => f.FilePath).ToListAsync());
        }
    }

    [Fact]
    public async Task AnS3StoreThatCannotBeUsedStopsTheServerAtStartNamingTheSettingAndNeverPrintingTheSecret()
    {
        var dataDir = TempDir.Create();
        try
        {
            const string secret = "do-not-print-this-secret-0123456789";
            var missingBucket = await ServerProcess.RunAsync(["--urls", "http://127.0.0.1:0"], new Dictionary<string, string>
            {
                ["Seedance__DataDir"] = dataDir, ["Seedance__Storage__Provider"] = "s3",
            }, timeoutSeconds: 60);
            Assert.True(missingBucket.ExitCode == 2, missingBucket.ToString());
            Assert.Contains("Seedance:Storage:Bucket is required", missingBucket.Stderr);

            var wrongSecret = await ServerProcess.RunAsync(["--urls", "http://127.0.0.1:0"], new Dictionary<string, string>
            {
                ["Seedance__DataDir"] = dataDir, ["Seedance__Storage__Provider"] = "s3", ["Seedance__Storage__Bucket"] = await TestS3.CreateBucketAsync(),
                ["Seedance__Storage__ServiceUrl"] = TestS3.ServiceUrl, ["Seedance__Storage__AccessKey"] = TestS3.AccessKey, ["Seedance__Storage__SecretKey"] = secret,
            }, timeoutSeconds: 60);
            Assert.True(wrongSecret.ExitCode == 2, wrongSecret.ToString());
            Assert.Contains("Seedance:Storage:Bucket", wrongSecret.Stderr);
            Assert.Contains("SignatureDoesNotMatch", wrongSecret.Stderr);
            Assert.DoesNotContain(secret, wrongSecret.Stdout + wrongSecret.Stderr);
        }
        finally { TempDir.Delete(dataDir); }
    }
}
