using Microsoft.EntityFrameworkCore;
using Seedance.Server.Data;
using Seedance.Server.Tests.Support;

namespace Seedance.Server.Tests;

/// <summary>
/// The prepared commands a submission runs instead of SaveChanges (<see cref="PreparedCommands"/>): a row they write
/// must be the row SaveChanges writes, column for column, on either database.
/// </summary>
public sealed class PreparedCommandTests
{
    [Fact]
    public async Task ATaskInsertedAsAPreparedCommandIsStoredExactlyAsSaveChangesStoresIt()
    {
        await using var server = await RunningServer.StartAsync();
        using var client = await server.CreateKeyAsync(credits: 10);
        var (viaStatement, viaSaveChanges) = (EveryFieldSet(client.KeyId), EveryFieldSet(client.KeyId));

        await server.WriteDirectlyAsync(async db =>
        {
            await using var tx = await db.Database.BeginTransactionAsync();
            await PreparedCommands.InsertAsync(db, viaStatement);
            db.Tasks.Add(viaSaveChanges);
            await db.SaveChangesAsync();
            await tx.CommitAsync();
            return 0;
        });

        var stored = await StoredColumnsAsync(server, "video_tasks", "task_id", viaStatement.TaskId, viaSaveChanges.TaskId);
        Assert.Equal(stored[viaSaveChanges.TaskId].Count, stored[viaStatement.TaskId].Count);
        foreach (var (column, value) in stored[viaSaveChanges.TaskId].Where(c => c.Key is not ("seq" or "task_id")))
            Assert.True(Equals(value, stored[viaStatement.TaskId][column]), $"{column}: {Show(stored[viaStatement.TaskId][column])} stored, {Show(value)} by SaveChanges");

        var readBack = await server.QueryAsync(db => db.Tasks.AsNoTracking().SingleAsync(t => t.TaskId == viaStatement.TaskId));
        Assert.Equal(12.34m, readBack.CreditCost);
        Assert.Equal(viaStatement.CreatedAt, readBack.CreatedAt);
        Assert.Equal(DateTimeKind.Utc, readBack.CreatedAt.Kind);
        Assert.Equal(viaStatement.ContentJson, readBack.ContentJson);
        Assert.True(readBack.Seq > 0);
    }

    [Fact]
    public async Task ALedgerEntryInsertedAsAPreparedCommandReadsBackWithItsExactAmount()
    {
        await using var server = await RunningServer.StartAsync();
        using var client = await server.CreateKeyAsync(credits: 10);
        var at = new DateTime(2026, 11, 30, 6, 7, 8, DateTimeKind.Utc).AddTicks(1234560);

        var entry = await server.WriteDirectlyAsync(async db =>
        {
            await using var tx = await db.Database.BeginTransactionAsync();
            await PreparedCommands.InsertAsync(db, new LedgerEntry { KeyId = client.KeyId, TaskId = "t-1", Kind = LedgerKind.Reserve, Amount = 0.07m, CreatedAt = at });
            await tx.CommitAsync();
            return await db.Ledger.AsNoTracking().SingleAsync(l => l.KeyId == client.KeyId && l.TaskId == "t-1");
        });

        Assert.Equal(0.07m, entry.Amount);
        Assert.Equal(LedgerKind.Reserve, entry.Kind);
        Assert.Equal(at, entry.CreatedAt);
        Assert.Null(entry.Note);
    }

    [Fact]
    public async Task ARefusedInsertThrowsAsSaveChangesDoesAndItsTransactionKeepsNothing()
    {
        await using var server = await RunningServer.StartAsync();
        using var client = await server.CreateKeyAsync(credits: 10);
        var first = EveryFieldSet(client.KeyId);
        var sameTaskId = EveryFieldSet(client.KeyId);
        sameTaskId.TaskId = first.TaskId;

        await server.WriteDirectlyAsync(async db =>
        {
            await using var tx = await db.Database.BeginTransactionAsync();
            await PreparedCommands.InsertAsync(db, first);
            await Assert.ThrowsAsync<DbUpdateException>(() => PreparedCommands.InsertAsync(db, sameTaskId));
            await tx.RollbackAsync();
            return 0;
        });

        Assert.Equal(0, await server.QueryAsync(db => db.Tasks.CountAsync(t => t.KeyId == client.KeyId)));
    }

    [Fact]
    public async Task APreparedCommandOutsideATransactionIsRefusedBeforeItRuns()
    {
        await using var server = await RunningServer.StartAsync();
        using var client = await server.CreateKeyAsync(credits: 10);

        await server.WriteDirectlyAsync(async db =>
            await Assert.ThrowsAsync<InvalidOperationException>(() => PreparedCommands.InsertAsync(db, EveryFieldSet(client.KeyId))));

        Assert.Equal(0, await server.QueryAsync(db => db.Tasks.CountAsync(t => t.KeyId == client.KeyId)));
    }

