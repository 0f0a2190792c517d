using Microsoft.EntityFrameworkCore;
using Seedance.Server.Data;
using Seedance.Server.Tests.Support;

namespace Seedance.Server.Tests.Stores;

/// <summary>
/// <c>Seedance:Database:Synchronous</c>: by default a commit is on the disk before the server answers (an accepted task
/// survives a power cut); <c>normal</c> is the operator's choice of speed over the last commits, and says so to the database.
/// </summary>
public sealed class DurabilityTests
{
    [Fact]
    public async Task ByDefaultEveryCommitIsSyncedToDiskAndNormalIsAskedOfTheDatabaseOnlyWhenChosen()
    {
        await using var durable = await StoreHost.StartAsync();
        await using var normal = await StoreHost.StartAsync(settings: new() { ["Seedance:Database:Synchronous"] = "normal" });

        if (TestDatabase.IsPostgres)
        {
            // Durable: the database server's own setting (on unless its operator changed it), never one this server asks for.
            Assert.NotEqual("client", await QueryAsync(durable, "SELECT source FROM pg_settings WHERE name = 'synchronous_commit'"));
            Assert.Equal(("off", "client"), (await QueryAsync(normal, "SHOW synchronous_commit"),
                await QueryAsync(normal, "SELECT source FROM pg_settings WHERE name = 'synchronous_commit'")));
        }
        else
        {
            // SQLite in WAL: FULL (2) syncs the log at every commit, NORMAL (1) only at checkpoints.
            Assert.Equal(("wal", "2"), (await QueryAsync(durable, "PRAGMA journal_mode"), await QueryAsync(durable, "PRAGMA synchronous")));
            Assert.Equal("1", await QueryAsync(normal, "PRAGMA synchronous"));
        }

        // Either way the stores work as before.
        var keyId = await TaskStoreTests.NewKeyAsync(durable, credits: 10m);
        Assert.True((await durable.Get<TaskStore>().SubmitAsync(TaskStoreTests.NewTask(durable, keyId, 0.9m), [], null, default)).Accepted);
    }

    /// <summary>One value, read on a connection of the writer's own (where the settings apply).</summary>
    private static async Task<string> QueryAsync(StoreHost host, string sql)
    {
        await using var db = host.Get<DatabaseWriter>().CreateWritableContextForTests();
        await db.Database.OpenConnectionAsync();
        await using var command = db.Database.GetDbConnection().CreateCommand();
        command.CommandText = sql;
        return Convert.ToString(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture)!;
    }
}
