using System.Text.Json;
using Seedance.Server.Data;
using Seedance.Server.Infrastructure;
using Seedance.Server.Tasks;

namespace Seedance.Server.Tests.Unit;

/// <summary>
/// <see cref="TaskRequest.Parse"/> without a server: each rule's code and message, the defaults and the
/// accepted boundaries. ValidationTests checks the same rules through HTTP, where a refusal must also leave
/// nothing created or reserved; what needs the store (uploads, samples) is only tested there.
/// </summary>
public sealed class TaskRequestParsingTests
{
    private const string Text = """{"type":"text","text":"A cat running under cherry blossoms"}""";
    private const string Image = """{"type":"image_url","image_url":"https://example.com/cat.png"}""";
    private const string Video = """{"type":"video_url","video_url":"https://example.com/cat.mp4"}""";
    private const string Audio = """{"type":"audio_url","audio_url":"https://example.com/meow.mp3"}""";

    private static string Content(params string[] items) => $$"""{"content":[{{string.Join(",", items)}}]}""";
    private static string With(string field, string json) => $$"""{"content":[{{Text}}],"{{field}}":{{json}}}""";
    private static string Repeat(string item, int times) => string.Join(",", Enumerable.Repeat(item, times));
    private static string ImageWithRole(string role) => $$"""{"type":"image_url","image_url":"https://example.com/{{role}}.png","role":"{{role}}"}""";

    private static readonly ModelCatalogue Catalogue = ModelCatalogue.From(new SeedanceOptions());

    private static TaskRequest Parse(string json)
    {
        using var document = JsonDocument.Parse(json);
        return TaskRequest.Parse(document.RootElement.Clone(), Catalogue);
    }

    private static ApiError Refused(string json, string code = "INVALID_PARAMETER")
    {
        var error = Assert.Throws<ApiError>(() => Parse(json));
        Assert.Equal((400, code), (error.Status, error.Code));
        return error;
    }

    private static void RefusedWith(string json, string message, string code = "INVALID_PARAMETER") =>
        Assert.Equal(message, Refused(json, code).Message);

    [Theory]
    [InlineData("{}")]
    [InlineData("""{"content":null}""")]
    [InlineData("""{"model":"seedance-2.0","duration":5}""")]
    public void ABodyWithoutContentIsRefusedAsMissingContent(string body) =>
        RefusedWith(body, "Missing parameter: content", "MISSING_PARAMETER");

    [Theory]
    [InlineData("""{"content":[]}""")]
    [InlineData("""{"content":"A cat running"}""")]
    [InlineData("""{"content":{"type":"text","text":"A cat"}}""")]
    public void EmptyOrNonArrayContentIsRefused(string body) =>
        RefusedWith(body, "Invalid parameter: content must be a non-empty array");

    [Theory]
    [InlineData("[]")]
    [InlineData("null")]
    [InlineData("\"content\"")]
    [InlineData("42")]
    public void ABodyThatIsNotAJsonObjectIsRefused(string body) =>
        RefusedWith(body, "Invalid parameter: body must be a JSON object");

    [Fact]
    public void AContentItemThatIsNotAnObjectIsRefused() =>
        RefusedWith("""{"content":["A cat running"]}""", "Invalid parameter: content[0] must be an object");

    [Theory]
    [InlineData("durattion")]
    [InlineData("prompt")]
    [InlineData("Duration")]
    public void AnUnknownTopLevelFieldIsRefusedByItsName(string field) =>
        RefusedWith(With(field, "8"), $"Invalid parameter: unknown field '{field}'");

    [Theory]
    [InlineData("""{"type":"text","text":"A cat","prompt":"A dog"}""", "unknown field 'content[0].prompt'")]
    [InlineData("""{"type":"text","text":"A cat","image_url":"https://example.com/a.png"}""", "unknown field 'content[0].image_url'")]
    [InlineData("""{"type":"image_url","image_url":"https://example.com/a.png","weight":1}""", "unknown field 'content[0].weight'")]
    public void AnUnknownFieldInAContentItemIsRefusedByItsName(string item, string rule) =>
        RefusedWith(Content(item), $"Invalid parameter: {rule}");

