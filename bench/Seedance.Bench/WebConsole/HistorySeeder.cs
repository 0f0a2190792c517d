using System.Globalization;
using Microsoft.Data.Sqlite;

namespace Seedance.Bench.WebConsole;

/// <summary>What the seeder made: the figures the run reports and the ids its pages are asked about.</summary>
public sealed record SeededHistory(int Tasks, int HeavyTasks, int LedgerEntries, int Deliveries, int RequestLogEntries, string HeavyTaskId,
    string OtherTaskId, DateTime Now, Dictionary<string, int> ByStatus);

/// <summary>
/// A server's history straight into its stopped SQLite database, in one transaction of prepared INSERTs: months of tasks
/// over many keys in every status, each with the ledger rows its life wrote (a reservation, then a capture or a release),
/// a callback delivery for those that asked for one, and the heavy key's recent API calls in the request log. The keys'
/// task counts are kept by the database's own triggers; their used and reserved credits are set from what was seeded.
/// </summary>
public static class HistorySeeder
{
    private static readonly string[] Models = ["seedance-2.0", "seedance-2.0-fast"];
    private static readonly string[] Resolutions = ["480p", "720p", "1080p"];
    private static readonly string[] Ratios = ["16:9", "9:16", "1:1", "4:3"];
    private static readonly decimal[][] Prices = [[0.9m, 1.8m, 4.5m], [0.72m, 1.44m, 3.312m]];
    private static readonly string[] FailureCodes = ["OUTPUT_VIDEO_SENSITIVE", "INPUT_TEXT_SENSITIVE", "INTERNAL_ERROR"];

