using Seedance.Server.Infrastructure;
using Seedance.Server.Tasks;

namespace Seedance.Server.Tests.Unit;

/// <summary>The <c>task_ids</c> of a batch read, without a server.</summary>
public sealed class TaskIdListTests
{
    [Fact]
    public void IdsAreCommaSeparatedInARepeatableParameterKeptInTheirOrderWithRepeatsCountedOnce()
    {
        Assert.Equal(["b2", "a1", "c_3", "d-4"], TaskIdList.Parse(["b2,a1", " c_3 ,b2", "d-4"]));
        Assert.Single(TaskIdList.Parse([new string('f', 64)]));
    }

    [Fact]
    public void AHundredDistinctIdsAreTakenAndTheHundredAndFirstIsRefused()
    {
        var hundred = Enumerable.Range(0, 100).Select(i => $"t{i}").ToList();
        Assert.Equal(100, TaskIdList.Parse([string.Join(',', hundred)]).Count);
        Assert.Equal(100, TaskIdList.Parse([string.Join(',', hundred), "t0,t99"]).Count);
        AssertRefused([string.Join(',', hundred), "t100"], "at most 100 task ids (got 101)");
    }

    [Theory]
    [InlineData("a,,b", "empty items")]
    [InlineData("a,", "empty items")]
    [InlineData(" ", "empty items")]
    [InlineData("a b", "'a b' is not a task id")]
    [InlineData("../etc", "'../etc' is not a task id")]
    [InlineData("id%2C", "'id%2C' is not a task id")]
    public void AnEmptyOrMalformedItemIsRefusedNamingTheRule(string value, string message) => AssertRefused([value], message);

    [Fact]
    public void AnIdLongerThanSixtyFourCharactersIsRefusedAndOnlyItsBeginningIsShown()
    {
        var error = Assert.Throws<ApiError>(() => TaskIdList.Parse([new string('x', 65)]));
        Assert.Equal("INVALID_PARAMETER", error.Code);
        Assert.Contains($"'{new string('x', 64)}...' is not a task id (1-64 letters, digits, '-' or '_')", error.Message);
    }

    private static void AssertRefused(string[] values, string message)
    {
        var error = Assert.Throws<ApiError>(() => TaskIdList.Parse(values));
        Assert.Equal((400, "INVALID_PARAMETER"), (error.Status, error.Code));
        Assert.Contains(message, error.Message);
    }
}
