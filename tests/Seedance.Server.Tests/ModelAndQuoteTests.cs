using System.Text.Json.Nodes;
using Seedance.Server.Tests.Support;

namespace Seedance.Server.Tests;

/// <summary>
/// The catalogue as callers see it (<c>GET /api/v1/video/models</c>) and the quote (<c>POST /api/v1/video/quote</c>):
/// a quote is checked as a submission is, costs to the cent what the submission reserves, and leaves nothing behind.
/// </summary>
[TakesAbout(25)]
public sealed class ModelAndQuoteTests
{
    private const string Quote = "/api/v1/video/quote";
    private const string Submit = "/api/v1/video/task";

    /// <summary>Submissions wait as pending: nothing is handed over or rendered, so every reservation stays to be read.</summary>
    private static readonly Dictionary<string, string> NoDispatch = new() { ["Seedance:Tasks:Dispatch"] = "false" };

    private static string Body(string model, string resolution, int duration) =>
        $$"""{"model":"{{model}}","resolution":"{{resolution}}","duration":{{duration}},"content":[{"type":"text","text":"A lighthouse in fog"}]}""";

    private static async Task<(decimal Total, decimal Used, decimal Reserved, decimal Remain)> BalanceAsync(ApiClient client)
    {
        var balance = (await client.BalanceAsync()).Result!;
        return (balance["total_credits"]!.GetValue<decimal>(), balance["used_credits"]!.GetValue<decimal>(),
            balance["reserved_credits"]!.GetValue<decimal>(), balance["remain_credits"]!.GetValue<decimal>());
    }