    /// <summary>
    /// Seeds <paramref name="total"/> tasks over the last <paramref name="days"/> days, <paramref name="heavyTasks"/> of them
    /// on <paramref name="heavyKey"/> and the rest on <paramref name="otherKeys"/> (a few keys far busier than most, as
    /// real traffic is), oldest first, so that insertion order is submission order as the server leaves it.
    /// </summary>
    public static SeededHistory Seed(string dataDir, long heavyKey, IReadOnlyList<long> otherKeys, int total, int heavyTasks, int days, int seed)
    {
        var random = new Random(seed);
        var now = DateTime.UtcNow;
        var start = now.AddDays(-days);
        var step = TimeSpan.FromDays(days) / total;
        var used = new Dictionary<long, long>();
        var reserved = new Dictionary<long, long>();
        var byStatus = new Dictionary<string, int>();
        int ledgerRows = 0, deliveries = 0, heavyCount = 0;
        string? heavyTaskId = null, otherTaskId = null;

        using var connection = Open(Path.Combine(dataDir, "seedance.db"));
        using var tx = connection.BeginTransaction();
        // The tables' indexes are built once after the rows are in, as the server's migrations define them: faster than
        // keeping each of them up to date row by row.
        var indexes = new List<(string Name, string Sql)>();
        using (var read = connection.CreateCommand())
        {
            read.CommandText = "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN ('video_tasks', 'credit_ledger', 'webhook_deliveries')";
            using var reader = read.ExecuteReader();
            while (reader.Read()) indexes.Add((reader.GetString(0), reader.GetString(1)));
        }
        foreach (var (name, _) in indexes) Execute(connection, $"DROP INDEX \"{name}\"");
        using var task = Prepare(connection, """
            INSERT INTO video_tasks (task_id, key_id, model, status, resolution, ratio, duration, generate_audio, seed, watermark,
                return_last_frame, callback_url, content_json, credit_cost, price_per_second, error_code, error_message, channel_name,
                upstream_task_id, video_file, last_frame_file, thumbnail_file, created_at, updated_at, queued_at, processing_at, finished_at,
                expires_at, dispatch_attempts, failed_checks)
            VALUES ($task_id, $key_id, $model, $status, $resolution, $ratio, $duration, $audio, $seed, 0,
                $last_frame, $callback, $content, $cost, $price, $error_code, $error_message, $channel,
                $upstream, $video, $frame, $thumbnail, $created, $updated, $queued, $processing, $finished,
                $expires, $attempts, 0)
            """, "$task_id", "$key_id", "$model", "$status", "$resolution", "$ratio", "$duration", "$audio", "$seed", "$last_frame", "$callback",
            "$content", "$cost", "$price", "$error_code", "$error_message", "$channel", "$upstream", "$video", "$frame", "$thumbnail",
            "$created", "$updated", "$queued", "$processing", "$finished", "$expires", "$attempts");
        using var ledger = Prepare(connection,
            "INSERT INTO credit_ledger (key_id, task_id, kind, amount, created_at) VALUES ($key_id, $task_id, $kind, $amount, $created)",
            "$key_id", "$task_id", "$kind", "$amount", "$created");
        using var delivery = Prepare(connection, """
            INSERT INTO webhook_deliveries (webhook_id, task_id, key_id, url, payload, status, attempts, next_attempt_at, last_status, created_at, delivered_at)
            VALUES ($webhook_id, $task_id, $key_id, $url, $payload, 'delivered', 1, $at, 200, $at, $at)
            """, "$webhook_id", "$task_id", "$key_id", "$url", "$payload", "$at");

        for (var i = 0; i < total; i++)
        {
            var created = start + step * i;
            var heavy = random.NextDouble() < (double)(heavyTasks - heavyCount) / (total - i); // exactly heavyTasks of them, spread evenly
            // Among the other keys, a few are far busier than most (the square of a uniform draw leans to the first ones).
            var keyId = heavy ? heavyKey : otherKeys[(int)(Math.Pow(random.NextDouble(), 2) * otherKeys.Count)];
            if (heavy) heavyCount++;
            var id = Guid.CreateVersion7(created).ToString("N");
            var m = random.NextDouble() < 0.7 ? 0 : 1;
            var r = random.NextDouble() switch { < 0.3 => 0, < 0.8 => 1, _ => 2 };
            var duration = random.NextDouble() < 0.4 ? 5 : random.Next(4, 16);
            var price = Prices[m][r];
            var cost = (long)Math.Round(price * duration * 100m, MidpointRounding.AwayFromZero);
            var age = now - created;
            var status = age < TimeSpan.FromMinutes(10) ? "pending" : random.NextDouble() switch
            {
                < 0.88 => "completed", < 0.94 => "failed", < 0.98 => "cancelled", _ => "expired",
            };
            byStatus[status] = byStatus.GetValueOrDefault(status) + 1;
            var callback = random.NextDouble() < 0.2;
            DateTime? queued = null, processing = null, finished = null;
            string? channel = null, errorCode = null, errorMessage = null;
            switch (status)
            {
                case "completed":
                    (queued, processing, finished) = (created.AddSeconds(1), created.AddSeconds(3), created.AddSeconds(30 + random.Next(90)));
                    channel = "sandbox";
                    break;
                case "failed":
                    (queued, processing, finished) = (created.AddSeconds(1), created.AddSeconds(3), created.AddSeconds(20 + random.Next(40)));
                    channel = "sandbox";
                    errorCode = FailureCodes[random.Next(FailureCodes.Length)];
                    errorMessage = "The generation failed: " + errorCode;
                    break;
                case "cancelled":
                    finished = created.AddSeconds(5 + random.Next(60));
                    break;
                case "expired":
                    finished = created.AddHours(48);
                    errorMessage = "The task expired after 48 hours without a result";
                    break;
            }
            if (finished > now) finished = now;

            Set(task, "$task_id", id); Set(task, "$key_id", keyId); Set(task, "$model", Models[m]); Set(task, "$status", status);
            Set(task, "$resolution", Resolutions[r]); Set(task, "$ratio", Ratios[random.Next(Ratios.Length)]); Set(task, "$duration", duration);
            Set(task, "$audio", random.Next(2)); Set(task, "$seed", random.Next(int.MaxValue)); Set(task, "$last_frame", status == "completed" && i % 4 == 0 ? 1 : 0);
            Set(task, "$callback", callback ? "https://hooks.example.com/seedance" : null);
            Set(task, "$content", $$"""[{"type":"text","text":"Seeded task {{i}}: a cat running under cherry blossoms","url":null,"file_path":null,"role":null,"sample_id":null,"content_type":null}]""");
            Set(task, "$cost", cost); Set(task, "$price", (long)(price * 10_000m)); Set(task, "$error_code", errorCode); Set(task, "$error_message", errorMessage);
            Set(task, "$channel", channel); Set(task, "$upstream", channel is null ? null : "sbx-" + id);
            Set(task, "$video", status == "completed" ? $"results/{id}/video.mp4" : null);
            Set(task, "$frame", status == "completed" && i % 4 == 0 ? $"results/{id}/last_frame.png" : null);
            Set(task, "$thumbnail", status == "completed" ? $"results/{id}/thumbnail.jpg" : null);
            Set(task, "$created", Format(created)); Set(task, "$updated", Format(finished ?? created)); Set(task, "$queued", Format(queued));
            Set(task, "$processing", Format(processing)); Set(task, "$finished", Format(finished)); Set(task, "$expires", Format(created.AddHours(48)));
            Set(task, "$attempts", queued is null ? 0 : 1);
            task.ExecuteNonQuery();

            Set(ledger, "$key_id", keyId); Set(ledger, "$task_id", id);
            Set(ledger, "$kind", "reserve"); Set(ledger, "$amount", cost); Set(ledger, "$created", Format(created));
            ledger.ExecuteNonQuery();
            ledgerRows++;
            if (finished is { } end)
            {
                Set(ledger, "$kind", status == "completed" ? "capture" : "release"); Set(ledger, "$created", Format(end));
                ledger.ExecuteNonQuery();
                ledgerRows++;
                if (status == "completed") used[keyId] = used.GetValueOrDefault(keyId) + cost;
                if (callback)
                {
                    Set(delivery, "$webhook_id", "wh_" + id); Set(delivery, "$task_id", id); Set(delivery, "$key_id", keyId);
                    Set(delivery, "$url", "https://hooks.example.com/seedance"); Set(delivery, "$at", Format(end));
                    Set(delivery, "$payload", $$"""{"task_id":"{{id}}","status":"{{status}}"}""");
                    delivery.ExecuteNonQuery();
                    deliveries++;
                }
            }
            else reserved[keyId] = reserved.GetValueOrDefault(keyId) + cost;

            // A task from the middle of each history, for the detail pages.
            if (heavy && heavyCount == heavyTasks / 2) heavyTaskId = id;
            if (!heavy && i >= total / 2 && otherTaskId is null && status == "completed") otherTaskId = id;
        }

        using (var key = Prepare(connection, "UPDATE api_keys SET used_credits = used_credits + $used, reserved_credits = reserved_credits + $reserved WHERE id = $id",
                   "$used", "$reserved", "$id"))
            foreach (var keyId in used.Keys.Union(reserved.Keys))
            {
                Set(key, "$used", used.GetValueOrDefault(keyId)); Set(key, "$reserved", reserved.GetValueOrDefault(keyId)); Set(key, "$id", keyId);
                key.ExecuteNonQuery();
            }
        foreach (var (_, sql) in indexes) Execute(connection, sql);
        tx.Commit();

        var requests = SeedRequestLog(Path.Combine(dataDir, "seedance-requests.db"), heavyKey, now, heavyTasks / 4, random);
        return new SeededHistory(total, heavyCount, ledgerRows, deliveries, requests, heavyTaskId!, otherTaskId!, now, byStatus);
    }

