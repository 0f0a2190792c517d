using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Data.Sqlite;

namespace Seedance.Bench.Baseline;

/// <summary>
/// The floor the server is measured against: ASP.NET Core with nothing of the product around it, doing
/// the least each request of the benchmark must do. Configured by environment:
/// <c>BASELINE_KEY</c> (the X-API-Key it accepts), <c>BASELINE_BODY_FILE</c> (the bytes GET returns),
/// <c>BASELINE_DATA_DIR</c> (its SQLite file and uploads).
/// </summary>
public static class BaselineApp
{
    /// <summary>The same per-connection settings as the server's SQLite connections.</summary>
    private const string Pragmas = "PRAGMA synchronous=FULL; PRAGMA busy_timeout=30000; PRAGMA foreign_keys=ON;";

    public static async Task Main(string[] args)
    {
        var key = Encoding.UTF8.GetBytes(Required("BASELINE_KEY"));
        var body = await File.ReadAllBytesAsync(Required("BASELINE_BODY_FILE"));
        var dataDir = Required("BASELINE_DATA_DIR");
        Directory.CreateDirectory(dataDir);
        var database = new SqliteConnectionStringBuilder
        {
            DataSource = Path.Combine(dataDir, "baseline.db"), Cache = SqliteCacheMode.Private, Pooling = true, DefaultTimeout = 30,
        }.ToString();
        await using (var connection = new SqliteConnection(database))
        {
            await connection.OpenAsync();
            await using var create = connection.CreateCommand();
            create.CommandText = "PRAGMA journal_mode=WAL; CREATE TABLE IF NOT EXISTS tasks (seq INTEGER PRIMARY KEY AUTOINCREMENT, task_id TEXT NOT NULL, body TEXT NOT NULL, created_at TEXT NOT NULL);";
            await create.ExecuteNonQueryAsync();
        }

        var builder = WebApplication.CreateBuilder(args);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        var app = builder.Build();

        // A poll: compare the key header in fixed time, answer with bytes from memory.
        app.MapGet("/api/v1/video/task/{task_id}", (HttpContext context) =>
        {
            var presented = Encoding.UTF8.GetBytes(context.Request.Headers["X-API-Key"].ToString());
            if (!CryptographicOperations.FixedTimeEquals(presented, key)) return Results.StatusCode(401);
            return Results.Bytes(body, "application/json; charset=utf-8");
        });

        // A submission: one INSERT in one transaction, as durable as the server's.
        app.MapPost("/api/v1/video/task", async (HttpContext context) =>
        {
            using var reader = new StreamReader(context.Request.Body);
            var text = await reader.ReadToEndAsync(context.RequestAborted);
            var taskId = Guid.CreateVersion7().ToString("N");
            await using var connection = new SqliteConnection(database);
            await connection.OpenAsync(context.RequestAborted);
            await using (var pragmas = connection.CreateCommand())
            {
                pragmas.CommandText = Pragmas;
                await pragmas.ExecuteNonQueryAsync(context.RequestAborted);
            }
            await using var tx = (SqliteTransaction)await connection.BeginTransactionAsync(context.RequestAborted);
            await using var insert = connection.CreateCommand();
            insert.CommandText = "INSERT INTO tasks (task_id, body, created_at) VALUES ($id, $body, $at)";
            insert.Parameters.AddWithValue("$id", taskId);
            insert.Parameters.AddWithValue("$body", text);
            insert.Parameters.AddWithValue("$at", DateTime.UtcNow);
            await insert.ExecuteNonQueryAsync(context.RequestAborted);
            await tx.CommitAsync(context.RequestAborted);
            return Results.Text($$$"""{"code":"200","message":"Success","result":{"task_id":"{{{taskId}}}","status":"pending"}}""", "application/json");
        });

        // An upload: the body streamed to a file.
        app.MapPut("/upload/{name}", async (HttpContext context, string name) =>
        {
            context.Features.Get<IHttpMaxRequestBodySizeFeature>()!.MaxRequestBodySize = null;
            var path = Path.Combine(dataDir, Path.GetFileName(name));
            await using (var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 81920, useAsync: true))
                await context.Request.Body.CopyToAsync(file, context.RequestAborted);
            return Results.Ok();
        });

        app.MapGet("/healthz", () => Results.Ok());
        await app.RunAsync();
    }

    private static string Required(string name) =>
        Environment.GetEnvironmentVariable(name) is { Length: > 0 } value ? value : throw new InvalidOperationException($"{name} is not set");
}
