using System.Net;
using Seedance.Client.Tests.Support;

namespace Seedance.Client.Tests;

/// <summary>
/// The catalogue through the SDK and the command line, against a server whose operator added a model with a ratio of its
/// own: the library reads it without a table of its own, and costs come from the server.
/// </summary>
public sealed class SdkCatalogueTests : IAsyncLifetime
{
    private RunningServer _server = null!;

    public async Task InitializeAsync() => _server = await RunningServer.StartAsync(new()
    {
        ["Seedance:Models:seedance-lite:Prices:480p"] = "0.55", ["Seedance:Models:seedance-lite:Audio"] = "false",
        ["Seedance:Models:seedance-lite:Ratios:0"] = "2:1", ["Seedance:Models:seedance-lite:MinDuration"] = "2",
        ["Seedance:PricePlans:partner:Multiplier"] = "0.5",
    });

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private async Task<SeedanceClient> ClientAsync(decimal credits)
    {
        var api = await _server.CreateKeyAsync(credits: credits);
        return SdkServer.Client(api.ApiKey, _server.BaseUrl);
    }

    [Fact]
    public async Task GetModelsReadsEveryModelTheServerOffersWithItsPricesAndRules()
    {
        using var client = await ClientAsync(100m);

        var models = await client.GetModelsAsync();

        Assert.Equal(["seedance-2.0", "seedance-2.0-fast", "seedance-lite"], models.Select(m => m.Model.Name));
        var standard = models[0];
        Assert.True(standard.Default);
        Assert.Equal([VideoResolution.P480, VideoResolution.P720, VideoResolution.P1080], standard.Resolutions);
        Assert.Equal(new Dictionary<string, decimal> { ["480p"] = 0.9m, ["720p"] = 1.8m, ["1080p"] = 4.5m }, standard.Prices);
        Assert.Equal(new DurationRange(4, 15, 5), standard.Duration);
        Assert.Equal(3.312m, models[1].Prices["1080p"]);
        Assert.Equal(19.87m, models[1].Cost(VideoResolution.P1080, 6));
        var lite = models[2];
        Assert.Equal((false, false, new AspectRatio("2:1"), new DurationRange(2, 15, 5)), (lite.Default, lite.Audio, lite.DefaultRatio, lite.Duration));
        Assert.Equal([new AspectRatio("2:1")], lite.Ratios);
    }

    [Fact]
    public async Task AQuoteIsWhatTheSubmissionReservesAndSaysWhenTheCreditsDoNotCoverIt()
    {
        using var client = await ClientAsync(5m);
        var small = new VideoGenerationRequest("A kite [sandbox:stall]") { Resolution = VideoResolution.P480, Duration = 4 };

        var tooDear = await client.QuoteAsync(new VideoGenerationRequest("A kite") { Resolution = VideoResolution.P1080, Duration = 15 });
        var quote = await client.QuoteAsync(small);
        var operation = await client.CreateTaskAsync(small);

        Assert.Equal((67.5m, 5m, false), (tooDear.CreditCost, tooDear.RemainCredits, tooDear.Affordable));
        Assert.Equal((VideoModel.Seedance2, VideoResolution.P480, 4, 3.6m, true), (quote.Model, quote.Resolution, quote.Duration, quote.CreditCost, quote.Affordable));
        Assert.Equal(quote.CreditCost, operation.CreditCost);
        Assert.Equal(1.4m, (await client.GetBalanceAsync()).RemainCredits);
    }

    [Fact]
    public async Task ATaskOfAModelAndRatioTheLibraryDoesNotNameIsSubmittedAndReadBackAsTheServerWroteIt()
    {
        using var client = await ClientAsync(100m);

        var operation = await client.CreateTaskAsync(new VideoGenerationRequest("A paper plane [sandbox:stall]")
        {
            Model = new VideoModel("seedance-lite"), Ratio = new AspectRatio("2:1"), Duration = 2,
        });
        var task = await client.GetTaskAsync(operation.TaskId);
        var listed = await client.GetTasksAsync([operation.TaskId]);

        Assert.Equal(1.1m, operation.CreditCost);
        Assert.Equal(("seedance-lite", "480p", "2:1", 2), (task.Model.Name, task.Resolution.Name, task.Ratio.Name, task.Duration));
        Assert.Equal(task.Model, Assert.Single(listed).Model);
    }

    [Fact]
    public async Task ADurationOutsideTheModelsRangeIsRefusedByTheServerWithItsRule()
    {
        using var client = await ClientAsync(100m);

        var tooShort = await Assert.ThrowsAsync<SeedanceException>(() => client.CreateTaskAsync(new VideoGenerationRequest("x") { Duration = 3 }));
        var tooLong = await Assert.ThrowsAsync<SeedanceException>(() => client.QuoteAsync(new VideoGenerationRequest("x") { Duration = 16 }));
        var notPositive = await Assert.ThrowsAsync<SeedanceException>(() => client.QuoteAsync(new VideoGenerationRequest("x") { Duration = 0 }));

        foreach (var error in new[] { tooShort, tooLong })
            Assert.Equal((SeedanceErrorCodes.InvalidParameter, HttpStatusCode.BadRequest, "Invalid parameter: duration must be 4-15"), (error.Code, error.HttpStatus, error.Message));
        Assert.Equal((SeedanceErrorCodes.InvalidParameter, (HttpStatusCode?)null), (notPositive.Code, notPositive.HttpStatus)); // refused before sending
        Assert.Equal(0, (await client.GetTaskPageAsync()).Total);
    }