    /// <summary>The heavy key's API calls of the last week in the request log's own file: polls and lists, some refused.</summary>
    private static int SeedRequestLog(string path, long keyId, DateTime now, int count, Random random)
    {
        using var connection = Open(path);
        using var tx = connection.BeginTransaction();
        using var insert = Prepare(connection, """
            INSERT INTO request_log (at, key_id, method, route, path, status, code, latency_ms, request_id)
            VALUES ($at, $key_id, $method, $route, $path, $status, $code, $latency, $request_id)
            """, "$at", "$key_id", "$method", "$route", "$path", "$status", "$code", "$latency", "$request_id");
        var step = TimeSpan.FromDays(7) / count;
        for (var i = 0; i < count; i++)
        {
            var refused = random.NextDouble() < 0.05;
            var submit = random.NextDouble() < 0.2;
            Set(insert, "$at", Format(now.AddDays(-7) + step * i)); Set(insert, "$key_id", keyId);
            Set(insert, "$method", submit ? "POST" : "GET");
            Set(insert, "$route", submit ? "/api/v1/video/task" : "/api/v1/video/task/{task_id}");
            Set(insert, "$path", submit ? "/api/v1/video/task" : "/api/v1/video/task/" + Guid.NewGuid().ToString("N"));
            Set(insert, "$status", refused ? 429 : 200); Set(insert, "$code", refused ? "RATE_LIMIT_EXCEEDED" : null);
            Set(insert, "$latency", 0.5 + random.NextDouble() * 20); Set(insert, "$request_id", Guid.NewGuid().ToString("N"));
            insert.ExecuteNonQuery();
        }
        tx.Commit();
        return count;
    }

    private static SqliteConnection Open(string path)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        connection.Open();
        using var pragmas = connection.CreateCommand();
        pragmas.CommandText = "PRAGMA synchronous=NORMAL; PRAGMA cache_size=-262144;";
        pragmas.ExecuteNonQuery();
        return connection;
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static SqliteCommand Prepare(SqliteConnection connection, string sql, params string[] parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var name in parameters) command.Parameters.AddWithValue(name, DBNull.Value);
        command.Prepare();
        return command;
    }

    private static void Set(SqliteCommand command, string name, object? value) => command.Parameters[name].Value = value ?? DBNull.Value;

    /// <summary>The text form EF Core's SQLite provider stores a DateTime in.</summary>
    private static string? Format(DateTime? value) => value?.ToString("yyyy-MM-dd HH:mm:ss.FFFFFFF", CultureInfo.InvariantCulture);
}