    [Fact]
    public void AContentItemWithoutATypeIsRefusedAsMissingParameter() =>
        RefusedWith(Content("""{"text":"A cat"}"""), "Missing parameter: content[0].type", "MISSING_PARAMETER");

    [Theory]
    [InlineData("""{"type":"image","image":"https://example.com/a.png"}""")]
    [InlineData("""{"type":5}""")]
    [InlineData("""{"type":["text"],"text":"A cat"}""")]
    public void AnUnknownOrNonStringContentTypeIsRefused(string item) =>
        RefusedWith(Content(item), "Invalid parameter: content[0].type must be one of text, image_url, video_url, audio_url, sample_id");

    [Theory]
    [InlineData("""{"type":"text"}""")]
    [InlineData("""{"type":"text","text":null}""")]
    public void ATextItemWithoutTextIsRefusedAsMissingParameter(string item) =>
        RefusedWith(Content(item), "Missing parameter: content[0].text", "MISSING_PARAMETER");

    [Theory]
    [InlineData("\"\"")]
    [InlineData("\"   \"")]
    [InlineData("42")]
    public void ATextItemWithEmptyOrNonStringTextIsRefused(string text) =>
        RefusedWith(Content($$"""{"type":"text","text":{{text}}}"""), "Invalid parameter: content[0].text must be a non-empty string");

    [Theory]
    [InlineData("\"seedance-1.0\"")]
    [InlineData("\"Seedance-2.0\"")]
    [InlineData("\"\"")]
    [InlineData("2")]
    public void AnUnknownModelIsRefusedNamingTheChoices(string model) =>
        RefusedWith(With("model", model), "Invalid parameter: model must be one of seedance-2.0, seedance-2.0-fast");

    [Theory]
    [InlineData("\"4k\"")]
    [InlineData("\"720P\"")]
    [InlineData("\"720\"")]
    [InlineData("720")]
    public void AnUnknownResolutionIsRefusedNamingTheChoices(string resolution) =>
        RefusedWith(With("resolution", resolution), "Invalid parameter: resolution must be one of 480p, 720p, 1080p");

    [Theory]
    [InlineData("\"2:1\"")]
    [InlineData("\"16/9\"")]
    [InlineData("\"adaptive\"")]
    [InlineData("1.78")]
    public void AnUnknownRatioIsRefusedNamingTheChoices(string ratio) =>
        RefusedWith(With("ratio", ratio), "Invalid parameter: ratio must be one of 16:9, 9:16, 4:3, 3:4, 1:1, 21:9");

    [Theory]
    [InlineData("3")]
    [InlineData("16")]
    [InlineData("0")]
    [InlineData("-1")]
    [InlineData("5.5")]
    [InlineData("\"5\"")]
    [InlineData("\"five\"")]
    [InlineData("true")]
    [InlineData("[5]")]
    public void ADurationOutsideFourToFifteenOrNotAnIntegerIsRefusedNamingTheRule(string duration) =>
        RefusedWith(With("duration", duration), "Invalid parameter: duration must be 4-15");

    [Theory]
    [InlineData("-2")]
    [InlineData("2147483648")]
    [InlineData("99999999999999999999")]
    [InlineData("1.5")]
    [InlineData("\"42\"")]
    public void ASeedBelowMinusOneAboveTheLimitOrNotAnIntegerIsRefused(string seed) =>
        RefusedWith(With("seed", seed), "Invalid parameter: seed must be an integer from -1 to 2147483647");

    [Theory]
    [InlineData("generate_audio", "\"true\"")]
    [InlineData("generate_audio", "1")]
    [InlineData("watermark", "\"false\"")]
    [InlineData("watermark", "0")]
    [InlineData("return_last_frame", "\"yes\"")]
    [InlineData("return_last_frame", "{}")]
    public void ABooleanFieldOfTheWrongTypeIsRefusedByItsName(string field, string value) =>
        RefusedWith(With(field, value), $"Invalid parameter: {field} must be true or false");

