using Microsoft.Data.Sqlite;

namespace Seedance.Bench.Bar;

/// <summary>
/// Fills the stopped server's SQLite database with finished tasks in one transaction of raw INSERTs into the
/// table its migrations created: a history of a million tasks in seconds instead of hours of submissions.
/// </summary>
public static class TaskSeeder
{
    /// <summary>
    /// Inserts <paramref name="total"/> completed tasks, every <paramref name="keys"/>.Count-th one for each key in
    /// turn (so each key's tasks are spread over the table as real traffic leaves them), newest last.
    /// Returns the id of a task of the first key from the middle of its history.
    /// </summary>
    public static string Seed(string databasePath, IReadOnlyList<long> keys, int total)
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = databasePath, Pooling = false }.ToString());
        connection.Open();
        using (var pragmas = connection.CreateCommand())
        {
            pragmas.CommandText = "PRAGMA synchronous=NORMAL; PRAGMA cache_size=-65536;";
            pragmas.ExecuteNonQuery();
        }
        // A build from before the columns were renamed (measured with --against) names them provider and provider_task_id.
        var (channelColumn, upstreamColumn) = HasColumn(connection, "video_tasks", "channel_name")
            ? ("channel_name", "upstream_task_id") : ("provider", "provider_task_id");
        using var tx = connection.BeginTransaction();
        using var insert = connection.CreateCommand();
        insert.CommandText = $"""
            INSERT INTO video_tasks (task_id, key_id, model, status, resolution, ratio, duration, generate_audio, seed, watermark,
                return_last_frame, content_json, credit_cost, {channelColumn}, {upstreamColumn}, video_file, created_at, updated_at, expires_at,
                dispatch_attempts, failed_checks)
            VALUES ($task_id, $key_id, 'seedance-2.0', 'completed', '480p', '16:9', 4, 0, $seed, 0,
                0, $content, 360, 'sandbox', $upstream_task_id, $video_file, $created_at, $updated_at, $expires_at, 0, 0)
            """;
        var taskId = insert.Parameters.Add("$task_id", SqliteType.Text);
        var keyId = insert.Parameters.Add("$key_id", SqliteType.Integer);
        var seed = insert.Parameters.Add("$seed", SqliteType.Integer);
        var content = insert.Parameters.Add("$content", SqliteType.Text);
        var upstreamTaskId = insert.Parameters.Add("$upstream_task_id", SqliteType.Text);
        var videoFile = insert.Parameters.Add("$video_file", SqliteType.Text);
        var createdAt = insert.Parameters.Add("$created_at", SqliteType.Text);
        var updatedAt = insert.Parameters.Add("$updated_at", SqliteType.Text);
        var expiresAt = insert.Parameters.Add("$expires_at", SqliteType.Text);
        insert.Prepare();

        // A history over the last 30 days, a few seconds apart, finished a minute after submission.
        var start = DateTime.UtcNow.AddDays(-30);
        var step = TimeSpan.FromDays(30) / Math.Max(total, 1);
        var middle = total / 2 / keys.Count * keys.Count;
        string? picked = null;
        for (var i = 0; i < total; i++)
        {
            var created = start + step * i;
            var id = Guid.CreateVersion7(created).ToString("N");
            taskId.Value = id;
            keyId.Value = keys[i % keys.Count];
            seed.Value = i;
            content.Value = $$"""[{"type":"text","text":"Seeded task {{i}}: a cat running under cherry blossoms","url":null,"file_path":null,"role":null,"sample_id":null,"content_type":null}]""";
            upstreamTaskId.Value = "sbx-" + Guid.CreateVersion7(created).ToString("N");
            videoFile.Value = $"results/{id}/video.mp4";
            createdAt.Value = Format(created);
            updatedAt.Value = Format(created.AddMinutes(1));
            expiresAt.Value = Format(created.AddHours(48));
            insert.ExecuteNonQuery();
            if (i == middle) picked = id;
        }
        tx.Commit();
        return picked ?? throw new InvalidOperationException("No tasks were seeded");
    }

    private static bool HasColumn(SqliteConnection connection, string table, string column)
    {
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT count(*) FROM pragma_table_info('{table}') WHERE name = $column";
        command.Parameters.AddWithValue("$column", column);
        return (long)command.ExecuteScalar()! > 0;
    }

    /// <summary>The text form EF Core's SQLite provider stores a DateTime in.</summary>
    private static string Format(DateTime value) => value.ToString("yyyy-MM-dd HH:mm:ss.FFFFFFF", System.Globalization.CultureInfo.InvariantCulture);
}