    [Fact]
    public async Task WithNothingConfiguredTheModelsAnswerIsTheDocumentsCatalogueAndItsPrices()
    {
        await using var server = await RunningServer.StartAsync(NoDispatch);
        using var client = await server.CreateKeyAsync();

        var answer = await ApiResponse.From(await client.Http.GetAsync("/api/v1/video/models"));

        answer.AssertOk();
        var models = answer.Result!["data"]!.AsArray();
        Assert.Equal(2, models.Count);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""
            {"model":"seedance-2.0","default":true,"resolutions":["480p","720p","1080p"],"default_resolution":"720p",
             "ratios":["16:9","9:16","4:3","3:4","1:1","21:9"],"default_ratio":"16:9","duration":{"min":4,"max":15,"default":5},
             "audio":true,"prices":{"480p":0.9,"720p":1.8,"1080p":4.5}}
            """), models[0]), models[0]!.ToJsonString());
        Assert.Equal("seedance-2.0-fast", models[1]!["model"]!.GetValue<string>());
        Assert.False(models[1]!["default"]!.GetValue<bool>());
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"480p":0.72,"720p":1.44,"1080p":3.312}"""), models[1]!["prices"]), models[1]!.ToJsonString());

        using var anonymous = new HttpClient { BaseAddress = new Uri(server.BaseUrl) };
        (await ApiResponse.From(await anonymous.GetAsync("/api/v1/video/models"))).AssertError(401, "INVALID_API_KEY");
    }

    [Fact]
    public async Task AQuoteCostsToTheCentWhatASubmissionOfTheSameBodyReservesForEveryModelResolutionAndSomeDurations()
    {
        await using var server = await RunningServer.StartAsync(NoDispatch);
        using var client = await server.CreateKeyAsync(credits: 10_000m, maxPending: 100);

        foreach (var model in new[] { "seedance-2.0", "seedance-2.0-fast" })
            foreach (var resolution in new[] { "480p", "720p", "1080p" })
                foreach (var duration in new[] { 4, 7, 15 })
                {
                    var before = await BalanceAsync(client);
                    var quote = await client.PostTextAsync(Quote, Body(model, resolution, duration));
                    quote.AssertOk();
                    var cost = quote.Result!["credit_cost"]!.GetValue<decimal>();
                    Assert.Equal(model, quote.Result["model"]!.GetValue<string>());
                    Assert.Equal(resolution, quote.Result["resolution"]!.GetValue<string>());
                    Assert.Equal(duration, quote.Result["duration"]!.GetValue<int>());
                    Assert.Equal(before.Remain, quote.Result["remain_credits"]!.GetValue<decimal>());
                    Assert.True(quote.Result["affordable"]!.GetValue<bool>());
                    Assert.Equal(before, await BalanceAsync(client)); // the quote reserved nothing

                    var submitted = await client.PostTextAsync(Submit, Body(model, resolution, duration));
                    submitted.AssertOk();
                    Assert.Equal(cost, submitted.Result!["credit_cost"]!.GetValue<decimal>());
                    var after = await BalanceAsync(client);
                    Assert.Equal(cost, after.Reserved - before.Reserved);
                    Assert.Equal(cost, before.Remain - after.Remain);
                }
    }

    public static TheoryData<string, string> RefusedBodies() => new()
    {
        { "unknown model", """{"model":"seedance-9","content":[{"type":"text","text":"x"}]}""" },
        { "resolution not offered", """{"resolution":"4k","content":[{"type":"text","text":"x"}]}""" },
        { "duration too short", """{"duration":3,"content":[{"type":"text","text":"x"}]}""" },
        { "no content", """{"model":"seedance-2.0"}""" },
        { "unknown field", """{"colour":"red","content":[{"type":"text","text":"x"}]}""" },
        { "not JSON", """{"content":[""" },
        { "an upload of no one", """{"content":[{"type":"image_url","image_url":"api/uploads/0123456789abcdef0123456789abcdef/cat.png"}]}""" },
        { "an unknown sample", """{"content":[{"type":"sample_id","sample_id":"no-such-sample"}]}""" },
        { "a callback to a private address", """{"callback_url":"http://10.0.0.7/hook","content":[{"type":"text","text":"x"}]}""" },
    };

    [Theory]
    [MemberData(nameof(RefusedBodies))]
    public async Task AQuoteIsRefusedWithTheSameStatusCodeAndMessageAsASubmissionOfTheSameBodyAndNothingChanges(string why, string body)
    {
        await using var server = await RunningServer.StartAsync(NoDispatch);
        using var client = await server.CreateKeyAsync(credits: 100m);
        var before = await BalanceAsync(client);

        var quote = await client.PostTextAsync(Quote, body);
        var submission = await client.PostTextAsync(Submit, body);

        Assert.True(quote.Status >= 400, $"{why}: {quote.Status}");
        Assert.Equal((submission.Status, submission.Code, submission.Message), (quote.Status, quote.Code, quote.Message));
        Assert.Equal(before, await BalanceAsync(client));
        Assert.Equal(0, (await client.ListAsync()).Result!["total"]!.GetValue<int>());
    }

    [Fact]
    public async Task AQuoteOfMoreThanRemainsSaysItIsNotAffordableAndTheSubmissionIsRefused()
    {
        await using var server = await RunningServer.StartAsync(NoDispatch);
        using var client = await server.CreateKeyAsync(credits: 5m);
        var body = Body("seedance-2.0", "1080p", 15);

        var quote = await client.PostTextAsync(Quote, body);
        var wrongType = await client.PostTextAsync(Quote, body, "text/plain");

        quote.AssertOk();
        Assert.Equal((67.5m, 5m, false), (quote.Result!["credit_cost"]!.GetValue<decimal>(), quote.Result["remain_credits"]!.GetValue<decimal>(),
            quote.Result["affordable"]!.GetValue<bool>()));
        wrongType.AssertError(415, "INVALID_PARAMETER");
        (await client.PostTextAsync(Submit, body)).AssertError(402, "INSUFFICIENT_CREDIT");
        Assert.Equal((5m, 0m, 0m, 5m), await BalanceAsync(client));
        Assert.Equal(0, (await client.ListAsync()).Result!["total"]!.GetValue<int>());
    }

    [Fact]
    public async Task ModelsAndPricesFromTheSettingsAreOfferedCheckedAndChargedAndATaskOfANewModelRendersAndIsCaptured()
    {
        await using var server = await RunningServer.StartAsync(new()
        {
            ["Seedance:Models:seedance-lite:Prices:480p"] = "0.55", ["Seedance:Models:seedance-lite:Audio"] = "false",
            ["Seedance:Models:seedance-2.0:Prices:720p"] = "2", ["Seedance:Models:seedance-2.0-fast:Enabled"] = "false",
        });
        using var client = await server.CreateKeyAsync(credits: 100m);

        var models = (await ApiResponse.From(await client.Http.GetAsync("/api/v1/video/models"))).Result!["data"]!.AsArray();
        Assert.Equal(["seedance-2.0", "seedance-lite"], models.Select(m => m!["model"]!.GetValue<string>()));
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"480p":0.9,"720p":2,"1080p":4.5}"""), models[0]!["prices"]), models[0]!.ToJsonString());
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"480p":0.55}"""), models[1]!["prices"]), models[1]!.ToJsonString());
        Assert.Equal("480p", models[1]!["default_resolution"]!.GetValue<string>());

        (await client.PostTextAsync(Submit, Body("seedance-2.0-fast", "720p", 5)))
            .AssertError(400, "INVALID_PARAMETER", "Invalid parameter: model must be one of seedance-2.0, seedance-lite");
        (await client.PostTextAsync(Submit, Body("seedance-lite", "720p", 5)))
            .AssertError(400, "INVALID_PARAMETER", "Invalid parameter: resolution must be one of 480p for seedance-lite");
        var repriced = await client.PostTextAsync(Submit, Body("seedance-2.0", "720p", 5));
        Assert.Equal(10m, repriced.Result!["credit_cost"]!.GetValue<decimal>());

        var lite = await client.PostTextAsync(Submit, """{"model":"seedance-lite","duration":5,"content":[{"type":"text","text":"A paper boat"}]}""");
        Assert.Equal(2.75m, lite.Result!["credit_cost"]!.GetValue<decimal>());
        var task = await client.WaitForAsync(lite.Result["task_id"]!.GetValue<string>());
        Assert.Equal(("completed", "seedance-lite", "480p", 2.75m),
            (task["status"]!.GetValue<string>(), task["model"]!.GetValue<string>(), task["resolution"]!.GetValue<string>(), task["credit_cost"]!.GetValue<decimal>()));
        await client.WaitForAsync(repriced.Result["task_id"]!.GetValue<string>());
        Assert.Equal((100m, 12.75m, 0m, 87.25m), await BalanceAsync(client));
    }

    [Fact]
    public async Task AModelNoChannelServesIsRefusedAtSubmissionAsBusyNamingTheModelAndNothingIsReserved()
    {
        // Channels may be added at runtime (the admin API), so such a model no longer stops the server at start.
        await using var server = await RunningServer.StartAsync(new Dictionary<string, string>
        {
            ["Seedance:Channels:0:Name"] = "ark", ["Seedance:Channels:0:Provider"] = "ark",
            ["Seedance:Channels:0:BaseUrl"] = "https://ark.example.com/api/v3", ["Seedance:Channels:0:ApiKey"] = "ark-key",
            ["Seedance:Channels:0:InlineImages"] = "true", ["Seedance:Channels:0:Models:seedance-2.0"] = "doubao-seedance-2-0-260128",
            ["Seedance:Tasks:Dispatch"] = "false",
        });
        using var client = await server.CreateKeyAsync(credits: 100);

        (await client.PostTextAsync(Submit, Body("seedance-2.0-fast", "720p", 5)))
            .AssertError(503, "SERVICE_BUSY", "Service busy: no upstream serves seedance-2.0-fast at the moment");
        (await client.PostTextAsync("/api/v1/video/quote", Body("seedance-2.0-fast", "720p", 5)))
            .AssertError(503, "SERVICE_BUSY", "no upstream serves seedance-2.0-fast");
        Assert.Equal((100m, 0m, 0m, 100m), await BalanceAsync(client));
        (await client.PostTextAsync(Submit, Body("seedance-2.0", "720p", 5))).AssertOk();
    }
}