    [Fact]
    public void ACallbackUrlLongerThan512CharactersIsRefusedAndOneOfExactly512IsAccepted()
    {
        const string prefix = "https://example.com/";
        RefusedWith(With("callback_url", $"\"{prefix + new string('a', 513 - prefix.Length)}\""),
            "Invalid parameter: callback_url must be at most 512 characters");
        var longest = prefix + new string('a', 512 - prefix.Length);
        Assert.Equal(longest, Parse(With("callback_url", $"\"{longest}\"")).CallbackUrl);
    }

    [Theory]
    [InlineData("\"ftp://example.com/hook\"")]
    [InlineData("\"/hooks/seedance\"")]
    [InlineData("\"example.com/hook\"")]
    [InlineData("\"javascript:alert(1)\"")]
    [InlineData("\"file:///etc/passwd\"")]
    public void ACallbackUrlThatIsNotAnAbsoluteHttpOrHttpsUrlIsRefused(string url) =>
        RefusedWith(With("callback_url", url), "Invalid parameter: callback_url must be an absolute http or https URL");

    [Fact]
    public void ACallbackUrlThatIsNotAStringIsRefused() =>
        RefusedWith(With("callback_url", "42"), "Invalid parameter: callback_url must be a string");

    [Fact]
    public void TextLongerThan5000CharactersIsRefusedAndTextOfExactly5000IsAccepted()
    {
        RefusedWith(Content($$"""{"type":"text","text":"{{new string('a', 5001)}}"}"""), "Invalid parameter: content[0].text must be at most 5000 characters");
        var text = new string('a', 5000);
        Assert.Equal(text, Assert.Single(Parse(Content($$"""{"type":"text","text":"{{text}}"}""")).Content).Text);
    }

    [Fact]
    public void MoreThanOneTextItemIsRefused() =>
        RefusedWith(Content(Text, Text), "Invalid parameter: content may hold at most one text item");

    [Fact]
    public void MoreThanNineImagesAreRefused() =>
        RefusedWith(Content(Text, Repeat(Image, 10)), "Invalid parameter: content may hold at most 9 image_url items");

    [Fact]
    public void MoreThanThreeVideosAreRefused() =>
        RefusedWith(Content(Text, Repeat(Video, 4)), "Invalid parameter: content may hold at most 3 video_url items");

    [Fact]
    public void MoreThanThreeAudioClipsAreRefused() =>
        RefusedWith(Content(Text, Image, Repeat(Audio, 4)), "Invalid parameter: content may hold at most 3 audio_url items");

    [Fact]
    public void AudioWithoutAnImageOrVideoIsRefused() =>
        RefusedWith(Content(Text, Audio), "Invalid parameter: audio_url needs at least one image_url or video_url item");

    [Fact]
    public void NineImagesThreeVideosAndThreeAudioClipsAreAccepted()
    {
        var request = Parse(Content(Text, Repeat(Image, 9), Repeat(Video, 3), Repeat(Audio, 3)));
        Assert.Equal([("text", 1), ("image_url", 9), ("video_url", 3), ("audio_url", 3)],
            request.Content.GroupBy(i => i.Type).Select(g => (g.Key, g.Count())));
    }

    [Theory]
    [InlineData("image_url", "reference_video", "first_frame, last_frame, reference_image")]
    [InlineData("image_url", "hero", "first_frame, last_frame, reference_image")]
    [InlineData("video_url", "first_frame", "reference_video")]
    [InlineData("video_url", "reference_image", "reference_video")]
    [InlineData("audio_url", "reference_video", "reference_audio")]
    public void ARoleThatDoesNotFitTheItemTypeIsRefusedNamingTheRolesThatDo(string type, string role, string allowed)
    {
        var item = $$"""{"type":"{{type}}","{{type}}":"https://example.com/file","role":"{{role}}"}""";
        RefusedWith(Content(item, Image), $"Invalid parameter: content[0].role must be one of {allowed} for {type}");
    }

    [Fact]
    public void ARoleThatIsNotAStringIsRefused() =>
        RefusedWith(Content("""{"type":"image_url","image_url":"https://example.com/a.png","role":1}"""),
            "Invalid parameter: content[0].role must be one of first_frame, last_frame, reference_image for image_url");

