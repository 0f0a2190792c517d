using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Seedance.Server.Infrastructure;
using Seedance.Server.Tasks;

namespace Seedance.Server.Tests.Unit;

/// <summary>
/// The catalogue without a server: the document's with nothing configured, the operator's settings laid over it,
/// each mistake in them named, and submissions checked against the model they name.
/// </summary>
public sealed class ModelCatalogueTests
{
    private static SeedanceOptions Options(Dictionary<string, string?> settings) =>
        SeedanceOptions.From(new ConfigurationBuilder().AddInMemoryCollection(settings).Build());

    private static List<string> Mistakes(Dictionary<string, string?> settings)
    {
        var errors = new List<string>();
        ModelCatalogue.Build(Options(settings), errors);
        return errors;
    }

    private static TaskRequest Parse(ModelCatalogue catalogue, string json)
    {
        using var document = JsonDocument.Parse(json);
        return TaskRequest.Parse(document.RootElement.Clone(), catalogue);
    }

    [Fact]
    public void WithNothingConfiguredTheCatalogueIsTheDocuments()
    {
        var catalogue = ModelCatalogue.From(Options([]));

        Assert.Equal(["seedance-2.0", "seedance-2.0-fast"], catalogue.Models.Select(m => m.Name));
        Assert.Equal("seedance-2.0", catalogue.Default.Name);
        foreach (var model in catalogue.Models)
        {
            Assert.Equal(["480p", "720p", "1080p"], model.Resolutions);
            Assert.Equal(["16:9", "9:16", "4:3", "3:4", "1:1", "21:9"], model.Ratios);
            Assert.Equal((4, 15, 5, "720p", "16:9", true), (model.MinDuration, model.MaxDuration, model.DefaultDuration, model.DefaultResolution, model.DefaultRatio, model.Audio));
        }
        Assert.Equal([0.9m, 1.8m, 4.5m], catalogue.Find("seedance-2.0")!.Resolutions.Select(r => catalogue.Find("seedance-2.0")!.Prices[r]));
        Assert.Equal([0.72m, 1.44m, 3.312m], catalogue.Find("seedance-2.0-fast")!.Resolutions.Select(r => catalogue.Find("seedance-2.0-fast")!.Prices[r]));
    }

    [Fact]
    public void APriceSetForOneResolutionReplacesThatPriceAndKeepsTheOthers()
    {
        var model = ModelCatalogue.From(Options(new() { ["Seedance:Models:seedance-2.0:Prices:1080p"] = "5.25" })).Find("seedance-2.0")!;

        Assert.Equal(new Dictionary<string, decimal> { ["480p"] = 0.9m, ["720p"] = 1.8m, ["1080p"] = 5.25m }, model.Prices);
        Assert.Equal(26.25m, ModelCatalogue.Cost(model.Prices["1080p"], 5));
    }

    [Fact]
    public void ANewModelNeedsOnlyItsPricesAndTakesTheDocumentsRulesForTheRest()
    {
        var catalogue = ModelCatalogue.From(Options(new()
        {
            ["Seedance:Models:seedance-lite:Prices:480p"] = "0.3333", ["Seedance:Models:seedance-lite:Prices:1080p"] = "1",
        }));

        var lite = catalogue.Find("seedance-lite")!;
        Assert.Equal(["seedance-2.0", "seedance-2.0-fast", "seedance-lite"], catalogue.Models.Select(m => m.Name));
        Assert.Equal(["480p", "1080p"], lite.Resolutions);
        Assert.Equal("480p", lite.DefaultResolution); // 720p is not offered: the lowest is
        Assert.Equal((4, 15, 5, true), (lite.MinDuration, lite.MaxDuration, lite.DefaultDuration, lite.Audio));
        Assert.Equal(1.33m, catalogue.Charge("seedance-lite", "480p", 4, null).Cost); // 1.3332, to the cent
        Assert.Equal(1.67m, catalogue.Charge("seedance-lite", "480p", 5, null).Cost); // 1.6665, half away from zero
    }

