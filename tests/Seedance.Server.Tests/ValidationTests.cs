using System.Net.Http.Json;
using System.Text.Json.Nodes;
using System.Text;
using Seedance.Server.Data;
using Seedance.Server.Tests.Support;

namespace Seedance.Server.Tests;

/// <summary>Every rule of <c>POST /api/v1/video/task</c>: the status, the code, a message naming the rule, and nothing left behind.</summary>
public sealed class ValidationTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private const decimal Credits = 100m;
    private const string Text = """{"type":"text","text":"A cat running under cherry blossoms"}""";
    private const string Stalled = $$"""{"type":"text","text":"{{ServerFixture.Stalled}}"}""";
    private const string Image = """{"type":"image_url","image_url":"https://example.com/cat.png"}""";
    private const string Video = """{"type":"video_url","video_url":"https://example.com/cat.mp4"}""";
    private const string Audio = """{"type":"audio_url","audio_url":"https://example.com/meow.mp3"}""";

    private RunningServer Server => fixture.Server;

    private static string Content(params string[] items) => $$"""{"content":[{{string.Join(",", items)}}]}""";

    /// <summary>A body with a single text item and one more top-level field.</summary>
    private static string With(string field, string json) => $$"""{"content":[{{Text}}],"{{field}}":{{json}}}""";

    private static string Repeat(string item, int times) => string.Join(",", Enumerable.Repeat(item, times));

    private static string ImageWithRole(string role) => $$"""{"type":"image_url","image_url":"https://example.com/{{role}}.png","role":"{{role}}"}""";

    private async Task RefusedAsync(string body, int status, string code, string message, string contentType = "application/json")
    {
        using var client = await Server.CreateKeyAsync(credits: Credits);
        var response = await client.SubmitRawAsync(body, contentType);
        response.AssertError(status, code, message);
        await AssertNothingCreatedOrReservedAsync(client);
    }

    private async Task AssertNothingCreatedOrReservedAsync(ApiClient client)
    {
        var balance = await client.BalanceAsync();
        balance.AssertOk();
        Assert.Equal(Credits, balance.Result!["total_credits"]!.GetValue<decimal>());
        Assert.Equal(0m, balance.Result!["used_credits"]!.GetValue<decimal>());
        Assert.Equal(0m, balance.Result!["reserved_credits"]!.GetValue<decimal>());
        Assert.Equal(Credits, balance.Result!["remain_credits"]!.GetValue<decimal>());

        var list = await client.ListAsync();
        list.AssertOk();
        Assert.Equal(0, list.Result!["total"]!.GetValue<int>());
        Assert.Empty(list.Result!["data"]!.AsArray());

        var ledger = await Server.Admin.GetFromJsonAsync<JsonObject>($"/admin/v1/keys/{client.KeyId}/ledger");
        var entries = ledger!["result"]!["data"]!.AsArray();
        Assert.Equal("initial credits", Assert.Single(entries)!["note"]!.GetValue<string>());
    }

    private async Task<JsonNode> AcceptedAsync(string body)
    {
        using var client = await Server.CreateKeyAsync(credits: Credits);
        var response = await client.SubmitRawAsync(body);
        response.AssertOk();
        var task = await client.GetTaskAsync(response.Result!["task_id"]!.GetValue<string>());
        task.AssertOk();
        return task.Result!;
    }

    [Theory]
    [InlineData("{}")]
    [InlineData("""{"content":null}""")]
    [InlineData("""{"model":"seedance-2.0","duration":5}""")]
    [InlineData("")]
    public async Task ABodyWithoutContentIsRefusedAsMissingContent(string body) =>
        await RefusedAsync(body, 400, "MISSING_PARAMETER", "Missing parameter: content");

    [Theory]
    [InlineData("""{"content":[]}""")]
    [InlineData("""{"content":"A cat running"}""")]
    [InlineData("""{"content":{"type":"text","text":"A cat"}}""")]
    public async Task EmptyOrNonArrayContentIsRefused(string body) =>
        await RefusedAsync(body, 400, "INVALID_PARAMETER", "Invalid parameter: content must be a non-empty array");

    [Fact]
    public async Task AContentItemThatIsNotAnObjectIsRefused() =>
        await RefusedAsync("""{"content":["A cat running"]}""", 400, "INVALID_PARAMETER", "content[0] must be an object");

    [Theory]
    [InlineData(new byte[] { 0xFF, 0xFE })] // not a UTF-8 sequence
    [InlineData(new byte[] { 0xC3 })] // a sequence cut short
    [InlineData(new byte[] { 0xED, 0xA0, 0x80 })] // a UTF-16 surrogate encoded as UTF-8
    public async Task BytesThatAreNotUtf8InsideAJsonStringAreRefusedAsNotJsonAndChangeNothing(byte[] bad)
    {
        using var client = await Server.CreateKeyAsync(credits: Credits);
        var body = System.Text.Encoding.UTF8.GetBytes("""{"content":[{"type":"text","text":"A cat """).Concat(bad)
            .Concat(System.Text.Encoding.UTF8.GetBytes("""running"}]}""")).ToArray();
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");

        var response = await ApiResponse.From(await client.Http.PostAsync("/api/v1/video/task", content));

        response.AssertError(400, "INVALID_PARAMETER");
        Assert.Equal("Invalid parameter: body is not valid JSON (it is not UTF-8)", response.Message);
        await AssertNothingCreatedOrReservedAsync(client);
    }

    [Fact]
    public async Task AnUnknownTopLevelFieldIsRefusedByItsName()
    {
        using var client = await Server.CreateKeyAsync(credits: Credits);
        var response = await client.SubmitRawAsync(With("durattion", "8"));
        response.AssertError(400, "INVALID_PARAMETER");
        Assert.Equal("Invalid parameter: unknown field 'durattion'", response.Message);
        await AssertNothingCreatedOrReservedAsync(client);
    }

    [Theory]
    [InlineData("""{"type":"text","text":"A cat","prompt":"A dog"}""", "unknown field 'content[0].prompt'")]
    [InlineData("""{"type":"text","text":"A cat","image_url":"https://example.com/a.png"}""", "unknown field 'content[0].image_url'")]
    [InlineData("""{"type":"image_url","image_url":"https://example.com/a.png","weight":1}""", "unknown field 'content[0].weight'")]
    public async Task AnUnknownFieldInAContentItemIsRefusedByItsName(string item, string message) =>
        await RefusedAsync(Content(item), 400, "INVALID_PARAMETER", message);

    [Fact]
    public async Task AContentItemWithoutATypeIsRefusedAsMissingParameter() =>
        await RefusedAsync(Content("""{"text":"A cat"}"""), 400, "MISSING_PARAMETER", "Missing parameter: content[0].type");

    [Theory]
    [InlineData("""{"type":"image","image":"https://example.com/a.png"}""")]
    [InlineData("""{"type":5}""")]
    [InlineData("""{"type":["text"],"text":"A cat"}""")]
    public async Task AnUnknownOrNonStringContentTypeIsRefused(string item) =>
        await RefusedAsync(Content(item), 400, "INVALID_PARAMETER", "content[0].type must be one of text, image_url, video_url, audio_url, sample_id");

    [Fact]
    public async Task ATextItemWithoutTextIsRefusedAsMissingParameter() =>
        await RefusedAsync(Content("""{"type":"text"}"""), 400, "MISSING_PARAMETER", "Missing parameter: content[0].text");

    [Theory]
    [InlineData("\"\"")]
    [InlineData("\"   \"")]
    [InlineData("42")]
    public async Task ATextItemWithEmptyOrNonStringTextIsRefused(string text) =>
        await RefusedAsync(Content($$"""{"type":"text","text":{{text}}}"""), 400, "INVALID_PARAMETER", "content[0].text must be a non-empty string");

    [Theory]
    [InlineData("\"seedance-1.0\"")]
    [InlineData("\"Seedance-2.0\"")]
    [InlineData("\"\"")]
    [InlineData("2")]
    public async Task AnUnknownModelIsRefusedNamingTheChoices(string model) =>
        await RefusedAsync(With("model", model), 400, "INVALID_PARAMETER", "Invalid parameter: model must be one of seedance-2.0, seedance-2.0-fast");

    [Theory]
    [InlineData("\"4k\"")]
    [InlineData("\"720P\"")]
    [InlineData("\"720\"")]
    [InlineData("720")]
    public async Task AnUnknownResolutionIsRefusedNamingTheChoices(string resolution) =>
        await RefusedAsync(With("resolution", resolution), 400, "INVALID_PARAMETER", "Invalid parameter: resolution must be one of 480p, 720p, 1080p");

    [Theory]
    [InlineData("\"2:1\"")]
    [InlineData("\"16/9\"")]
    [InlineData("\"adaptive\"")]
    [InlineData("1.78")]
    public async Task AnUnknownRatioIsRefusedNamingTheChoices(string ratio) =>
        await RefusedAsync(With("ratio", ratio), 400, "INVALID_PARAMETER", "Invalid parameter: ratio must be one of 16:9, 9:16, 4:3, 3:4, 1:1, 21:9");

    [Theory]
    [InlineData("3")]
    [InlineData("16")]
    [InlineData("0")]
    [InlineData("-1")]
    public async Task DurationOutsideFourToFifteenIsRefusedNamingTheRule(string duration)
    {
        using var client = await Server.CreateKeyAsync(credits: Credits);
        var response = await client.SubmitRawAsync(With("duration", duration));
        response.AssertError(400, "INVALID_PARAMETER");
        Assert.Equal("Invalid parameter: duration must be 4-15", response.Message);
        await AssertNothingCreatedOrReservedAsync(client);
    }

    [Theory]
    [InlineData("5.5")]
    [InlineData("\"5\"")]
    [InlineData("\"five\"")]
    [InlineData("true")]
    [InlineData("[5]")]
    public async Task ADurationThatIsNotAnIntegerIsRefusedNamingTheRule(string duration) =>
        await RefusedAsync(With("duration", duration), 400, "INVALID_PARAMETER", "Invalid parameter: duration must be 4-15");

    [Theory]
    [InlineData("-2")]
    [InlineData("2147483648")]
    [InlineData("99999999999999999999")]
    [InlineData("1.5")]
    [InlineData("\"42\"")]
    public async Task ASeedBelowMinusOneAboveTheLimitOrNotAnIntegerIsRefused(string seed) =>
        await RefusedAsync(With("seed", seed), 400, "INVALID_PARAMETER", "Invalid parameter: seed must be an integer from -1 to 2147483647");

    [Theory]
    [InlineData("generate_audio", "\"true\"")]
    [InlineData("generate_audio", "1")]
    [InlineData("watermark", "\"false\"")]
    [InlineData("watermark", "0")]
    [InlineData("return_last_frame", "\"yes\"")]
    [InlineData("return_last_frame", "{}")]
    public async Task ABooleanFieldOfTheWrongTypeIsRefusedByItsName(string field, string value) =>
        await RefusedAsync(With(field, value), 400, "INVALID_PARAMETER", $"Invalid parameter: {field} must be true or false");

    [Fact]
    public async Task ACallbackUrlLongerThan512CharactersIsRefused()
    {
        var url = "https://example.com/" + new string('a', 513 - "https://example.com/".Length);
        await RefusedAsync(With("callback_url", $"\"{url}\""), 400, "INVALID_PARAMETER", "callback_url must be at most 512 characters");
    }

    [Theory]
    [InlineData("\"ftp://example.com/hook\"")]
    [InlineData("\"/hooks/seedance\"")]
    [InlineData("\"example.com/hook\"")]
    [InlineData("\"javascript:alert(1)\"")]
    [InlineData("\"file:///etc/passwd\"")]
    public async Task ACallbackUrlThatIsNotAnAbsoluteHttpOrHttpsUrlIsRefused(string url) =>
        await RefusedAsync(With("callback_url", url), 400, "INVALID_PARAMETER", "callback_url must be an absolute http or https URL");

    [Fact]
    public async Task ACallbackUrlThatIsNotAStringIsRefused() =>
        await RefusedAsync(With("callback_url", "42"), 400, "INVALID_PARAMETER", "callback_url must be a string");

    [Fact]
    public async Task TextLongerThan5000CharactersIsRefused()
    {
        var item = $$"""{"type":"text","text":"{{new string('a', 5001)}}"}""";
        await RefusedAsync(Content(item), 400, "INVALID_PARAMETER", "content[0].text must be at most 5000 characters");
    }

    [Fact]
    public async Task MoreThanOneTextItemIsRefused() =>
        await RefusedAsync(Content(Text, Text), 400, "INVALID_PARAMETER", "content may hold at most one text item");

    [Fact]
    public async Task MoreThanNineImagesAreRefused() =>
        await RefusedAsync(Content(Text, Repeat(Image, 10)), 400, "INVALID_PARAMETER", "content may hold at most 9 image_url items");

    [Fact]
    public async Task MoreThanThreeVideosAreRefused() =>
        await RefusedAsync(Content(Text, Repeat(Video, 4)), 400, "INVALID_PARAMETER", "content may hold at most 3 video_url items");

    [Fact]
    public async Task MoreThanThreeAudioClipsAreRefused() =>
        await RefusedAsync(Content(Text, Image, Repeat(Audio, 4)), 400, "INVALID_PARAMETER", "content may hold at most 3 audio_url items");

    [Fact]
    public async Task AudioWithoutAnImageOrVideoIsRefused() =>
        await RefusedAsync(Content(Text, Audio), 400, "INVALID_PARAMETER", "audio_url needs at least one image_url or video_url item");

    [Theory]
    [InlineData("image_url", "reference_video")]
    [InlineData("image_url", "hero")]
    [InlineData("video_url", "first_frame")]
    [InlineData("video_url", "reference_image")]
    [InlineData("audio_url", "reference_video")]
    public async Task ARoleThatDoesNotFitTheItemTypeIsRefused(string type, string role)
    {
        var item = $$"""{"type":"{{type}}","{{type}}":"https://example.com/file","role":"{{role}}"}""";
        await RefusedAsync(Content(item, Image), 400, "INVALID_PARAMETER", $"content[0].role must be one of");
    }

    [Fact]
    public async Task ARoleThatIsNotAStringIsRefused() =>
        await RefusedAsync(Content("""{"type":"image_url","image_url":"https://example.com/a.png","role":1}"""), 400, "INVALID_PARAMETER",
            "content[0].role must be one of first_frame, last_frame, reference_image for image_url");

    [Theory]
    [InlineData("text", """{"type":"text","text":"A cat","role":"reference_image"}""")]
    [InlineData("sample_id", """{"type":"sample_id","sample_id":"cat-in-rain","role":"first_frame"}""")]
    public async Task ARoleOnATextOrSampleItemIsRefused(string type, string item) =>
        await RefusedAsync(Content(item), 400, "INVALID_PARAMETER", $"content[0].role is not allowed on {type}");

    [Theory]
    [InlineData("first_frame", "reference_image")]
    [InlineData("last_frame", "reference_image")]
    public async Task FrameImagesMixedWithReferenceItemsAreRefused(string frameRole, string referenceRole)
    {
        var items = frameRole == "last_frame"
            ? new[] { Text, ImageWithRole("first_frame"), ImageWithRole("last_frame"), ImageWithRole(referenceRole) }
            : new[] { Text, ImageWithRole(frameRole), ImageWithRole(referenceRole) };
        await RefusedAsync(Content(items), 400, "INVALID_PARAMETER", "first_frame/last_frame images cannot be mixed with reference_* items");
    }

    [Fact]
    public async Task AFirstFrameMixedWithAReferenceVideoIsRefused()
    {
        var video = """{"type":"video_url","video_url":"https://example.com/a.mp4","role":"reference_video"}""";
        await RefusedAsync(Content(Text, ImageWithRole("first_frame"), video), 400, "INVALID_PARAMETER",
            "first_frame/last_frame images cannot be mixed with reference_* items");
    }

    [Fact]
    public async Task ALastFrameWithoutAFirstFrameIsRefused() =>
        await RefusedAsync(Content(Text, ImageWithRole("last_frame")), 400, "INVALID_PARAMETER", "a last_frame image needs a first_frame image");

    [Fact]
    public async Task TwoFirstFramesAreRefused() =>
        await RefusedAsync(Content(Text, ImageWithRole("first_frame"), ImageWithRole("first_frame")), 400, "INVALID_PARAMETER",
            "content may hold at most one first_frame image");

    [Theory]
    [InlineData("\"ftp://example.com/cat.png\"")]
    [InlineData("\"/etc/passwd\"")]
    [InlineData("\"uploads/1/cat.png\"")]
    [InlineData("\"data:image/png;base64,iVBORw0KGgo=\"")]
    [InlineData("\"https://\"")]
    public async Task AMediaValueThatIsNeitherAnUploadedFilePathNorAnHttpsUrlIsRefused(string value) =>
        await RefusedAsync(Content(Text, $$"""{"type":"image_url","image_url":{{value}}}"""), 400, "INVALID_PARAMETER", "content[1].image_url");

    [Theory]
    [InlineData("\"\"")]
    [InlineData("42")]
    [InlineData("""{"href":"https://example.com/cat.png"}""")]
    [InlineData("""{"url":5}""")]
    [InlineData("""{"url":"https://example.com/cat.png","detail":"high"}""")]
    [InlineData("[\"https://example.com/cat.png\"]")]
    public async Task AMediaValueOfTheWrongShapeIsRefused(string value) =>
        await RefusedAsync(Content(Text, $$"""{"type":"image_url","image_url":{{value}}}"""), 400, "INVALID_PARAMETER",
            "content[1].image_url must be an uploaded file_path, an https:// URL, or {\"url\": ...}");

    [Fact]
    public async Task AMediaItemWithoutItsValueIsRefusedAsMissingParameter() =>
        await RefusedAsync(Content(Text, """{"type":"video_url"}"""), 400, "MISSING_PARAMETER", "Missing parameter: content[1].video_url");

    [Theory]
    [InlineData("image_url", "\"http://example.com/cat.png\"")]
    [InlineData("video_url", "{\"url\":\"http://example.com/cat.mp4\"}")]
    public async Task APlainHttpMediaUrlIsRefused(string type, string value) =>
        await RefusedAsync(Content(Text, $$"""{"type":"{{type}}","{{type}}":{{value}}}"""), 400, "INVALID_PARAMETER",
            $"content[1].{type} must be an uploaded file_path (api/uploads/...) or an https:// URL");

    [Fact]
    public async Task AnUnknownSampleIdIsRefused() =>
        await RefusedAsync(Content("""{"type":"sample_id","sample_id":"no-such-sample"}"""), 400, "INVALID_PARAMETER",
            "content[0].sample_id 'no-such-sample' is not in the sample catalogue");

    [Fact]
    public async Task AFilePathThatWasNeverPresignedIsRefused() =>
        await RefusedAsync(Content(Text, """{"type":"image_url","image_url":"api/uploads/1/0123456789abcdef0123456789abcdef_cat.png"}"""),
            400, "INVALID_PARAMETER", "is not a file uploaded with this API key");

    [Theory]
    [InlineData("""{"content": [""")]
    [InlineData("""{content: []}""")]
    [InlineData("not json at all")]
    [InlineData("""{"content":[{"type":"text","text":"A cat"}]}}""")]
    public async Task MalformedJsonIsRefusedAsInvalidParameter(string body) =>
        await RefusedAsync(body, 400, "INVALID_PARAMETER", "Invalid parameter: body is not valid JSON");

    [Theory]
    [InlineData("[]")]
    [InlineData("null")]
    [InlineData("\"content\"")]
    [InlineData("42")]
    public async Task ABodyThatIsNotAJsonObjectIsRefused(string body) =>
        await RefusedAsync(body, 400, "INVALID_PARAMETER", "Invalid parameter: body must be a JSON object");

    [Theory]
    [InlineData("text/plain")]
    [InlineData("application/x-www-form-urlencoded")]
    [InlineData("multipart/form-data")]
    public async Task AWrongContentTypeIsRefusedWith415(string contentType) =>
        await RefusedAsync(Content(Text), 415, "INVALID_PARAMETER", "Content-Type must be application/json", contentType);

    [Fact]
    public async Task ABodyWithoutAContentTypeIsRefusedWith415()
    {
        using var client = await Server.CreateKeyAsync(credits: Credits);
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes(Content(Text)));
        var response = await ApiResponse.From(await client.Http.PostAsync("/api/v1/video/task", content));
        response.AssertError(415, "INVALID_PARAMETER", "Content-Type must be application/json");
        await AssertNothingCreatedOrReservedAsync(client);
    }

    [Fact]
    public async Task ABodyOverTwoMegabytesIsRefusedWith413()
    {
        // Sent as curl sends large bodies (Expect: 100-continue): the refusal comes before the body is
        // sent. Without it the server still answers 413, but the client may see the connection close first.
        using var client = await Server.CreateKeyAsync(credits: Credits);
        var huge = $$"""{"content":[{"type":"text","text":"{{new string('a', 3 * 1024 * 1024)}}"}]}""";
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/video/task")
        {
            Content = new StringContent(huge, Encoding.UTF8, "application/json"),
        };
        request.Headers.ExpectContinue = true;
        var response = await ApiResponse.From(await client.Http.SendAsync(request));
        response.AssertError(413, "INVALID_PARAMETER", "request body is too large");
        await AssertNothingCreatedOrReservedAsync(client);
    }

    [Fact]
    public async Task AChunkedBodyOverTwoMegabytesIsRefusedWith413()
    {
        using var client = await Server.CreateKeyAsync(credits: Credits);
        var huge = Encoding.UTF8.GetBytes($$"""{"content":[{"type":"text","text":"{{new string('a', 3 * 1024 * 1024)}}"}]}""");
        var content = new StreamContent(new UnknownLengthStream(huge));
        content.Headers.ContentType = new("application/json");
        var response = await ApiResponse.From(await client.Http.PostAsync("/api/v1/video/task", content));
        response.AssertError(413, "INVALID_PARAMETER", "request body is too large");
        await AssertNothingCreatedOrReservedAsync(client);
    }

    [Fact]
    public async Task ABodyWithOnlyContentGetsTheDocumentedDefaults()
    {
        using var client = await Server.CreateKeyAsync(credits: Credits);
        var response = await client.SubmitRawAsync(Content(Stalled));
        response.AssertOk();
        Assert.Equal("pending", response.Result!["status"]!.GetValue<string>());
        Assert.Equal("9", response.Result!["credit_cost"]!.ToJsonString());

        var task = await client.GetTaskAsync(response.Result!["task_id"]!.GetValue<string>());
        task.AssertOk();
        var view = task.Result!;
        Assert.Equal("seedance-2.0", view["model"]!.GetValue<string>());
        Assert.Equal("720p", view["resolution"]!.GetValue<string>());
        Assert.Equal("16:9", view["ratio"]!.GetValue<string>());
        Assert.Equal(5, view["duration"]!.GetValue<int>());
        Assert.False(view["generate_audio"]!.GetValue<bool>());
        Assert.Null(view["seed"]);
        Assert.Equal(9m, view["credit_cost"]!.GetValue<decimal>());

        var balance = await client.BalanceAsync();
        Assert.Equal(9m, balance.Result!["reserved_credits"]!.GetValue<decimal>());
        Assert.Equal(Credits - 9m, balance.Result!["remain_credits"]!.GetValue<decimal>());
    }

    [Theory]
    [InlineData("duration", "4")]
    [InlineData("duration", "15")]
    [InlineData("seed", "-1")]
    [InlineData("seed", "0")]
    [InlineData("seed", "2147483647")]
    [InlineData("generate_audio", "true")]
    [InlineData("watermark", "true")]
    [InlineData("return_last_frame", "true")]
    [InlineData("model", "null")]
    [InlineData("callback_url", "\"http://example.com/hooks/seedance\"")]
    public async Task BoundaryAndExplicitValuesAreAccepted(string field, string value)
    {
        var task = await AcceptedAsync($$"""{"content":[{{Stalled}}],"resolution":"480p","{{field}}":{{value}}}""");
        if (field is "duration" or "seed") Assert.Equal(value, task[field]!.ToJsonString());
        if (field == "model") Assert.Equal("seedance-2.0", task["model"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("http://127.0.0.1/hook")]
    [InlineData("http://2130706433/hook")]
    [InlineData("http://10.1.2.3/hook")]
    [InlineData("http://169.254.169.254/latest/meta-data")]
    [InlineData("http://[::ffff:192.168.0.1]/hook")]
    [InlineData("http://localhost:8080/hook")]
    public async Task ACallbackUrlToAPrivateDestinationIsRefusedAtSubmission(string url) =>
        await RefusedAsync(With("callback_url", $"\"{url}\""), 400, "INVALID_PARAMETER", "callback_url points to a destination that is not allowed");

    [Fact]
    public async Task ACallbackUrlOfExactly512CharactersIsAccepted()
    {
        var url = "https://example.com/" + new string('a', 512 - "https://example.com/".Length);
        await AcceptedAsync($$"""{"content":[{{Stalled}}],"resolution":"480p","callback_url":"{{url}}"}""");
    }

    [Fact]
    public async Task TextOfExactly5000CharactersIsAccepted()
    {
        var text = ServerFixture.Stalled + " " + new string('a', 5000 - ServerFixture.Stalled.Length - 1);
        await AcceptedAsync($$"""{"content":[{"type":"text","text":"{{text}}"}],"resolution":"480p"}""");
    }

    [Fact]
    public async Task NineImagesThreeVideosAndThreeAudioClipsAreAccepted() =>
        await AcceptedAsync($$"""{"content":[{{Stalled}},{{Repeat(Image, 9)}},{{Repeat(Video, 3)}},{{Repeat(Audio, 3)}}],"resolution":"480p"}""");

    [Fact]
    public async Task AFirstAndLastFramePairIsAccepted() =>
        await AcceptedAsync($$"""{"content":[{{Stalled}},{{ImageWithRole("first_frame")}},{{ImageWithRole("last_frame")}}],"resolution":"480p"}""");

    [Fact]
    public async Task AKnownSampleIdIsAccepted() =>
        await AcceptedAsync($$"""{"content":[{"type":"sample_id","sample_id":"{{ServerFixture.SampleId}}"}],"resolution":"480p"}""");
}