    [Theory]
    [InlineData("text", """{"type":"text","text":"A cat","role":"reference_image"}""")]
    [InlineData("sample_id", """{"type":"sample_id","sample_id":"cat-in-rain","role":"first_frame"}""")]
    public void ARoleOnATextOrSampleItemIsRefused(string type, string item) =>
        RefusedWith(Content(item), $"Invalid parameter: content[0].role is not allowed on {type}");

    [Theory]
    [InlineData("first_frame", "reference_image")]
    [InlineData("last_frame", "reference_image")]
    public void FrameImagesMixedWithReferenceItemsAreRefused(string frameRole, string referenceRole)
    {
        var items = frameRole == "last_frame"
            ? new[] { Text, ImageWithRole("first_frame"), ImageWithRole("last_frame"), ImageWithRole(referenceRole) }
            : new[] { Text, ImageWithRole(frameRole), ImageWithRole(referenceRole) };
        RefusedWith(Content(items), "Invalid parameter: first_frame/last_frame images cannot be mixed with reference_* items");
    }

    [Fact]
    public void AFirstFrameMixedWithAReferenceVideoIsRefused()
    {
        var video = """{"type":"video_url","video_url":"https://example.com/a.mp4","role":"reference_video"}""";
        RefusedWith(Content(Text, ImageWithRole("first_frame"), video),
            "Invalid parameter: first_frame/last_frame images cannot be mixed with reference_* items");
    }

    [Fact]
    public void ALastFrameWithoutAFirstFrameIsRefused() =>
        RefusedWith(Content(Text, ImageWithRole("last_frame")), "Invalid parameter: a last_frame image needs a first_frame image");

    [Fact]
    public void TwoFirstFramesAreRefused() =>
        RefusedWith(Content(Text, ImageWithRole("first_frame"), ImageWithRole("first_frame")),
            "Invalid parameter: content may hold at most one first_frame image");

    [Fact]
    public void TwoLastFramesAreRefused() =>
        RefusedWith(Content(Text, ImageWithRole("first_frame"), ImageWithRole("last_frame"), ImageWithRole("last_frame")),
            "Invalid parameter: content may hold at most one last_frame image");

    [Fact]
    public void AFirstAndLastFramePairIsAcceptedWithItsRoles()
    {
        var request = Parse(Content(Text, ImageWithRole("first_frame"), ImageWithRole("last_frame")));
        Assert.Equal([null, "first_frame", "last_frame"], request.Content.Select(i => i.Role));
    }

    [Theory]
    [InlineData("\"ftp://example.com/cat.png\"")]
    [InlineData("\"/etc/passwd\"")]
    [InlineData("\"uploads/1/cat.png\"")]
    [InlineData("\"data:image/png;base64,iVBORw0KGgo=\"")]
    [InlineData("\"http://example.com/cat.png\"")]
    public void AMediaValueThatIsNeitherAnUploadedFilePathNorAnHttpsUrlIsRefused(string value) =>
        RefusedWith(Content(Text, $$"""{"type":"image_url","image_url":{{value}}}"""),
            "Invalid parameter: content[1].image_url must be an uploaded file_path (api/uploads/...) or an https:// URL");

    [Fact]
    public void AnHttpsUrlWithoutAHostIsRefusedAsNotAValidUrl() =>
        RefusedWith(Content(Text, """{"type":"image_url","image_url":"https://"}"""), "Invalid parameter: content[1].image_url is not a valid URL");

    [Theory]
    [InlineData("\"\"")]
    [InlineData("42")]
    [InlineData("""{"href":"https://example.com/cat.png"}""")]
    [InlineData("""{"url":5}""")]
    [InlineData("""{"url":"https://example.com/cat.png","detail":"high"}""")]
    [InlineData("[\"https://example.com/cat.png\"]")]
    public void AMediaValueOfTheWrongShapeIsRefused(string value) =>
        RefusedWith(Content(Text, $$"""{"type":"image_url","image_url":{{value}}}"""),
            "Invalid parameter: content[1].image_url must be an uploaded file_path, an https:// URL, or {\"url\": ...}");

    [Fact]
    public void AMediaItemWithoutItsValueIsRefusedAsMissingParameter() =>
        RefusedWith(Content(Text, """{"type":"video_url"}"""), "Missing parameter: content[1].video_url", "MISSING_PARAMETER");