    [Fact]
    public void AModelSwitchedOffLeavesTheCatalogueAndTheDefaultModelCanBeAnother()
    {
        var catalogue = ModelCatalogue.From(Options(new()
        {
            ["Seedance:Models:seedance-2.0:Enabled"] = "false", ["Seedance:DefaultModel"] = "seedance-2.0-fast",
        }));

        Assert.Equal(["seedance-2.0-fast"], catalogue.Models.Select(m => m.Name));
        Assert.Null(catalogue.Find("seedance-2.0"));
        Assert.Equal("seedance-2.0-fast", Parse(catalogue, """{"content":[{"type":"text","text":"a fox"}]}""").Model);
        var refused = Assert.Throws<ApiError>(() => Parse(catalogue, """{"model":"seedance-2.0","content":[{"type":"text","text":"a fox"}]}"""));
        Assert.Equal("Invalid parameter: model must be one of seedance-2.0-fast", refused.Message);
    }

    [Theory]
    [InlineData("Seedance:Models:seedance-lite:Audio", "false", "Seedance:Models:seedance-lite:Prices must price at least one resolution")]
    [InlineData("Seedance:Models:seedance-2.0:Prices:4k", "9", "Seedance:Models:seedance-2.0:Prices:4k: a resolution is written like 720p")]
    [InlineData("Seedance:Models:seedance-2.0:Prices:720p", "-1", "Seedance:Models:seedance-2.0:Prices:720p must be 0-1000000, with at most 4 decimals")]
    [InlineData("Seedance:Models:seedance-2.0:Prices:720p", "1.23456", "Seedance:Models:seedance-2.0:Prices:720p must be 0-1000000, with at most 4 decimals")]
    [InlineData("Seedance:Models:seedance-2.0:Prices:720p", "1000000000000000", "Seedance:Models:seedance-2.0:Prices:720p must be 0-1000000, with at most 4 decimals")]
    [InlineData("Seedance:Models:seedance-2.0:DefaultDuration", "20", "Seedance:Models:seedance-2.0:DefaultDuration must be 4-15")]
    [InlineData("Seedance:Models:seedance-2.0:MinDuration", "16", "Seedance:Models:seedance-2.0: MinDuration and MaxDuration must be 1-3600 seconds")]
    [InlineData("Seedance:Models:seedance-2.0:DefaultResolution", "2160p", "Seedance:Models:seedance-2.0:DefaultResolution '2160p' is not priced under Seedance:Models:seedance-2.0:Prices")]
    [InlineData("Seedance:Models:seedance-2.0:Ratios:0", "wide", "Seedance:Models:seedance-2.0:Ratios: 'wide' is not a ratio like 16:9")]
    [InlineData("Seedance:Models:Seedance-Pro:Prices:720p", "2", "Seedance:Models:Seedance-Pro: a model name is 1-64 lowercase letters")]
    [InlineData("Seedance:DefaultModel", "seedance-3.0", "Seedance:DefaultModel 'seedance-3.0' is not a model offered")]
    public void EachMistakeInTheSettingsIsNamed(string setting, string value, string named) =>
        Assert.Contains(Mistakes(new() { [setting] = value }), e => e.StartsWith(named, StringComparison.Ordinal));

    [Fact]
    public void APlanPriceIsItsOwnWhereSetElseTheListPriceTimesItsMultiplierToFourDecimals()
    {
        var catalogue = ModelCatalogue.From(Options(new()
        {
            ["Seedance:PricePlans:reseller:Multiplier"] = "0.85", ["Seedance:PricePlans:reseller:Prices:seedance-2.0:720p"] = "1.2345",
            ["Seedance:PricePlans:odd:Multiplier"] = "0.333",
        }));
        var standard = catalogue.Find("seedance-2.0")!;
        var fast = catalogue.Find("seedance-2.0-fast")!;

        Assert.Equal(1.2345m, catalogue.Price(standard, "720p", "reseller"));
        Assert.Equal(3.825m, catalogue.Price(standard, "1080p", "reseller"));
        Assert.Equal(2.8152m, catalogue.Price(fast, "1080p", "reseller"));
        Assert.Equal(0.2398m, catalogue.Price(fast, "480p", "odd")); // 0.23976
        Assert.Equal(1.8m, catalogue.Price(standard, "720p", null));
        Assert.Equal(1.8m, catalogue.Price(standard, "720p", "gone")); // a plan no longer configured: the list price
        Assert.Equal(6.17m, ModelCatalogue.Cost(catalogue.Price(standard, "720p", "reseller"), 5)); // 6.1725
    }

