using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using System.Text;
using Seedance.Server.Data;
using Seedance.Server.Tests.Support;

namespace Seedance.Server.Tests.Ark;

/// <summary>The emulator keeps the contract of shared/upstream/ark-video-api.md, driven by a plain HttpClient.</summary>
[TakesAbout(20)]
public sealed class ArkEmulatorTests
{
    private const string Model = "doubao-seedance-2-0-260128";

    // ---- auth, ids, error body ----

    [SqlitePassTheory]
    [InlineData(null)]
    [InlineData("Bearer wrong-key")]
    [InlineData("ark-test-key")]
    public async Task AMissingOrWrongKeyIsRefusedWithAuthenticationErrorAndTheRequestId(string? authorization)
    {
        await using var ark = await StartAsync();
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, $"{ark.BaseUrl}/contents/generations/tasks");
        if (authorization is not null) request.Headers.TryAddWithoutValidation("Authorization", authorization);

        using var response = await http.SendAsync(request);

        var error = await AssertErrorAsync(response, HttpStatusCode.Unauthorized, "AuthenticationError", "Unauthorized");
        Assert.Equal("", error["param"]!.GetValue<string>());
        Assert.Empty(ark.Tasks);
    }

    [SqlitePassFact]
    public async Task ACreateAnswersAnIdInArksFormatAndKeepsTheBodyAsSent()
    {
        await using var ark = await StartAsync();
        using var http = Client(ark);

        var body = Body().ToJsonString();
        using var response = await http.PostAsync("contents/generations/tasks", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(response.Headers.Contains("X-Request-Id"));
        var json = await JsonAsync(response);
        Assert.Equal(["id"], json.Select(p => p.Key));
        Assert.Matches(@"^cgt-\d{14}-[a-z0-9]{5}$", json["id"]!.GetValue<string>());
        Assert.Equal([body], ark.CreateBodies);
        Assert.Equal(1, ark.CreateCalls);
        Assert.Equal(json["id"]!.GetValue<string>(), ark.Tasks.Single().Id);
    }

    [SqlitePassFact]
    public async Task AQueuedTaskHasThePagesFieldsWithAConcreteSeedAndNoContentYet()
    {
        await using var ark = await StartAsync();
        ark.Timing.QueuedFor = TimeSpan.FromMinutes(5);
        using var http = Client(ark);
        var before = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

        var id = await CreateAsync(http, Body(b => b["seed"] = -1));
        var task = await GetAsync(http, id);

        Assert.Equal(
            ["id", "model", "status", "created_at", "updated_at", "seed", "resolution", "ratio", "duration", "framespersecond",
             "generate_audio", "execution_expires_after", "error"],
            task.Select(p => p.Key));
        Assert.Equal(id, task["id"]!.GetValue<string>());
        Assert.Equal(Model, task["model"]!.GetValue<string>());
        Assert.Equal("queued", task["status"]!.GetValue<string>());
        Assert.InRange(task["created_at"]!.GetValue<long>(), before, before + 5);
        Assert.InRange(task["seed"]!.GetValue<long>(), 0, int.MaxValue);
        Assert.Equal("720p", task["resolution"]!.GetValue<string>());
        Assert.Equal("16:9", task["ratio"]!.GetValue<string>());
        Assert.Equal(5, task["duration"]!.GetValue<int>());
        Assert.Equal(24, task["framespersecond"]!.GetValue<int>());
        Assert.True(task["generate_audio"]!.GetValue<bool>());
        Assert.Equal(172800, task["execution_expires_after"]!.GetValue<long>());
        Assert.Null(task["error"]);
        Assert.Equal(1, ark.GetCalls);
    }

    [SqlitePassFact]
    public async Task AnUnknownTaskIs404WithTheErrorBody()
    {
        await using var ark = await StartAsync();
        using var http = Client(ark);

        using var get = await http.GetAsync("contents/generations/tasks/cgt-20260101000000-abcde");
        await AssertErrorAsync(get, HttpStatusCode.NotFound, "ResourceNotFound", "NotFound");
        using var delete = await http.DeleteAsync("contents/generations/tasks/cgt-20260101000000-abcde");
        await AssertErrorAsync(delete, HttpStatusCode.NotFound, "ResourceNotFound", "NotFound");
    }

    // ---- life cycle, media, usage ----

    [SqlitePassFact]
    public async Task ATaskGoesQueuedRunningSucceededWithARealMp4AndLastFrameBehindItsLinks()
    {
        await using var ark = await StartAsync();
        ark.Timing.QueuedFor = TimeSpan.FromSeconds(1); // long enough for the first read to find it queued on a busy machine
        using var http = Client(ark);

        var id = await CreateAsync(http, Body(b => b["return_last_frame"] = true));
        Assert.Equal("queued", (await GetAsync(http, id))["status"]!.GetValue<string>());
        await ark.WaitForStatusAsync(id, "running");
        await ark.WaitForStatusAsync(id, "succeeded");
        var task = await GetAsync(http, id);

        Assert.Equal(["video_url", "last_frame_url"], task["content"]!.AsObject().Select(p => p.Key));
        Assert.Equal(108900, task["usage"]!["completion_tokens"]!.GetValue<long>());
        Assert.Equal(108900, task["usage"]!["total_tokens"]!.GetValue<long>());
        Assert.True(task["updated_at"]!.GetValue<long>() >= task["created_at"]!.GetValue<long>());
        Assert.Null(task["error"]);
        var (video, videoPath) = await Media.DownloadAndProbeAsync(task["content"]!["video_url"]!.GetValue<string>());
        var (frame, framePath) = await Media.DownloadAndProbeAsync(task["content"]!["last_frame_url"]!.GetValue<string>(), ".png");
        File.Delete(videoPath);
        File.Delete(framePath);
        Assert.Equal("h264", video.PrimaryVideoStream!.CodecName);
        Assert.NotNull(video.PrimaryAudioStream);
        Assert.True(video.Duration > TimeSpan.FromSeconds(0.5));
        Assert.Equal("png", frame.PrimaryVideoStream!.CodecName);
    }

    [SqlitePassFact]
    public async Task WithoutAudioOrLastFrameTheVideoIsSilentAndThereIsNoLastFrameUrl()
    {
        await using var ark = await StartAsync();
        using var http = Client(ark);

        var id = await CreateAsync(http, Body(b => b["generate_audio"] = false));
        await ark.WaitForStatusAsync(id, "succeeded");
        var task = await GetAsync(http, id);

        Assert.Equal(["video_url"], task["content"]!.AsObject().Select(p => p.Key));
        Assert.False(task["generate_audio"]!.GetValue<bool>());
        var (video, path) = await Media.DownloadAndProbeAsync(task["content"]!["video_url"]!.GetValue<string>());
        File.Delete(path);
        Assert.Null(video.PrimaryAudioStream);
    }

    [SqlitePassTheory]
    [InlineData("720p", "16:9", 5, 1280, 720, 108900)]
    [InlineData("480p", "16:9", 4, 854, 480, 38830)]
    [InlineData("1080p", "9:16", 10, 1080, 1920, 488025)]
    [InlineData("720p", "4:3", 15, 960, 720, 243675)]
    [InlineData("720p", "21:9", 5, 1680, 720, 142931)]
    [InlineData("480p", "1:1", 8, 480, 480, 43425)]
    [InlineData("1080p", "3:4", 4, 1080, 1440, 147318)]
    public async Task SizeAndTokensFollowTheResolutionRatioAndDuration(string resolution, string ratio, int duration, int width, int height, long tokens)
    {
        Assert.Equal(tokens, (long)width * height * (duration * 24 + 1) / 1024);
        await using var ark = await StartAsync();
        using var http = Client(ark);

        var id = await CreateAsync(http, Body(b => { b["resolution"] = resolution; b["ratio"] = ratio; b["duration"] = duration; }));
        await ark.SetStatusAsync(id, "succeeded");

        var task = ark.Find(id)!;
        Assert.Equal((width, height), (task.Width, task.Height));
        Assert.Equal(tokens, (await GetAsync(http, id))["usage"]!["total_tokens"]!.GetValue<long>());
    }

    [SqlitePassFact]
    public async Task ModelChosenDurationAdaptiveRatioAndDefaultsBecomeConcreteValues()
    {
        await using var ark = await StartAsync();
        ark.Timing.QueuedFor = TimeSpan.FromMinutes(5);
        using var http = Client(ark);
        var portrait = Convert.ToBase64String(await Media.PngAsync("blue", 720, 1280));

        var textOnly = await GetAsync(http, await CreateAsync(http, new JsonObject { ["model"] = Model, ["content"] = Text("A boat") }));
        var fromImage = await GetAsync(http, await CreateAsync(http, new JsonObject
        {
            ["model"] = "ep-20260101-abc", ["duration"] = -1, ["ratio"] = "adaptive",
            ["content"] = new JsonArray(new JsonObject { ["type"] = "image_url", ["image_url"] = new JsonObject { ["url"] = $"data:image/png;base64,{portrait}" } }),
        }));

        Assert.Equal(("16:9", 5, "720p"), (textOnly["ratio"]!.GetValue<string>(), textOnly["duration"]!.GetValue<int>(), textOnly["resolution"]!.GetValue<string>()));
        Assert.Equal(("9:16", 5), (fromImage["ratio"]!.GetValue<string>(), fromImage["duration"]!.GetValue<int>()));
        Assert.Equal("ep-20260101-abc", fromImage["model"]!.GetValue<string>());
    }

    // ---- list ----

    [SqlitePassFact]
    public async Task ListFiltersByStatusModelAndIdsAndPagesNewestFirst()
    {
        await using var ark = await StartAsync();
        ark.Timing.QueuedFor = TimeSpan.FromMinutes(5);
        using var http = Client(ark);
        var ids = new List<string>();
        for (var i = 0; i < 5; i++)
            ids.Add(await CreateAsync(http, Body(b => b["model"] = i < 3 ? Model : "dreamina-seedance-2-0-fast-260128")));
        await ark.SetStatusAsync(ids[0], "running");
        await ark.SetStatusAsync(ids[1], "failed", "OutputVideoSensitiveContentDetected");

        var all = await ListAsync(http, "");
        Assert.Equal(5, all["total"]!.GetValue<int>());
        Assert.Equal(ids.AsEnumerable().Reverse(), Ids(all));

        Assert.Equal([ids[2], ids[1]], Ids(await ListAsync(http, "?page_num=2&page_size=2")));
        Assert.Equal([ids[0]], Ids(await ListAsync(http, "?page_num=3&page_size=2")));
        Assert.Empty(Ids(await ListAsync(http, "?page_num=4&page_size=2")));
        Assert.Equal([ids[0]], Ids(await ListAsync(http, "?filter.status=running")));
        Assert.Equal([ids[4], ids[3]], Ids(await ListAsync(http, "?filter.model=dreamina-seedance-2-0-fast-260128")));
        Assert.Equal([ids[3], ids[1]], Ids(await ListAsync(http, $"?filter.task_ids={ids[1]}&filter.task_ids={ids[3]}")));
        var failed = await ListAsync(http, "?filter.status=failed");
        Assert.Equal(1, failed["total"]!.GetValue<int>());
        Assert.Equal("OutputVideoSensitiveContentDetected", failed["items"]![0]!["error"]!["code"]!.GetValue<string>());

        ark.ListErrorAsFailureReason = true;
        var item = (await ListAsync(http, "?filter.status=failed"))["items"]![0]!.AsObject();
        Assert.False(item.ContainsKey("error"));
        Assert.Equal("OutputVideoSensitiveContentDetected", item["failure_reason"]!["code"]!.GetValue<string>());
        Assert.Equal(9, ark.ListCalls);
    }

    [SqlitePassTheory]
    [InlineData("?page_num=0", "page_num")]
    [InlineData("?page_num=501", "page_num")]
    [InlineData("?page_size=0", "page_size")]
    [InlineData("?page_size=501", "page_size")]
    [InlineData("?page_size=ten", "page_size")]
    [InlineData("?filter.status=processing", "filter.status")]
    public async Task ListRefusesPagingOutOfRange(string query, string param)
    {
        await using var ark = await StartAsync();
        using var http = Client(ark);

        using var response = await http.GetAsync($"contents/generations/tasks{query}");

        var error = await AssertErrorAsync(response, HttpStatusCode.BadRequest, "InvalidParameter", "BadRequest");
        Assert.Equal(param, error["param"]!.GetValue<string>());
    }

    [SqlitePassFact]
    public async Task ListAcceptsTheLimitsOfPaging()
    {
        await using var ark = await StartAsync();
        using var http = Client(ark);
        await CreateAsync(http, Body());

        Assert.Equal(1, (await ListAsync(http, "?page_num=1&page_size=500"))["total"]!.GetValue<int>());
        Assert.Equal(1, (await ListAsync(http, "?page_num=500&page_size=1"))["total"]!.GetValue<int>());
    }

    // ---- delete ----

    [SqlitePassFact]
    public async Task DeletingAQueuedTaskCancelsIt()
    {
        await using var ark = await StartAsync();
        ark.Timing.QueuedFor = TimeSpan.FromMinutes(5);
        using var http = Client(ark);
        var id = await CreateAsync(http, Body());

        using var response = await http.DeleteAsync($"contents/generations/tasks/{id}");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("cancelled", (await GetAsync(http, id))["status"]!.GetValue<string>());
        Assert.Equal(1, ark.DeleteCalls);
    }

    [SqlitePassTheory]
    [InlineData("succeeded")]
    [InlineData("failed")]
    [InlineData("expired")]
    public async Task DeletingAFinishedTaskRemovesTheRecord(string status)
    {
        await using var ark = await StartAsync();
        using var http = Client(ark);
        var id = await CreateAsync(http, Body());
        await ark.SetStatusAsync(id, status);

        using var response = await http.DeleteAsync($"contents/generations/tasks/{id}");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var get = await http.GetAsync($"contents/generations/tasks/{id}");
        Assert.Equal(HttpStatusCode.NotFound, get.StatusCode);
        Assert.Equal(0, (await ListAsync(http, ""))["total"]!.GetValue<int>());
    }

    [SqlitePassTheory]
    [InlineData("running")]
    [InlineData("cancelled")]
    public async Task DeletingARunningOrCancelledTaskIsRefused(string status)
    {
        await using var ark = await StartAsync();
        using var http = Client(ark);
        var id = await CreateAsync(http, Body());
        await ark.SetStatusAsync(id, status);

        using var response = await http.DeleteAsync($"contents/generations/tasks/{id}");

        await AssertErrorAsync(response, HttpStatusCode.Conflict, "InvalidAction.TaskStatusNotAllowed", "Conflict");
        Assert.Equal(status, (await GetAsync(http, id))["status"]!.GetValue<string>());
    }

    // ---- validation ----

    [SqlitePassTheory]
    [InlineData("{'model':'doubao-seedance-2-0-260128','content':[{'type':'text','text':'x'}],'camera_fixed':true}", "InvalidParameter", "camera_fixed")]
    [InlineData("{'content':[{'type':'text','text':'x'}]}", "MissingParameter", "model")]
    [InlineData("{'model':'doubao-seedance-2-0-260128'}", "MissingParameter", "content")]
    [InlineData("{'model':'doubao-seedance-2-0-260128','content':[]}", "InvalidParameter", "content")]
    [InlineData("{'model':'doubao-seedance-2-0-260128','content':[{'type':'text','text':'x'}],'duration':3}", "InvalidParameter", "duration")]
    [InlineData("{'model':'doubao-seedance-2-0-260128','content':[{'type':'text','text':'x'}],'duration':16}", "InvalidParameter", "duration")]
    [InlineData("{'model':'doubao-seedance-2-0-260128','content':[{'type':'text','text':'x'}],'duration':0}", "InvalidParameter", "duration")]
    [InlineData("{'model':'doubao-seedance-2-0-260128','content':[{'type':'text','text':'x'}],'duration':'5'}", "InvalidParameter", "duration")]
    [InlineData("{'model':'doubao-seedance-2-0-260128','content':[{'type':'text','text':'x'}],'duration':5.5}", "InvalidParameter", "duration")]
    [InlineData("{'model':'doubao-seedance-2-0-260128','content':[{'type':'text','text':'x'}],'seed':-2}", "InvalidParameter", "seed")]
    [InlineData("{'model':'doubao-seedance-2-0-260128','content':[{'type':'text','text':'x'}],'seed':2147483648}", "InvalidParameter", "seed")]
    [InlineData("{'model':'doubao-seedance-2-0-260128','content':[{'type':'text','text':'x'}],'ratio':'2:1'}", "InvalidParameter", "ratio")]
    [InlineData("{'model':'doubao-seedance-2-0-260128','content':[{'type':'text','text':'x'}],'resolution':'4k'}", "InvalidParameter", "resolution")]
    [InlineData("{'model':'doubao-seedance-2-0-fast-260128','content':[{'type':'text','text':'x'}],'resolution':'1080p'}", "InvalidParameter", "resolution")]
    [InlineData("{'model':'doubao-seedance-2-0-260128','content':[{'type':'text','text':'x'}],'watermark':'no'}", "InvalidParameter", "watermark")]
    [InlineData("{'model':'doubao-seedance-2-0-260128','content':[{'type':'text','text':'x'}],'callback_url':'/hook'}", "InvalidParameter", "callback_url")]
    [InlineData("{'model':'doubao-seedance-2-0-260128','content':[{'type':'text','text':'x'}],'execution_expires_after':0}", "InvalidParameter", "execution_expires_after")]
    [InlineData("{'model':'doubao-seedance-2-0-260128','content':[{'type':'text','text':'x','role':'first_frame'}]}", "InvalidParameter", "content[0].role")]
    [InlineData("{'model':'doubao-seedance-2-0-260128','content':[{'type':'text'}]}", "MissingParameter", "content[0].text")]
    [InlineData("{'model':'doubao-seedance-2-0-260128','content':[{'type':'draft'}]}", "InvalidParameter", "content[0].type")]
    [InlineData("{'model':'doubao-seedance-2-0-260128','content':[{'type':'image_url','image_url':{'url':'https://a/b.png'},'role':'reference_video'}]}", "InvalidParameter", "content[0].role")]
    [InlineData("{'model':'doubao-seedance-2-0-260128','content':[{'type':'image_url','image_url':{'url':'https://a/b.png','detail':'x'}}]}", "InvalidParameter", "content[0].image_url.detail")]
    [InlineData("{'model':'doubao-seedance-2-0-260128','content':[{'type':'image_url','image_url':{'url':'ftp://a/b.png'}}]}", "InvalidParameter", "content[0].image_url.url")]
    [InlineData("{'model':'doubao-seedance-2-0-260128','content':[{'type':'image_url','image_url':{'url':'https://a/1.png'}},{'type':'image_url','image_url':{'url':'https://a/2.png'}}]}", "InvalidParameter", "content[0].role")]
    [InlineData("{'model':'doubao-seedance-2-0-260128','content':[{'type':'image_url','image_url':{'url':'https://a/1.png'},'role':'first_frame'},{'type':'image_url','image_url':{'url':'https://a/2.png'},'role':'first_frame'}]}", "InvalidParameter", "content")]
    [InlineData("{'model':'doubao-seedance-2-0-260128','content':[{'type':'image_url','image_url':{'url':'https://a/1.png'},'role':'last_frame'}]}", "InvalidParameter", "content")]
    [InlineData("{'model':'doubao-seedance-2-0-260128','content':[{'type':'image_url','image_url':{'url':'https://a/1.png'},'role':'first_frame'},{'type':'image_url','image_url':{'url':'https://a/2.png'},'role':'reference_image'}]}", "InvalidParameter", "content")]
    [InlineData("{'model':'doubao-seedance-2-0-260128','content':[{'type':'image_url','image_url':{'url':'https://a/1.png'},'role':'first_frame'},{'type':'video_url','video_url':{'url':'https://a/v.mp4'},'role':'reference_video'}]}", "InvalidParameter", "content")]
    [InlineData("{'model':'doubao-seedance-2-0-260128','content':[{'type':'text','text':'x'},{'type':'audio_url','audio_url':{'url':'https://a/a.mp3'},'role':'reference_audio'}]}", "InvalidParameter", "content")]
    [InlineData("{'model':'doubao-seedance-2-0-260128','content':[{'type':'video_url','video_url':{'url':'https://a/v.mp4'}}]}", "InvalidParameter", "content[0].role")]
    [InlineData("{'model':'doubao-seedance-2-0-260128','content':[{'type':'video_url','video_url':{'url':'data:video/mp4;base64,AAAA'},'role':'reference_video'}]}", "InvalidParameter", "content[0].video_url.url")]
    [InlineData("{'model':'doubao-seedance-2-0-260128','content':[{'type':'image_url','image_url':{'url':'data:image/png;base64,***'}}]}", "InvalidParameter", "content[0].image_url.url")]
    [InlineData("[1,2]", "InvalidParameter", "body")]
    [InlineData("{not json", "InvalidParameter", "body")]
    public async Task ACreateBodyOutsideTheContractIsRefused(string body, string code, string param)
    {
        await using var ark = await StartAsync();
        using var http = Client(ark);

        using var response = await PostRawAsync(http, body.Replace('\'', '"'));

        var error = await AssertErrorAsync(response, HttpStatusCode.BadRequest, code, "BadRequest");
        Assert.Equal(param, error["param"]!.GetValue<string>());
        Assert.Empty(ark.Tasks);
        Assert.Single(ark.CreateBodies);
    }

    [SqlitePassFact]
    public async Task AnUnknownModelIs404InvalidEndpointOrModel()
    {
        await using var ark = await StartAsync();
        using var http = Client(ark);

        using var response = await http.PostAsync("contents/generations/tasks", Json(Body(b => b["model"] = "seedance-2.0")));

        await AssertErrorAsync(response, HttpStatusCode.NotFound, "InvalidEndpointOrModel.NotFound", "NotFound");
    }

    [SqlitePassTheory]
    [InlineData(200, 200)]
    [InlineData(640, 200)]
    [InlineData(1600, 600)]
    public async Task AnInlineImageOutsideTheSizeLimitsIsRefused(int width, int height)
    {
        await using var ark = await StartAsync();
        using var http = Client(ark);
        var png = Convert.ToBase64String(await Media.PngAsync("red", width, height));

        using var response = await http.PostAsync("contents/generations/tasks", Json(new JsonObject
        {
            ["model"] = Model,
            ["content"] = new JsonArray(new JsonObject { ["type"] = "image_url", ["image_url"] = new JsonObject { ["url"] = $"data:image/png;base64,{png}" } }),
        }));

        var error = await AssertErrorAsync(response, HttpStatusCode.BadRequest, "InvalidParameter", "BadRequest");
        Assert.Equal("content[0].image_url.url", error["param"]!.GetValue<string>());
    }

    [SqlitePassTheory]
    [InlineData("jpeg", "mjpeg", 200, 200, false)]
    [InlineData("jpeg", "mjpeg", 640, 360, true)]
    [InlineData("webp", "libwebp", 6002, 3000, false)]
    [InlineData("webp", "libwebp", 640, 360, true)]
    [InlineData("gif", "gif", 300, 800, false)]
    [InlineData("gif", "gif", 360, 640, true)]
    [InlineData("bmp", "bmp", 299, 400, false)]
    [InlineData("bmp", "bmp", 400, 400, true)]
    public async Task TheSizeOfAnInlineImageIsCheckedInEveryCommonFormat(string format, string encoder, int width, int height, bool accepted)
    {
        await using var ark = await StartAsync();
        using var http = Client(ark);
        var path = Path.Combine(Path.GetTempPath(), $"ark-{Guid.NewGuid():N}.{format}");
        await FFMpegCore.FFMpegArguments.FromFileInput($"color=c=green:s={width}x{height}:d=1", false, o => o.ForceFormat("lavfi"))
            .OutputToFile(path, true, o => o.WithCustomArgument($"-frames:v 1 -c:v {encoder}")).ProcessAsynchronously();
        var data = Convert.ToBase64String(await File.ReadAllBytesAsync(path));
        File.Delete(path);

        using var response = await http.PostAsync("contents/generations/tasks", Json(new JsonObject
        {
            ["model"] = Model,
            ["content"] = new JsonArray(new JsonObject { ["type"] = "image_url", ["image_url"] = new JsonObject { ["url"] = $"data:image/{format};base64,{data}" } }),
        }));

        if (accepted) Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        else Assert.Equal("content[0].image_url.url", (await AssertErrorAsync(response, HttpStatusCode.BadRequest, "InvalidParameter", "BadRequest"))["param"]!.GetValue<string>());
    }

    [SqlitePassFact]
    public async Task TheThreeModesAreAcceptedEachOnItsOwn()
    {
        await using var ark = await StartAsync();
        using var http = Client(ark);
        var png = $"data:image/png;base64,{Convert.ToBase64String(await Media.PngAsync("red", 640, 360))}";
        JsonObject Item(string type, string url, string? role)
        {
            var item = new JsonObject { ["type"] = type, [type] = new JsonObject { ["url"] = url } };
            if (role is not null) item["role"] = role;
            return item;
        }

        await CreateAsync(http, new JsonObject { ["model"] = Model, ["content"] = new JsonArray(Item("image_url", png, null)) });
        await CreateAsync(http, new JsonObject { ["model"] = Model, ["content"] = new JsonArray(
            new JsonObject { ["type"] = "text", ["text"] = "x" }, Item("image_url", png, "first_frame"), Item("image_url", "https://a/2.jpg", "last_frame")) });
        await CreateAsync(http, new JsonObject { ["model"] = Model, ["content"] = new JsonArray(
            new JsonObject { ["type"] = "text", ["text"] = "x" }, Item("image_url", png, "reference_image"),
            Item("video_url", "https://a/v.mp4", "reference_video"), Item("audio_url", "https://a/a.wav", "reference_audio")) });
        await CreateAsync(http, Body(b => { b["seed"] = int.MaxValue; b["duration"] = 15; b["watermark"] = true; b["callback_url"] = null; }));

        Assert.Equal(4, ark.Tasks.Count);
    }

    // ---- callbacks ----

    [SqlitePassFact]
    public async Task CallbacksCarryTheTaskObjectOnEveryStatusChange()
    {
        await using var receiver = await CallbackReceiver.StartAsync();
        await using var ark = await StartAsync();
        using var http = Client(ark);

        var id = await CreateAsync(http, Body(b => b["callback_url"] = receiver.Url));
        await ark.WaitForStatusAsync(id, "succeeded");
        await ark.CallbacksSettledAsync();

        Assert.Equal(["queued", "running", "succeeded"], receiver.Received.Select(b => b["status"]!.GetValue<string>()));
        var last = receiver.Received[^1];
        Assert.Equal((await GetAsync(http, id)).ToJsonString(), last.ToJsonString());
        Assert.All(ark.Callbacks, c => Assert.Equal("acknowledged", c.Outcome));
    }

    [SqlitePassFact]
    public async Task ASucceededCallbackNotAcknowledgedIsRetriedUpToThreeTimes()
    {
        await using var receiver = await CallbackReceiver.StartAsync();
        receiver.Answer = (body, _) => body["status"]!.GetValue<string>() == "succeeded" ? 500 : 200;
        await using var ark = await StartAsync();
        ark.Timing.CallbackRetryDelay = TimeSpan.FromMilliseconds(10);
        using var http = Client(ark);

        var id = await CreateAsync(http, Body(b => b["callback_url"] = receiver.Url));
        await ark.WaitForStatusAsync(id, "succeeded");
        await ark.CallbacksSettledAsync();

        Assert.Equal(["queued", "running", "succeeded", "succeeded", "succeeded", "succeeded"], receiver.Received.Select(b => b["status"]!.GetValue<string>()));
        Assert.Equal([1, 2, 3, 4], ark.Callbacks.Where(c => c.Status == "succeeded").Select(c => c.Attempt));
        Assert.All(ark.Callbacks.Where(c => c.Status == "succeeded"), c => Assert.Equal(("rejected", 500), (c.Outcome, c.HttpStatus!.Value)));
    }

    [SqlitePassFact]
    public async Task AFailedCallbackThatTimesOutIsRetriedUntilAcknowledgedButARunningOneIsNot()
    {
        await using var receiver = await CallbackReceiver.StartAsync();
        var failedSeen = 0;
        receiver.Answer = (body, _) => body["status"]!.GetValue<string>() switch
        {
            "running" => 500,
            "failed" => Interlocked.Increment(ref failedSeen) == 1 ? 0 : 204,
            _ => 200,
        };
        await using var ark = await StartAsync();
        ark.Timing.CallbackTimeout = TimeSpan.FromMilliseconds(300);
        ark.Timing.CallbackRetryDelay = TimeSpan.FromMilliseconds(10);
        using var http = Client(ark);

        var id = await CreateAsync(http, Body(b => { b["callback_url"] = receiver.Url; b["content"] = Text("A storm [ark:fail=OutputVideoSensitiveContentDetected.PolicyViolation]"); }));
        await ark.WaitForStatusAsync(id, "failed");
        await ark.CallbacksSettledAsync();

        Assert.Equal(["queued:acknowledged", "running:rejected", "failed:timeout", "failed:acknowledged"],
            ark.Callbacks.Select(c => $"{c.Status}:{c.Outcome}"));
        var failed = receiver.Received[^1];
        Assert.Equal("OutputVideoSensitiveContentDetected.PolicyViolation", failed["error"]!["code"]!.GetValue<string>());
    }

    [SqlitePassFact]
    public async Task DroppedCallbacksAreRecordedButNeverSent()
    {
        await using var receiver = await CallbackReceiver.StartAsync();
        await using var ark = await StartAsync();
        ark.Faults.DropCallbacks = true;
        using var http = Client(ark);

        var id = await CreateAsync(http, Body(b => b["callback_url"] = receiver.Url));
        await ark.WaitForStatusAsync(id, "succeeded");
        await ark.CallbacksSettledAsync();

        Assert.Empty(receiver.Received);
        Assert.Equal(["queued", "running", "succeeded"], ark.Callbacks.Select(c => c.Status));
        Assert.All(ark.Callbacks, c => Assert.Equal("dropped", c.Outcome));
    }

    // ---- faults ----

    [SqlitePassFact]
    public async Task LatencyDelaysEveryRequest()
    {
        await using var ark = await StartAsync();
        ark.Faults.Latency = TimeSpan.FromMilliseconds(300);
        using var http = Client(ark);

        var watch = Stopwatch.StartNew();
        await ListAsync(http, "");

        Assert.True(watch.Elapsed >= TimeSpan.FromMilliseconds(280), $"answered after {watch.Elapsed}");
    }

    [SqlitePassFact]
    public async Task RateLimitAndQuotaFaultsRefuseTheNextCreatesOnlyWith429()
    {
        await using var ark = await StartAsync();
        using var http = Client(ark);
        ark.Faults.RateLimitNext(2);
        ark.Faults.QuotaExceededNext(1);

        for (var i = 0; i < 2; i++)
        {
            using var limited = await http.PostAsync("contents/generations/tasks", Json(Body()));
            await AssertErrorAsync(limited, HttpStatusCode.TooManyRequests, "RateLimitExceeded.EndpointRPMExceeded", "TooManyRequests");
        }
        await ListAsync(http, "");
        using var quota = await http.PostAsync("contents/generations/tasks", Json(Body()));
        await AssertErrorAsync(quota, HttpStatusCode.TooManyRequests, "QuotaExceeded", "TooManyRequests");
        await CreateAsync(http, Body());

        Assert.Equal(4, ark.CreateCalls);
        Assert.Single(ark.Tasks);
    }

    [SqlitePassFact]
    public async Task ServerErrorsHitOnlyTheCallsAimedAt()
    {
        await using var ark = await StartAsync();
        using var http = Client(ark);
        var id = await CreateAsync(http, Body());
        ark.Faults.ServerErrorNext(2, ArkCall.Get);

        await ListAsync(http, "");
        for (var i = 0; i < 2; i++)
        {
            using var failing = await http.GetAsync($"contents/generations/tasks/{id}");
            await AssertErrorAsync(failing, HttpStatusCode.InternalServerError, "InternalServiceError", "InternalServerError");
        }
        await GetAsync(http, id);
    }

    [SqlitePassFact]
    public async Task AnyErrorCanBeScriptedForTheNextCreate()
    {
        await using var ark = await StartAsync();
        using var http = Client(ark);
        ark.Faults.ErrorNext(1, 404, "ModelNotOpen");

        using var response = await http.PostAsync("contents/generations/tasks", Json(Body()));

        await AssertErrorAsync(response, HttpStatusCode.NotFound, "ModelNotOpen", "NotFound");
    }

    [SqlitePassTheory]
    [InlineData("AccessDenied", HttpStatusCode.Forbidden, "Forbidden")]
    [InlineData("AccountOverdueError", HttpStatusCode.Forbidden, "Forbidden")]
    [InlineData("AuthenticationError", HttpStatusCode.Unauthorized, "Unauthorized")]
    public async Task AuthFaultsRefuseTheNextCallsEvenWithTheRightKey(string code, HttpStatusCode status, string type)
    {
        await using var ark = await StartAsync();
        using var http = Client(ark);
        ark.Faults.AuthFailNext(1, code);

        using var response = await http.PostAsync("contents/generations/tasks", Json(Body()));

        await AssertErrorAsync(response, status, code, type);
        await CreateAsync(http, Body());
    }

    [SqlitePassFact]
    public async Task ATimeoutHangsTheCallPastTheClientsPatience()
    {
        await using var ark = await StartAsync();
        ark.Faults.TimeoutNext(1, ArkCall.Create);
        using var impatient = Client(ark, TimeSpan.FromMilliseconds(500));

        await Assert.ThrowsAnyAsync<TaskCanceledException>(() => impatient.PostAsync("contents/generations/tasks", Json(Body())));

        Assert.Empty(ark.Tasks);
        // The next call is served (by a client with the usual patience: this one's would only test the machine's speed).
        using var http = Client(ark);
        await CreateAsync(http, Body());
        Assert.Single(ark.Tasks);
    }

    [SqlitePassFact]
    public async Task ATimeoutAfterProcessingCreatesTheTaskButLosesTheAnswer()
    {
        await using var ark = await StartAsync();
        ark.Faults.TimeoutNext(1, ArkCall.Create, afterProcessing: true);
        using var http = Client(ark, TimeSpan.FromMilliseconds(500));

        await Assert.ThrowsAnyAsync<TaskCanceledException>(() => http.PostAsync("contents/generations/tasks", Json(Body())));

        Assert.Single(ark.Tasks);
    }

    [SqlitePassFact]
    public async Task AHangEndsWithTheNormalAnswerWhenTheClientWaits()
    {
        await using var ark = await StartAsync();
        ark.Timing.HangFor = TimeSpan.FromMilliseconds(200);
        ark.Faults.TimeoutNext(1, ArkCall.Create, afterProcessing: true);
        using var http = Client(ark);

        var id = await CreateAsync(http, Body());

        Assert.Equal(id, ark.Tasks.Single().Id);
    }

    [SqlitePassTheory]
    [InlineData("InputTextSensitiveContentDetected")]
    [InlineData("InputImageSensitiveContentDetected.PrivacyInformation")]
    public async Task RefusedInputIsA400WithTheModerationCode(string code)
    {
        await using var ark = await StartAsync();
        using var http = Client(ark);
        ark.Faults.RefuseInput(code);

        using var response = await http.PostAsync("contents/generations/tasks", Json(Body()));

        await AssertErrorAsync(response, HttpStatusCode.BadRequest, code, "BadRequest");
        Assert.Empty(ark.Tasks);
        ark.Faults.RefuseInput(null);
        await CreateAsync(http, Body());
    }

    [SqlitePassFact]
    public async Task APromptDirectiveRefusesOnlyItsOwnCreate()
    {
        await using var ark = await StartAsync();
        using var http = Client(ark);

        using var refused = await http.PostAsync("contents/generations/tasks", Json(Body(b => b["content"] = Text("x [ark:refuse=InputTextSensitiveContentDetected]"))));

        await AssertErrorAsync(refused, HttpStatusCode.BadRequest, "InputTextSensitiveContentDetected", "BadRequest");
        await CreateAsync(http, Body());
    }

    [SqlitePassFact]
    public async Task FailedOutputEndsTheTaskFailedWithTheCodeAndNoContent()
    {
        await using var ark = await StartAsync();
        ark.Faults.FailOutput("OutputVideoSensitiveContentDetected");
        using var http = Client(ark);

        var id = await CreateAsync(http, Body());
        await ark.WaitForStatusAsync(id, "failed");
        var task = await GetAsync(http, id);

        Assert.Equal("OutputVideoSensitiveContentDetected", task["error"]!["code"]!.GetValue<string>());
        Assert.False(string.IsNullOrEmpty(task["error"]!["message"]!.GetValue<string>()));
        Assert.False(task.ContainsKey("content"));
        Assert.False(task.ContainsKey("usage"));
    }

    [SqlitePassFact]
    public async Task StuckTasksStayRunningUntilTheFaultIsLifted()
    {
        await using var ark = await StartAsync();
        ark.Faults.Stuck = true;
        using var http = Client(ark);

        var id = await CreateAsync(http, Body());
        await ark.WaitForStatusAsync(id, "running");
        await Task.Delay(ark.Timing.RunningFor * 4);
        Assert.Equal("running", (await GetAsync(http, id))["status"]!.GetValue<string>());

        ark.Faults.Stuck = false;
        await ark.WaitForStatusAsync(id, "succeeded");
    }

    [SqlitePassFact]
    public async Task PromptDirectivesMakeOneTaskStuckFailedOrExpired()
    {
        await using var ark = await StartAsync();
        using var http = Client(ark);

        var stuck = await CreateAsync(http, Body(b => b["content"] = Text("a [ark:stuck]")));
        var failed = await CreateAsync(http, Body(b => b["content"] = Text("b [ark:fail=OutputVideoSensitiveContentDetected]")));
        var expired = await CreateAsync(http, Body(b => b["content"] = Text("c [ark:expire]")));
        var normal = await CreateAsync(http, Body());

        await ark.WaitForStatusAsync(normal, "succeeded");
        await ark.WaitForStatusAsync(failed, "failed");
        await ark.WaitForStatusAsync(expired, "expired");
        Assert.Equal("running", ark.Find(stuck)!.Status);
    }

    [SqlitePassFact]
    public async Task ExpiringTasksEndExpiredAndSoDoesATaskPastItsExecutionLimit()
    {
        await using var ark = await StartAsync();
        using var http = Client(ark);
        ark.Faults.ExpireTasks = true;
        var expired = await CreateAsync(http, Body());
        await ark.WaitForStatusAsync(expired, "expired");
        ark.Faults.ExpireTasks = false;

        ark.Faults.Stuck = true;
        var overdue = await CreateAsync(http, Body(b => b["execution_expires_after"] = 1));
        await ark.WaitForStatusAsync(overdue, "expired");

        Assert.Null((await GetAsync(http, expired))["content"]);
    }

    [SqlitePassFact]
    public async Task ResultLinksExpireAfterTheirLifetimeOrOnDemandAndNeedTheirSignature()
    {
        await using var ark = await StartAsync();
        using var http = Client(ark);
        using var download = new HttpClient();
        var first = await CreateAsync(http, Body());
        var second = await CreateAsync(http, Body());
        await ark.WaitForStatusAsync(first, "succeeded");
        await ark.WaitForStatusAsync(second, "succeeded");
        var firstUrl = (await GetAsync(http, first))["content"]!["video_url"]!.GetValue<string>();
        var secondUrl = (await GetAsync(http, second))["content"]!["video_url"]!.GetValue<string>();

        Assert.Equal(HttpStatusCode.OK, (await download.GetAsync(firstUrl)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await download.GetAsync(firstUrl.Split('?')[0])).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await download.GetAsync($"{ark.Origin}/results/cgt-none/video.mp4")).StatusCode);

        ark.ExpireResultLinks(first);
        Assert.Equal(HttpStatusCode.Forbidden, (await download.GetAsync(firstUrl)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await download.GetAsync(secondUrl)).StatusCode);

        ark.Faults.ResultLinksExpireAfter(TimeSpan.Zero);
        await Task.Delay(50);
        using var expired = await download.GetAsync(secondUrl);
        Assert.Equal(HttpStatusCode.Forbidden, expired.StatusCode);
        Assert.Equal("AccessDenied", (await JsonAsync(expired))["Code"]!.GetValue<string>());
    }

    [SqlitePassFact]
    public async Task AForcedStatusIsPinnedAnnouncedAndReleasable()
    {
        await using var receiver = await CallbackReceiver.StartAsync();
        await using var ark = await StartAsync();
        using var http = Client(ark);
        var id = await CreateAsync(http, Body(b => b["callback_url"] = receiver.Url));

        await ark.SetStatusAsync(id, "running");
        await Task.Delay(ark.Timing.RunningFor * 3);
        Assert.Equal("running", ark.Find(id)!.Status);

        ark.Release(id);
        await ark.WaitForStatusAsync(id, "succeeded");
        await ark.CallbacksSettledAsync();
        Assert.Equal(["queued", "running", "succeeded"], receiver.Received.Select(b => b["status"]!.GetValue<string>()));
    }

    // ---- helpers ----

    private static async Task<ArkEmulator> StartAsync()
    {
        var ark = await ArkEmulator.StartAsync();
        ark.Timing.QueuedFor = TimeSpan.FromMilliseconds(50);
        ark.Timing.RunningFor = TimeSpan.FromMilliseconds(100);
        return ark;
    }

    private static HttpClient Client(ArkEmulator ark, TimeSpan? timeout = null)
    {
        var http = new HttpClient { BaseAddress = new Uri(ark.BaseUrl + "/"), Timeout = timeout ?? TimeSpan.FromSeconds(30) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ark.ApiKey);
        return http;
    }

    private static JsonObject Body(Action<JsonObject>? edit = null)
    {
        var body = new JsonObject
        {
            ["model"] = Model, ["content"] = Text("A cat walking in the rain"),
            ["resolution"] = "720p", ["ratio"] = "16:9", ["duration"] = 5,
        };
        edit?.Invoke(body);
        return body;
    }

    private static JsonArray Text(string prompt) => new(new JsonObject { ["type"] = "text", ["text"] = prompt });

    private static StringContent Json(JsonNode body) => new(body.ToJsonString(), Encoding.UTF8, "application/json");

    private static Task<HttpResponseMessage> PostRawAsync(HttpClient http, string body) =>
        http.PostAsync("contents/generations/tasks", new StringContent(body, Encoding.UTF8, "application/json"));

    private static async Task<string> CreateAsync(HttpClient http, JsonObject body)
    {
        using var response = await http.PostAsync("contents/generations/tasks", Json(body));
        var json = await JsonAsync(response);
        Assert.True(response.IsSuccessStatusCode, json.ToJsonString());
        return json["id"]!.GetValue<string>();
    }

    private static async Task<JsonObject> GetAsync(HttpClient http, string id)
    {
        using var response = await http.GetAsync($"contents/generations/tasks/{id}");
        var json = await JsonAsync(response);
        Assert.True(response.IsSuccessStatusCode, json.ToJsonString());
        return json;
    }

    private static async Task<JsonObject> ListAsync(HttpClient http, string query)
    {
        using var response = await http.GetAsync($"contents/generations/tasks{query}");
        var json = await JsonAsync(response);
        Assert.True(response.IsSuccessStatusCode, json.ToJsonString());
        Assert.Equal(["total", "items"], json.Select(p => p.Key));
        return json;
    }

    private static IEnumerable<string> Ids(JsonObject list) => list["items"]!.AsArray().Select(i => i!["id"]!.GetValue<string>()).ToList();

    private static async Task<JsonObject> JsonAsync(HttpResponseMessage response) =>
        JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();

    /// <summary>Asserts Ark's error body, and that its message ends with the request id of the X-Request-Id header.</summary>
    private static async Task<JsonObject> AssertErrorAsync(HttpResponseMessage response, HttpStatusCode status, string code, string type)
    {
        var body = await JsonAsync(response);
        Assert.True(response.StatusCode == status, $"expected {(int)status}, got {(int)response.StatusCode}: {body.ToJsonString()}");
        Assert.Equal(["error"], body.Select(p => p.Key));
        var error = body["error"]!.AsObject();
        Assert.Equal(["code", "message", "param", "type"], error.Select(p => p.Key));
        Assert.Equal(code, error["code"]!.GetValue<string>());
        Assert.Equal(type, error["type"]!.GetValue<string>());
        var requestId = Assert.Single(response.Headers.GetValues("X-Request-Id"));
        Assert.Matches($@"\S.* Request id: {Regex.Escape(requestId)}$", error["message"]!.GetValue<string>());
        return error;
    }
}
