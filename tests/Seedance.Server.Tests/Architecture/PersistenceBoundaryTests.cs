using System.Text.RegularExpressions;
using Microsoft.EntityFrameworkCore;
using Seedance.Server.Data;
using Seedance.Server.Tests.Support;

namespace Seedance.Server.Tests.Architecture;

/// <summary>
/// Every write goes through a store and the database writer (Seedance.Server.Data), by construction: the contexts
/// the server hands out read only, and no code outside the boundary holds SQL, transactions or a database branch.
/// </summary>
public sealed class PersistenceBoundaryTests
{
    [Fact]
    public async Task AContextFromTheServiceProviderRefusesEveryKindOfWriteAndChangesNothing()
    {
        await using var server = await RunningServer.StartAsync();
        using var client = await server.CreateKeyAsync(credits: 10);

        await server.QueryAsync(async db =>
        {
            var linq = await Assert.ThrowsAsync<InvalidOperationException>(() =>
                db.ApiKeys.Where(k => k.Id == client.KeyId).ExecuteUpdateAsync(s => s.SetProperty(k => k.TotalCredits, 1_000_000m)));
            Assert.Contains("reads only", linq.Message);
            await Assert.ThrowsAsync<InvalidOperationException>(() => db.Ledger.Where(l => l.KeyId == client.KeyId).ExecuteDeleteAsync());
            await Assert.ThrowsAsync<InvalidOperationException>(() =>
                db.Database.ExecuteSqlRawAsync("UPDATE api_keys SET total_credits = 100000000 WHERE id = {0}", client.KeyId));
            await Assert.ThrowsAsync<InvalidOperationException>(() =>
                db.Database.SqlQueryRaw<int>("SELECT 1 AS \"Value\"; DELETE FROM credit_ledger").ToListAsync());
            Assert.Equal(1, await db.ApiKeys.TagWith("a tagged read").CountAsync(k => k.Id == client.KeyId)); // reads go through, comments and all
            db.Ledger.Add(new LedgerEntry { KeyId = client.KeyId, Kind = LedgerKind.TopUp, Amount = 5m, CreatedAt = DateTime.UtcNow });
            await Assert.ThrowsAsync<InvalidOperationException>(() => db.SaveChangesAsync());
            return 0;
        });

        Assert.Equal(new CreditFigures(10m, 0m, 0m, 10m), await client.CreditsAsync());
        var ledger = await server.LedgerRowsAsync(client.KeyId);
        Assert.Equal([LedgerKind.TopUp], ledger.Select(l => l.Kind));
    }

    [Fact]
    public void NoCodeOutsideTheDataFolderHoldsSqlTransactionsWritesOrADatabaseBranch()
    {
        var forbidden = new Regex(
            @"\bIs(Sqlite|Npgsql)\(|BeginTransaction|ExecuteSql|SqlQuery|FromSql|ExecuteUpdate|ExecuteDelete|SaveChanges|\bNpgsql\w*\b|\bSqlite(Connection|Command)\b|" +
            @"DatabaseWriter|CreateWritableContext|PreparedCommands|""\s*(SELECT|UPDATE|INSERT|DELETE|PRAGMA|LISTEN|NOTIFY)\s");
        var found = ServerSources.Files()
            .Where(f => f.Folder != "Data")
            .SelectMany(f => f.Lines.Select((line, i) => (f.Path, Line: i + 1, Text: line)))
            .Where(l => !l.Text.TrimStart().StartsWith("//") && forbidden.IsMatch(l.Text))
            .Select(l => $"{l.Path}:{l.Line}: {l.Text.Trim()}")
            .ToList();
        Assert.True(found.Count == 0, "Outside the persistence boundary:\n" + string.Join("\n", found));
    }

    [Fact]
    public void EveryStoreIsInTheDataFolder()
    {
        var stores = typeof(Store).Assembly.GetTypes().Where(t => t.IsSubclassOf(typeof(Store))).ToList();
        Assert.NotEmpty(stores);
        Assert.All(stores, t => Assert.Equal("Seedance.Server.Data", t.Namespace));
    }
}