    [Theory]
    [InlineData("Seedance:PricePlans:gold:Multiplier", "-1", "Seedance:PricePlans:gold:Multiplier must be 0-1000, with at most 4 decimals")]
    [InlineData("Seedance:PricePlans:gold:Multiplier", "0.12345", "Seedance:PricePlans:gold:Multiplier must be 0-1000, with at most 4 decimals")]
    [InlineData("Seedance:PricePlans:gold:Multiplier", "100000", "Seedance:PricePlans:gold:Multiplier must be 0-1000, with at most 4 decimals")]
    [InlineData("Seedance:PricePlans:gold:Prices:seedance-9:720p", "1", "Seedance:PricePlans:gold:Prices:seedance-9: not a model offered")]
    [InlineData("Seedance:PricePlans:gold:Prices:seedance-2.0:2160p", "1", "Seedance:PricePlans:gold:Prices:seedance-2.0:2160p: seedance-2.0 is not offered at 2160p")]
    [InlineData("Seedance:PricePlans:gold:Prices:seedance-2.0:720p", "-2", "Seedance:PricePlans:gold:Prices:seedance-2.0:720p must be 0-1000000")]
    [InlineData("Seedance:PricePlans:Gold:Multiplier", "1", "Seedance:PricePlans:Gold: a plan name is 1-64 lowercase letters")]
    public void EachMistakeInAPricePlanIsNamed(string setting, string value, string named)
    {
        var options = Options(new() { [setting] = value });
        var errors = new List<string>();
        ModelCatalogue.BuildPlans(options, ModelCatalogue.Build(options, errors), errors);
        Assert.Contains(errors, e => e.StartsWith(named, StringComparison.Ordinal));
    }

    [Fact]
    public void ASubmissionIsCheckedAgainstWhatItsModelOffers()
    {
        var catalogue = ModelCatalogue.From(Options(new()
        {
            ["Seedance:Models:seedance-lite:Prices:480p"] = "0.5", ["Seedance:Models:seedance-lite:Prices:720p"] = "1",
            ["Seedance:Models:seedance-lite:Ratios:0"] = "9:16", ["Seedance:Models:seedance-lite:MinDuration"] = "2",
            ["Seedance:Models:seedance-lite:MaxDuration"] = "6", ["Seedance:Models:seedance-lite:DefaultDuration"] = "3",
            ["Seedance:Models:seedance-lite:Audio"] = "false",
        }));
        string Body(string fields) => $$"""{"model":"seedance-lite","content":[{"type":"text","text":"a fox"}]{{fields}}}""";
        string Refusal(string fields) => Assert.Throws<ApiError>(() => Parse(catalogue, Body(fields))).Message;

        var request = Parse(catalogue, Body(""));
        Assert.Equal(("720p", "9:16", 3), (request.Resolution, request.Ratio, request.Duration));
        Assert.Equal(2, Parse(catalogue, Body(""","duration":2""")).Duration);
        Assert.Equal("Invalid parameter: resolution must be one of 480p, 720p for seedance-lite", Refusal(""","resolution":"1080p" """.TrimEnd()));
        Assert.Equal("Invalid parameter: resolution must be one of 480p, 720p", Refusal(""","resolution":"4k" """.TrimEnd()));
        Assert.Equal("Invalid parameter: ratio must be one of 9:16 for seedance-lite", Refusal(""","ratio":"16:9" """.TrimEnd()));
        Assert.Equal("Invalid parameter: duration must be 2-6", Refusal(""","duration":7"""));
        Assert.Equal("Invalid parameter: generate_audio is not offered for seedance-lite", Refusal(""","generate_audio":true"""));
    }
}
