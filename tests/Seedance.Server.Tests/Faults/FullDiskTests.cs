using System.Net.Http.Headers;
using Microsoft.Data.Sqlite;
using Seedance.Server.Tests.Support;

namespace Seedance.Server.Tests.Faults;

/// <summary>
/// The disk under <c>Seedance:DataDir</c> full: a small tmpfs mounted on the data directory (the tests run as root, as
/// <c>./test</c> does), on SQLite and local files whatever the pass, since those are what live there.
/// </summary>
[Collection(FaultCollection.Name)]
public sealed class FullDiskTests
{
    [SqlitePassFact]
    public async Task WhenTheDataDirectorysDiskIsFullUploadsAndWritesAnswerServiceBusyTheDatabaseStaysWholeAndServiceResumesWithSpace()
    {
        var dataDir = TempDir.Create();
        await Commands.RunAsync("mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", dataDir);
        try
        {
            await using (var server = await RunningServer.StartAsync(new()
            {
                ["Seedance:Database:Provider"] = "sqlite", ["Seedance:Storage:Provider"] = "local",
                // The sandbox keeps its renders in the data directory too; what is tested here is the API's own writes.
                ["Seedance:Tasks:Dispatch"] = "false",
            }, dataDir))
            {
                server.KeepDataDir = true; // unmounted below
                using var client = await server.CreateKeyAsync(maxPending: 10_000);
                var before = await client.SubmitTextAsync(ServerFixture.Stalled);
                var png = await Media.PngAsync();
                var presign = await ApiResponse.From(await client.Http.PostAsync("/api/v1/video/upload/presign?filename=a.png&content_type=image/png", null));
                presign.AssertOk();
                var uploadUrl = presign.Result!["presigned_url"]!.GetValue<string>();

                var filler = Path.Combine(dataDir, "filler");
                FillDisk(filler);

                // An upload: refused in the envelope, saying why, and nothing of it kept.
                using var put = new HttpClient();
                var upload = await ApiResponse.From(await put.PutAsync(uploadUrl, Png(png)));
                upload.AssertError(503, "SERVICE_BUSY", "space");
                Assert.Empty(Directory.EnumerateFiles(Path.Combine(dataDir, "files"), "*.tmp-*", SearchOption.AllDirectories));

                // Writes: each answers or is refused with SERVICE_BUSY (SQLite writes into space its log already holds
                // until that is used up), and soon they are refused. Reads go on.
                var prompt = ServerFixture.Stalled + " " + new string('x', 4000); // a big row: the log fills sooner
                ApiResponse? refused = null;
                for (var i = 0; i < 1000 && refused is null; i++)
                {
                    var response = await client.SubmitAsync(new { content = new[] { new { type = "text", text = prompt } }, duration = 4, resolution = "480p" });
                    if (response.Status == 200) continue;
                    response.AssertError(503, "SERVICE_BUSY", "space");
                    Assert.NotNull(response.Raw.Headers.RetryAfter);
                    refused = response;
                }
                Assert.NotNull(refused);
                (await client.GetTaskAsync(before)).AssertOk();
                (await client.BalanceAsync()).AssertOk();

                // Space returns: service resumes without a restart.
                File.Delete(filler);
                var after = await client.SubmitTextAsync(ServerFixture.Stalled);
                (await client.GetTaskAsync(after)).AssertOk();
                Assert.Equal(System.Net.HttpStatusCode.OK, (await put.PutAsync(uploadUrl, Png(png))).StatusCode);
                var filePath = presign.Result!["file_path"]!.GetValue<string>();
                var withImage = await client.SubmitAsync(new
                {
                    content = new object[] { new { type = "text", text = ServerFixture.Stalled }, new { type = "image_url", image_url = filePath } },
                    duration = 4, resolution = "480p",
                });
                withImage.AssertOk();
                var balance = (await client.BalanceAsync()).Result!;
                Assert.Equal(balance["total_credits"]!.GetValue<decimal>(),
                    balance["used_credits"]!.GetValue<decimal>() + balance["reserved_credits"]!.GetValue<decimal>() + balance["remain_credits"]!.GetValue<decimal>());
            }

            // The database the full disk interrupted is whole.
            await using var db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = SqliteFile.PathIn(dataDir), Pooling = false }.ToString());
            await db.OpenAsync();
            await using var check = db.CreateCommand();
            check.CommandText = "PRAGMA integrity_check";
            Assert.Equal("ok", (string?)await check.ExecuteScalarAsync());
            check.CommandText = "SELECT count(*) FROM video_tasks WHERE task_id NOT IN (SELECT task_id FROM credit_ledger WHERE kind = 'reserve' AND task_id IS NOT NULL)";
            Assert.Equal(0L, (long)(await check.ExecuteScalarAsync())!);
        }
        finally
        {
            await Commands.RunAsync("umount", "-l", dataDir);
            TempDir.Delete(dataDir);
        }
    }

    private static ByteArrayContent Png(byte[] bytes)
    {
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue("image/png");
        return content;
    }

    /// <summary>Writes one file until the file system has no space left for it.</summary>
    private static void FillDisk(string path)
    {
        var chunk = new byte[1024 * 1024];
        using var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.None);
        try
        {
            while (true) file.Write(chunk);
        }
        catch (IOException) { }
        // The last pages, smaller than a chunk.
        try
        {
            while (true)
            {
                file.Write(chunk.AsSpan(0, 4096));
                file.Flush();
            }
        }
        catch (IOException) { }
    }
}
