using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Seedance.Client;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Seedance.Cli;

/// <summary>What commands print: JSON for scripts (<c>--json</c>), tables and plain lines for people.</summary>
public static class Output
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
        WriteIndented = true,
    };

    public static void WriteJson(CliContext context, object value) => context.Out.WriteLine(JsonSerializer.Serialize(value, Json));

    public static void Write(CliContext context, IRenderable renderable)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(context.Out),
            Ansi = context.Interactive ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = context.Interactive ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
        });
        if (!context.Interactive) console.Profile.Width = 250; // scripts read whole lines
        console.Write(renderable);
    }

    public static string Credits(decimal value) => value.ToString("0.00", CultureInfo.InvariantCulture);

    /// <summary>A price per second as set, at least two decimals (0.90, 3.312).</summary>
    public static string Price(decimal value) => value.ToString("0.00##", CultureInfo.InvariantCulture);

    public static string Time(DateTimeOffset value) => value.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    public static Table Task(VideoTask task)
    {
        var table = new Table().HideHeaders().AddColumns("field", "value").Border(TableBorder.None);
        void Row(string name, string? value) => table.AddRow(name, Markup.Escape(value ?? "-"));
        Row("task_id", task.TaskId);
        Row("status", WireName.Of(task.Status));
        Row("model", task.Model.Name);
        Row("resolution", task.Resolution.Name);
        Row("ratio", task.Ratio.Name);
        Row("duration", $"{task.Duration} s");
        Row("audio", task.GenerateAudio ? "yes" : "no");
        Row("seed", task.Seed?.ToString(CultureInfo.InvariantCulture));
        Row("credit_cost", Credits(task.CreditCost));
        Row("video_url", task.VideoUrl?.AbsoluteUri);
        Row("last_frame_url", task.LastFrameUrl?.AbsoluteUri);
        Row("thumbnail_url", task.ThumbnailUrl?.AbsoluteUri);
        if (task.ErrorCode is not null || task.ErrorMessage is not null) Row("error", $"{task.ErrorCode} {task.ErrorMessage}".Trim());
        Row("created_at", Time(task.CreatedAt));
        Row("updated_at", Time(task.UpdatedAt));
        if (task.QueuePosition is { } ahead) Row("queue_position", ahead.ToString(CultureInfo.InvariantCulture));
        if (task.Progress is { } percent && !task.IsFinal) Row("progress", $"{percent}%");
        if (task.EstimatedFinishAt is { } eta) Row("estimated_finish_at", Time(eta));
        return table;
    }

    public static Table Tasks(IEnumerable<VideoTask> tasks)
    {
        var table = new Table().AddColumns("TASK ID", "STATUS", "MODEL", "RES", "RATIO", "SECONDS", "COST", "CREATED");
        foreach (var t in tasks)
            table.AddRow(t.TaskId, WireName.Of(t.Status), t.Model.Name, t.Resolution.Name, t.Ratio.Name,
                t.Duration.ToString(CultureInfo.InvariantCulture), Credits(t.CreditCost), Time(t.CreatedAt));
        return table;
    }

    public static Table Keys(IEnumerable<ApiKeyInfo> keys)
    {
        var table = new Table().AddColumns("ID", "NAME", "PREFIX", "ENABLED", "TOTAL", "USED", "RESERVED", "REMAIN", "CONCURRENT", "PENDING", "RATE/S");
        foreach (var k in keys)
            table.AddRow(k.KeyId.ToString(CultureInfo.InvariantCulture), Markup.Escape(k.Name), k.KeyPrefix, k.Enabled ? "yes" : "no",
                Credits(k.TotalCredits), Credits(k.UsedCredits), Credits(k.ReservedCredits), Credits(k.RemainCredits),
                k.MaxConcurrent.ToString(CultureInfo.InvariantCulture), k.MaxPending.ToString(CultureInfo.InvariantCulture),
                k.RateLimitPerSecond.ToString(CultureInfo.InvariantCulture));
        return table;
    }
}
