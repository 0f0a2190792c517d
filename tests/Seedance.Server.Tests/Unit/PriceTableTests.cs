using Seedance.Server.Infrastructure;
using Seedance.Server.Tasks;

namespace Seedance.Server.Tests.Unit;

/// <summary>The document's price table, as the catalogue holds it with nothing configured: credits per second times duration, two decimals, half away from zero.</summary>
public sealed class PriceTableTests
{
    private static readonly ModelCatalogue Catalogue = ModelCatalogue.From(new SeedanceOptions());

    private static decimal Cost(string model, string resolution, int duration) => Catalogue.Charge(model, resolution, duration, null).Cost;

    /// <summary>The document's table, per second in thousandths of a credit, so the expectations below use integer arithmetic only.</summary>
    private static readonly Dictionary<(string Model, string Resolution), long> MilliCreditsPerSecond = new()
    {
        [("seedance-2.0", "1080p")] = 4500,
        [("seedance-2.0", "720p")] = 1800,
        [("seedance-2.0", "480p")] = 900,
        [("seedance-2.0-fast", "1080p")] = 3312,
        [("seedance-2.0-fast", "720p")] = 1440,
        [("seedance-2.0-fast", "480p")] = 720,
    };

    public static TheoryData<string, string, int> AllPairsAndDurations()
    {
        var data = new TheoryData<string, string, int>();
        foreach (var (model, resolution) in MilliCreditsPerSecond.Keys)
            for (var duration = 4; duration <= 15; duration++) data.Add(model, resolution, duration);
        return data;
    }

    /// <summary>Round half away from zero to hundredths, done on whole thousandths (costs are never negative).</summary>
    private static decimal Expected(string model, string resolution, int duration)
    {
        var thousandths = MilliCreditsPerSecond[(model, resolution)] * duration;
        return (thousandths + 5) / 10 / 100m;
    }

    [Theory]
    [MemberData(nameof(AllPairsAndDurations))]
    public void CostIsThePricePerSecondTimesDurationRoundedHalfAwayFromZeroToCents(string model, string resolution, int duration) =>
        Assert.Equal(Expected(model, resolution, duration), Cost(model, resolution, duration));

    [Theory]
    [InlineData("seedance-2.0-fast", "1080p", 4, "13.25")]
    [InlineData("seedance-2.0-fast", "1080p", 6, "19.87")]
    [InlineData("seedance-2.0-fast", "1080p", 8, "26.5")]
    [InlineData("seedance-2.0-fast", "1080p", 15, "49.68")]
    [InlineData("seedance-2.0", "1080p", 15, "67.5")]
    [InlineData("seedance-2.0", "1080p", 8, "36")]
    [InlineData("seedance-2.0-fast", "480p", 5, "3.6")]
    public void ACostIsWrittenWithAtMostTwoDecimalsAndNoTrailingZeros(string model, string resolution, int duration, string written)
    {
        var cost = Cost(model, resolution, duration);
        Assert.True(Credits.HasAtMostTwoDecimals(cost));
        Assert.Equal(written, Credits.Format(cost));
    }

    [Theory]
    [InlineData("seedance-1.0", "720p")]
    [InlineData("seedance-2.0", "4k")]
    [InlineData("seedance-2.0-fast", "720P")]
    public void AModelOrResolutionOutsideTheTableHasNoPrice(string model, string resolution) =>
        Assert.False(Catalogue.Find(model) is { } offered && offered.Prices.ContainsKey(resolution));

    [Fact]
    public void EveryModelAndResolutionThatARequestMayNameHasAPrice()
    {
        foreach (var model in Catalogue.Models)
            foreach (var resolution in model.Resolutions)
                Assert.Equal(MilliCreditsPerSecond[(model.Name, resolution)] / 1000m, model.Prices[resolution]);
        Assert.Equal(MilliCreditsPerSecond.Count, Catalogue.Models.Sum(m => m.Resolutions.Count));
    }
}
