using System.Globalization;
using Seedance.Server.Data;
using Seedance.Server.Tests.Support;

namespace Seedance.Server.Tests.WebConsole;

/// <summary>The console across midnight, on a server whose clock the test moves.</summary>
public sealed class ConsoleClockTests
{
    [Fact]
    public async Task TheBalanceChartCountsACaptureDatedJustBeforeMidnightThatCommitsAfterTheNewDaysFirstView()
    {
        var clock = new JumpingClock();
        var midnight = clock.GetUtcNow().UtcDateTime.Date.AddDays(1);
        await using var server = await RunningServer.StartAsync(services: clock.Use);
        using var client = await server.CreateKeyAsync();
        clock.JumpTo(midnight.AddSeconds(1));
        using var session = new ConsoleClient(server.BaseUrl);
        await session.SignInAsync(client.ApiKey);
        var before = await session.Client.GetStringAsync("/console/balance"); // the new day's first view: the days before it are worked out
        var day = midnight.AddDays(-1).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        Assert.DoesNotContain($"<tr><td>{day}</td>", before, StringComparison.Ordinal);

        // A capture written a second before midnight, committed after that view (a writer that waited for a lock, another node's clock).
        await server.WriteDirectlyAsync(async db =>
        {
            db.Ledger.Add(new LedgerEntry { KeyId = client.KeyId, Kind = LedgerKind.Capture, Amount = 3.6m, CreatedAt = midnight.AddSeconds(-1), Note = "late" });
            return await db.SaveChangesAsync();
        });

        Assert.Contains($"<tr><td>{day}</td><td class=\"num\">0</td><td class=\"num\">3.6</td></tr>",
            await session.Client.GetStringAsync("/console/balance"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ASessionUsedEveryElevenHoursEndsSevenDaysAfterItsSignIn()
    {
        var clock = new JumpingClock();
        await using var server = await RunningServer.StartAsync(services: clock.Use);
        using var client = await server.CreateKeyAsync();
        using var session = new ConsoleClient(server.BaseUrl);
        await session.SignInAsync(client.ApiKey);
        var signedIn = clock.GetUtcNow();
        while (clock.GetUtcNow() - signedIn < TimeSpan.FromDays(7) - TimeSpan.FromHours(11))
        {
            clock.Jump(TimeSpan.FromHours(11)); // within the cookie's sliding 12 hours: each use renews it
            Assert.True((await session.Client.GetAsync("/console/tasks")).StatusCode == System.Net.HttpStatusCode.OK,
                $"refused {clock.GetUtcNow() - signedIn} after the sign-in");
        }
        clock.Jump(TimeSpan.FromHours(11));
        var answer = await session.Client.GetAsync("/console/tasks");
        Assert.Equal(System.Net.HttpStatusCode.Found, answer.StatusCode);
        Assert.Contains("/console/signin", answer.Headers.Location!.ToString(), StringComparison.Ordinal);
    }
}