    [Theory]
    [InlineData("\"https://example.com/cat.png\"")]
    [InlineData("""{"url":"https://example.com/cat.png"}""")]
    public void AnHttpsMediaUrlIsTakenAsAUrlWhetherPlainOrAsAUrlObject(string value)
    {
        var image = Parse(Content(Text, $$"""{"type":"image_url","image_url":{{value}}}""")).Content[1];
        Assert.Equal(new ContentItem("image_url", Url: "https://example.com/cat.png"), image);
    }

    [Fact]
    public void AnUploadedFilePathIsTakenAsAFilePathWithItsRole()
    {
        const string path = "api/uploads/1/0123456789abcdef0123456789abcdef_cat.png";
        var image = Parse(Content(Text, $$"""{"type":"image_url","image_url":"{{path}}","role":"reference_image"}""")).Content[1];
        Assert.Equal(new ContentItem("image_url", FilePath: path, Role: "reference_image"), image);
    }

    [Fact]
    public void ASampleIdIsTakenAsGivenForTheCatalogueToCheck() =>
        Assert.Equal(new ContentItem("sample_id", SampleId: "cat-in-rain"),
            Assert.Single(Parse(Content("""{"type":"sample_id","sample_id":"cat-in-rain"}""")).Content));

    [Fact]
    public void ABodyWithOnlyContentGetsTheDocumentedDefaults()
    {
        var request = Parse(Content(Text));
        Assert.Equal(("seedance-2.0", "720p", "16:9", 5), (request.Model, request.Resolution, request.Ratio, request.Duration));
        Assert.Equal((false, false, false), (request.GenerateAudio, request.Watermark, request.ReturnLastFrame));
        Assert.Null(request.Seed);
        Assert.Null(request.CallbackUrl);
        Assert.Equal(9m, Catalogue.Charge(request.Model, request.Resolution, request.Duration, null).Cost);
    }

    [Theory]
    [InlineData("model")]
    [InlineData("resolution")]
    [InlineData("ratio")]
    [InlineData("duration")]
    [InlineData("seed")]
    [InlineData("generate_audio")]
    [InlineData("callback_url")]
    public void ANullFieldTakesItsDefault(string field) =>
        Assert.Equal(Parse(Content(Text)), Parse(With(field, "null")), TaskRequestComparer.Instance);

    [Theory]
    [InlineData("duration", "4", 4)]
    [InlineData("duration", "15", 15)]
    [InlineData("seed", "-1", -1)]
    [InlineData("seed", "0", 0)]
    [InlineData("seed", "2147483647", 2147483647)]
    public void BoundaryNumbersAreAccepted(string field, string value, long expected)
    {
        var request = Parse(With(field, value));
        Assert.Equal(expected, field == "duration" ? request.Duration : request.Seed);
    }

    [Fact]
    public void EveryFieldIsTakenAsGiven()
    {
        var request = Parse($$"""
            {"model":"seedance-2.0-fast","content":[{{Text}}],"resolution":"1080p","ratio":"21:9","duration":12,"generate_audio":true,
             "seed":7,"watermark":true,"callback_url":"https://example.com/hooks/seedance","return_last_frame":true}
            """);
        Assert.Equal(("seedance-2.0-fast", "1080p", "21:9", 12, 7L), (request.Model, request.Resolution, request.Ratio, request.Duration, request.Seed!.Value));
        Assert.Equal((true, true, true), (request.GenerateAudio, request.Watermark, request.ReturnLastFrame));
        Assert.Equal("https://example.com/hooks/seedance", request.CallbackUrl);
        Assert.Equal(new ContentItem("text", Text: "A cat running under cherry blossoms"), Assert.Single(request.Content));
    }

    /// <summary>Two requests are the same when every field and every content item is.</summary>
    private sealed class TaskRequestComparer : IEqualityComparer<TaskRequest>
    {
        public static readonly TaskRequestComparer Instance = new();
        public bool Equals(TaskRequest? a, TaskRequest? b) =>
            a is not null && b is not null && a with { Content = null! } == b with { Content = null! } && a.Content.SequenceEqual(b.Content);
        public int GetHashCode(TaskRequest r) => r.Model.GetHashCode();
    }
}
