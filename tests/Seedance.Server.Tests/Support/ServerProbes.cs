using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Seedance.Server.Data;

namespace Seedance.Server.Tests.Support;

/// <summary>A key's credit figures as the balance endpoint reports them.</summary>
public sealed record CreditFigures(decimal Total, decimal Used, decimal Reserved, decimal Remain)
{
    public static CreditFigures Of(JsonNode result) => new(
        result["total_credits"]!.GetValue<decimal>(), result["used_credits"]!.GetValue<decimal>(),
        result["reserved_credits"]!.GetValue<decimal>(), result["remain_credits"]!.GetValue<decimal>());

    public void AssertBalanced()
    {
        Assert.True(Total == Used + Reserved + Remain, $"total {Total} != used {Used} + reserved {Reserved} + remain {Remain}");
        Assert.True(Remain >= 0 && Reserved >= 0 && Used >= 0, $"a negative figure: {this}");
    }
}

/// <summary>Looks behind the API: the database rows and the admin views a test checks the API against.</summary>
public static class ServerProbes
{
    /// <summary>A request to the admin API with the admin token, its envelope parsed whatever the status.</summary>
    public static async Task<ApiResponse> AdminRequestAsync(this RunningServer server, HttpMethod method, string path, object? body = null)
    {
        using var request = new HttpRequestMessage(method, path) { Content = body is null ? null : JsonContent.Create(body) };
        return await ApiResponse.From(await server.Admin.SendAsync(request));
    }

    public static readonly string[] Terminal = ["completed", "failed", "cancelled", "expired"];

    public static async Task<T> QueryAsync<T>(this RunningServer server, Func<SeedanceDb, Task<T>> query)
    {
        await using var scope = server.Services.CreateAsyncScope();
        return await query(scope.ServiceProvider.GetRequiredService<SeedanceDb>());
    }

    /// <summary>
    /// Runs <paramref name="write"/> on a writable context of its own, outside the server's stores: for arranging rows
    /// the API cannot make. The contexts the server hands out read only.
    /// </summary>
    public static async Task<T> WriteDirectlyAsync<T>(this RunningServer server, Func<SeedanceDb, Task<T>> write)
    {
        await using var db = server.Services.GetRequiredService<DatabaseWriter>().CreateWritableContextForTests();
        return await write(db);
    }

    /// <summary>The key's credit_ledger rows, oldest first.</summary>
    public static Task<List<LedgerEntry>> LedgerRowsAsync(this RunningServer server, long keyId) =>
        server.QueryAsync(db => db.Ledger.AsNoTracking().Where(l => l.KeyId == keyId).OrderBy(l => l.Id).ToListAsync());

    /// <summary>The key's tasks in submission order.</summary>
    public static Task<List<VideoTask>> TaskRowsAsync(this RunningServer server, long keyId) =>
        server.QueryAsync(db => db.Tasks.AsNoTracking().Where(t => t.KeyId == keyId).OrderBy(t => t.Seq).ToListAsync());

    /// <summary>The key's ledger as the operator sees it through <c>GET /admin/v1/keys/{id}/ledger</c>.</summary>
    public static async Task<JsonArray> AdminLedgerAsync(this RunningServer server, long keyId)
    {
        var response = await ApiResponse.From(await server.Admin.GetAsync($"/admin/v1/keys/{keyId}/ledger?page_size=1000"));
        response.AssertOk();
        var data = response.Result!["data"]!.AsArray();
        Assert.Equal(response.Result!["total"]!.GetValue<int>(), data.Count);
        return data;
    }

    public static async Task<CreditFigures> CreditsAsync(this ApiClient client)
    {
        var response = await client.BalanceAsync();
        response.AssertOk();
        var figures = CreditFigures.Of(response.Result!);
        figures.AssertBalanced();
        return figures;
    }

    /// <summary>Polls <paramref name="condition"/> until it holds; fails naming <paramref name="what"/> after a generous deadline.</summary>
    public static async Task WaitUntilAsync(Func<Task<bool>> condition, string what, int seconds = 90)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) Assert.Fail($"Still waiting after {seconds} s for {what}");
            await Task.Delay(50);
        }
    }

    public static string Status(this JsonNode task) => task["status"]!.GetValue<string>();

    public static decimal CreditCost(this JsonNode task) => task["credit_cost"]!.GetValue<decimal>();
}
