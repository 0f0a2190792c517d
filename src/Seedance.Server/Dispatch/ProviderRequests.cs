using System.Text.Json;
using Seedance.Server.Data;
using Seedance.Server.Infrastructure;
using Seedance.Server.Providers;
using Seedance.Server.Tasks;

namespace Seedance.Server.Dispatch;

public static class ProviderRequests
{
    /// <summary>The request for a task handed over at <paramref name="now"/>: the upstream gets only the time-to-live that is left.</summary>
    public static ProviderRequest For(VideoTask task, DateTime now)
    {
        var content = JsonSerializer.Deserialize<List<ContentItem>>(task.ContentJson, Json.Options)!;
        return new ProviderRequest(task.TaskId, task.Model,
            content.Select(c => new ProviderContent(c.Type == "sample_id" ? "text" : c.Type, c.Text, c.Url, c.FilePath, c.ContentType, c.Role)).ToList(),
            task.Resolution, task.Ratio, task.Duration, task.GenerateAudio, task.Seed, task.Watermark, task.ReturnLastFrame,
            task.ExpiresAt > now ? task.ExpiresAt - now : TimeSpan.Zero);
    }
}