    [Fact]
    public async Task AKeyTheAdminClientPutsOnAPlanSeesAndIsQuotedThePlansPricesAndTheCommandLineTakesItOff()
    {
        using var admin = new SeedanceAdminClient(RunningServer.AdminToken, new Uri(_server.BaseUrl));
        var created = await admin.CreateKeyAsync(new NewApiKey("partner-customer", 100m, PricePlan: "partner"));
        using var client = SdkServer.Client(created.ApiKey, _server.BaseUrl);
        using var cli = new SeedanceCommand(new() { ["SEEDANCE_BASE_URL"] = _server.BaseUrl, ["SEEDANCE_ADMIN_TOKEN"] = RunningServer.AdminToken });

        var models = await client.GetModelsAsync();
        var quote = await client.QuoteAsync(new VideoGenerationRequest("A kite") { Resolution = VideoResolution.P1080, Duration = 4 });
        var off = await cli.RunAsync("admin", "keys", "plan", created.Key.KeyId.ToString(), "");

        Assert.Equal("partner", created.Key.PricePlan);
        Assert.Equal(2.25m, models[0].Prices["1080p"]);
        Assert.Equal(9m, quote.CreditCost);
        Assert.True(off.ExitCode == 0, off.ToString());
        Assert.Contains("on the list prices", off.Out);
        Assert.Null((await admin.GetKeyAsync(created.Key.KeyId)).PricePlan);
    }

    [Fact]
    public async Task SpendingLimitsTheAdminClientSetsShowInTheKeyAndTheBalanceAndTheLimitsCommandRemovesThemWithZero()
    {
        using var admin = new SeedanceAdminClient(RunningServer.AdminToken, new Uri(_server.BaseUrl));
        var created = await admin.CreateKeyAsync(new NewApiKey("limited-customer", 100m, DailyCreditLimit: 20m, MonthlyCreditLimit: 300m, ResultRetentionDays: 3));
        using var client = SdkServer.Client(created.ApiKey, _server.BaseUrl);
        await client.CreateTaskAsync(new VideoGenerationRequest("A kite") { Resolution = VideoResolution.P480, Duration = 4 });

        var balance = await client.GetBalanceAsync();
        using var cli = new SeedanceCommand(new() { ["SEEDANCE_BASE_URL"] = _server.BaseUrl, ["SEEDANCE_ADMIN_TOKEN"] = RunningServer.AdminToken });
        var off = await cli.RunAsync("admin", "keys", "limits", created.Key.KeyId.ToString(), "--daily", "0", "--retention-days", "0");
        var changed = await admin.GetKeyAsync(created.Key.KeyId);

        Assert.Equal((20m, 300m, 3), (created.Key.DailyCreditLimit, created.Key.MonthlyCreditLimit, created.Key.ResultRetentionDays));
        Assert.Equal((3.6m, 3.6m, 20m, 300m), (balance.DailyUsed, balance.MonthlyUsed, balance.DailyCreditLimit, balance.MonthlyCreditLimit));
        Assert.True(off.ExitCode == 0, off.ToString());
        Assert.Contains("daily limit none (3.60 used today), monthly limit 300.00 (3.60 used this month), results kept as the server sets", off.Out);
        Assert.Equal((null, 300m, 3.6m, null), (changed.DailyCreditLimit, changed.MonthlyCreditLimit, changed.DailyUsed, changed.ResultRetentionDays));
    }

    [Fact]
    public async Task TheModelsAndQuoteCommandsShowTheServersCatalogueAndCost()
    {
        var api = await _server.CreateKeyAsync(credits: 20m);
        using var cli = SeedanceCommand.For(_server, api.ApiKey);

        var models = await cli.RunAsync("models");
        var quote = await cli.RunAsync("quote", "A fox in snow", "--model", "seedance-2.0-fast", "--resolution", "1080p", "--duration", "6");
        var tooDear = await cli.RunAsync("quote", "A fox in snow", "--resolution", "1080p", "--duration", "15");

        Assert.True(models.ExitCode == 0, models.ToString());
        Assert.Contains("seedance-2.0 (default): 480p 0.90/s, 720p 1.80/s, 1080p 4.50/s; 4-15 s (default 5)", models.Out);
        Assert.Contains("seedance-2.0-fast: 480p 0.72/s, 720p 1.44/s, 1080p 3.312/s", models.Out);
        Assert.Contains("seedance-lite: 480p 0.55/s; 2-15 s (default 5); ratios 2:1; audio no", models.Out);
        Assert.True(quote.ExitCode == 0, quote.ToString());
        Assert.Equal("seedance-2.0-fast 1080p 6 s: 19.87 credits; 20.00 left\n", quote.Out.ReplaceLineEndings("\n"));
        Assert.Equal(3, tooDear.ExitCode);
        Assert.Contains("67.50 credits; 20.00 left (not enough)", tooDear.Out);
        Assert.Equal(0, (await api.ListAsync()).Result!["total"]!.GetValue<int>());
    }
}
