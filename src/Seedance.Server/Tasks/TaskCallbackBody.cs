using System.Text.Json;
using Seedance.Server.Data;
using Seedance.Server.Infrastructure;
using Seedance.Server.Storage;

namespace Seedance.Server.Tasks;

/// <summary>
/// A finished task's callback body: exactly what <c>GET /api/v1/video/task/{id}</c> returns in <c>result</c>, its links
/// built on the public base URL, else on the one the task was submitted to.
/// </summary>
public sealed class TaskCallbackBody(PublicLinks links) : ICallbackBody
{
    public string For(VideoTask ended) => JsonSerializer.Serialize(TaskView.Of(ended, links, links.BaseUrlFor(ended.SubmittedBaseUrl)), Json.Options);
}