    [Fact]
    public async Task AContextWhoseConnectionComesBackOnAnotherPhysicalConnectionRunsItsPreparedCommandsThereInItsTransaction()
    {
        await using var server = await RunningServer.StartAsync();
        using var client = await server.CreateKeyAsync(credits: 10);
        var inserted = new List<string>();
        var heldElsewhere = new List<System.Data.Common.DbConnection>();
        try
        {
            await server.WriteDirectlyAsync(async db =>
            {
                var connection = db.Database.GetDbConnection();
                // Two rounds on this context, each closing its connection at the end, so that its kept commands
                // were prepared on a handle the pool has taken back.
                for (var round = 0; round < 2; round++)
                {
                    await using var tx = await db.Database.BeginTransactionAsync();
                    var task = EveryFieldSet(client.KeyId);
                    await PreparedCommands.InsertAsync(db, task);
                    await tx.CommitAsync();
                    inserted.Add(task.TaskId);
                    await db.Database.CloseConnectionAsync();
                }
                // Every idle handle of the pool is taken by other connections, so this context's next open gets
                // one it never had; a statement still prepared on an old one would run there, outside the
                // transaction below, and its row would outlive the rollback.
                var factory = System.Data.Common.DbProviderFactories.GetFactory(connection)!;
                for (var i = 0; i < 20; i++)
                {
                    var other = factory.CreateConnection()!;
                    other.ConnectionString = db.Database.GetConnectionString();
                    await other.OpenAsync();
                    heldElsewhere.Add(other);
                }
                await using (var tx = await db.Database.BeginTransactionAsync())
                {
                    await PreparedCommands.InsertAsync(db, EveryFieldSet(client.KeyId));
                    await tx.RollbackAsync();
                }
                return 0;
            });
        }
        finally
        {
            foreach (var other in heldElsewhere) await other.DisposeAsync();
        }

        var stored = await server.QueryAsync(db => db.Tasks.Where(t => t.KeyId == client.KeyId).Select(t => t.TaskId).ToListAsync());
        Assert.Equal(inserted.Order(), stored.Order());
    }

    /// <summary>A task with every column set to a value other than its type's default, nullables included.</summary>
    private static VideoTask EveryFieldSet(long keyId)
    {
        // to the microsecond, which is all PostgreSQL keeps
        var at = new DateTime(2026, 11, 30, 6, 7, 8, DateTimeKind.Utc).AddTicks(1234560);
        return new VideoTask
        {
            TaskId = Guid.NewGuid().ToString("N"), KeyId = keyId, Model = "seedance-2.0-fast", Status = "processing",
            Resolution = "1080p", Ratio = "21:9", Duration = 11, GenerateAudio = true, Seed = 4_294_967_295, Watermark = true,
            ReturnLastFrame = true, CallbackUrl = "https://example.com/hook?a=1&b=é", SubmittedBaseUrl = "http://127.0.0.1:5000",
            ContentJson = """[{"type":"text","text":"Ünïcode ✓ 'quoted' \"double\""}]""", CreditCost = 12.34m,
            ErrorCode = "INTERNAL_ERROR", ErrorMessage = "an error", ChannelName = "sandbox", UpstreamTaskId = "cgt-1",
            VideoFile = "results/a.mp4", LastFrameFile = "results/a.png", CreatedAt = at, UpdatedAt = at.AddSeconds(1),
            ExpiresAt = at.AddHours(24), RetryAt = at.AddMinutes(1), DispatchAttempts = 3, FailedChecks = 2, LeaseOwner = "node-a",
            LeaseExpiresAt = at.AddSeconds(30), HandOverStartedAt = at.AddSeconds(2),
        };
    }

    /// <summary>Each row's columns as the database stores them, read with plain SQL, by the value of <paramref name="keyColumn"/>.</summary>
    private static Task<Dictionary<string, Dictionary<string, object?>>> StoredColumnsAsync(RunningServer server, string table, string keyColumn, params string[] keys) =>
        server.QueryAsync(async db =>
        {
            var connection = db.Database.GetDbConnection();
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = $"SELECT * FROM {table} WHERE {keyColumn} IN ({string.Join(", ", keys.Select((_, i) => "@k" + i))})";
            for (var i = 0; i < keys.Length; i++)
            {
                var parameter = command.CreateParameter();
                parameter.ParameterName = "@k" + i;
                parameter.Value = keys[i];
                command.Parameters.Add(parameter);
            }
            var rows = new Dictionary<string, Dictionary<string, object?>>();
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                var row = new Dictionary<string, object?>();
                for (var i = 0; i < reader.FieldCount; i++) row[reader.GetName(i)] = reader.IsDBNull(i) ? null : reader.GetValue(i);
                rows[(string)row[keyColumn]!] = row;
            }
            return rows;
        });

    private static string Show(object? value) => value is null ? "null" : $"{value} ({value.GetType().Name})";
}
