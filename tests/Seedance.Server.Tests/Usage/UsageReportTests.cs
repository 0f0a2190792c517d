using System.Text.Json.Nodes;
using Seedance.Server.Data;
using Seedance.Server.Infrastructure;
using Seedance.Server.Tests.Support;

namespace Seedance.Server.Tests.Usage;

/// <summary>Usage reports through HTTP on a real database: counts by how tasks ended, and credits that are the ledger's captures, exactly.</summary>
public sealed class UsageReportTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private RunningServer Server => fixture.Server;

    [Fact]
    public async Task UsageRowsCountTasksByHowTheyEndedAndTheirCreditsEqualTheLedgersCaptures()
    {
        using var alice = await Server.CreateKeyAsync(credits: 500, name: "alice");
        using var bob = await Server.CreateKeyAsync(credits: 500, name: "bob");
        var completed480 = await alice.SubmitTextAsync("A red kite over hills", duration: 4, resolution: "480p");
        var completed720 = await alice.SubmitTextAsync("A red kite over the sea", duration: 5, resolution: "720p");
        var failed = await alice.SubmitTextAsync("[sandbox:fail=CONTENT_MODERATION_FAILED] A forbidden scene");
        var cancelled = await alice.SubmitTextAsync(ServerFixture.Stalled);
        (await alice.CancelAsync(cancelled)).AssertOk();
        var bobs = await bob.SubmitTextAsync("A heron at dawn", duration: 6, resolution: "480p");
        foreach (var (client, id) in new[] { (alice, completed480), (alice, completed720), (alice, failed), (alice, cancelled), (bob, bobs) })
            await client.WaitForAsync(id);

        var aliceCaptures = (await Server.LedgerRowsAsync(alice.KeyId)).Where(l => l.Kind == LedgerKind.Capture).ToList();
        var bobCaptures = (await Server.LedgerRowsAsync(bob.KeyId)).Where(l => l.Kind == LedgerKind.Capture).ToList();
        Assert.Equal(2, aliceCaptures.Count);
        var day = aliceCaptures[0].CreatedAt.ToString("yyyy-MM-dd");

        // The operator's report per key, model and resolution, over a period that holds both keys' tasks.
        var from = Uri.EscapeDataString(DateTime.UtcNow.AddHours(-1).ToString("O"));
        var to = Uri.EscapeDataString(DateTime.UtcNow.AddHours(1).ToString("O"));
        var admin = await Server.AdminRequestAsync(HttpMethod.Get, $"/admin/v1/usage?from={from}&to={to}&group_by=key,model,resolution");
        admin.AssertOk();
        var rows = admin.Result!["rows"]!.AsArray().Where(r => r!["key_id"]!.GetValue<long>() is var k && (k == alice.KeyId || k == bob.KeyId)).ToList();
        JsonNode Row(long key, string resolution) => rows.Single(r => r!["key_id"]!.GetValue<long>() == key && r["resolution"]!.GetValue<string>() == resolution)!;
        var alice480 = Row(alice.KeyId, "480p");
        Assert.Equal((3, 1, 1, 1, 0, 4L), Figures(alice480));
        Assert.Equal("seedance-2.0", alice480["model"]!.GetValue<string>());
        Assert.Null(alice480["day"]);
        Assert.Equal((1, 1, 0, 0, 0, 5L), Figures(Row(alice.KeyId, "720p")));
        Assert.Equal((1, 1, 0, 0, 0, 6L), Figures(Row(bob.KeyId, "480p")));
        Assert.Equal(aliceCaptures.Sum(l => l.Amount), rows.Where(r => r!["key_id"]!.GetValue<long>() == alice.KeyId).Sum(r => r!["credits"]!.GetValue<decimal>()));
        Assert.Equal(bobCaptures.Sum(l => l.Amount), Row(bob.KeyId, "480p")["credits"]!.GetValue<decimal>());
        Assert.Equal(aliceCaptures.Single(l => l.TaskId == completed720).Amount, Row(alice.KeyId, "720p")["credits"]!.GetValue<decimal>());

        // The customer's own report by day and model: only the caller's tasks, the same credits as its ledger.
        var own = await ApiResponse.From(await alice.Http.GetAsync($"/api/v1/video/usage?from={from}&to={to}&group_by=day,model"));
        own.AssertOk();
        var ownRow = Assert.Single(own.Result!["rows"]!.AsArray())!;
        Assert.Equal((day, "seedance-2.0", (4, 2, 1, 1, 0, 9L)), (ownRow["day"]!.GetValue<string>(), ownRow["model"]!.GetValue<string>(), Figures(ownRow)));
        Assert.Equal(aliceCaptures.Sum(l => l.Amount), ownRow["credits"]!.GetValue<decimal>());
        Assert.Equal(aliceCaptures.Sum(l => l.Amount), own.Result!["total"]!["credits"]!.GetValue<decimal>());
        Assert.Null(ownRow["key_id"]);

        // The same as CSV, for a spreadsheet.
        var csv = await alice.Http.GetAsync($"/api/v1/video/usage?from={from}&to={to}&group_by=day,model&format=csv");
        Assert.Equal("text/csv", csv.Content.Headers.ContentType!.MediaType);
        Assert.Equal($"day,model,tasks,completed,failed,cancelled,expired,video_seconds,credits\n{day},seedance-2.0,4,2,1,1,0,9,{Credits.Format(aliceCaptures.Sum(l => l.Amount))}\n",
            await csv.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task AReportRefusesAnUnknownDimensionABadTimeAndACustomerGroupingByKey()
    {
        using var client = await Server.CreateKeyAsync();
        (await ApiResponse.From(await client.Http.GetAsync("/api/v1/video/usage?group_by=key"))).AssertError(400, "INVALID_PARAMETER", "group_by");
        (await ApiResponse.From(await client.Http.GetAsync("/api/v1/video/usage?from=yesterday"))).AssertError(400, "INVALID_PARAMETER", "from must be");
        (await ApiResponse.From(await client.Http.GetAsync("/api/v1/video/usage?format=xml"))).AssertError(400, "INVALID_PARAMETER", "format");
        (await Server.AdminRequestAsync(HttpMethod.Get, "/admin/v1/usage?group_by=day,weather")).AssertError(400, "INVALID_PARAMETER", "'weather'");
        var empty = await ApiResponse.From(await client.Http.GetAsync("/api/v1/video/usage"));
        empty.AssertOk();
        Assert.Empty(empty.Result!["rows"]!.AsArray());
        Assert.Equal(0m, empty.Result!["total"]!["credits"]!.GetValue<decimal>());
    }

    private static (int, int, int, int, int, long) Figures(JsonNode row) => (row["tasks"]!.GetValue<int>(), row["completed"]!.GetValue<int>(),
        row["failed"]!.GetValue<int>(), row["cancelled"]!.GetValue<int>(), row["expired"]!.GetValue<int>(), row["video_seconds"]!.GetValue<long>());
}
