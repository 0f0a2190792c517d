using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Mvc.ModelBinding;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;
using Seedance.Server.Billing;
using Seedance.Server.Data;
using Seedance.Server.Infrastructure;
using Seedance.Server.Tasks;
using Seedance.Server.Uploads;

namespace Seedance.Server.OpenApi;

/// <summary>
/// Examples of the main requests and answers, the API document's own values, made of the types the server answers with and
/// written by its serializer: an example cannot drift from the wire. An answer's example is its whole envelope.
/// </summary>
public static class Examples
{
    private const string TaskId = "0192f0c0a1b2c3d4e5f60718293a4b5c";
    private static readonly DateTime Created = new(2025, 1, 15, 10, 30, 0, DateTimeKind.Utc);

    private static readonly TaskView Completed = new(TaskId, "seedance-2.0", VideoTaskStatus.Completed, "720p", "16:9", 8, false, null,
        $"https://api.example.com/files/results/{TaskId}/video.mp4?expires=1737542025&signature=...", null, null, null, 14.4m,
        Created, Created.AddSeconds(225), $"https://api.example.com/files/results/{TaskId}/thumbnail.jpg?expires=1737542025&signature=...", Progress: 100);

    /// <summary>A request as a client would write it: the fields it leaves out are absent, not null.</summary>
    private static readonly JsonSerializerOptions Sent = new(Json.Options) { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    private static readonly Dictionary<Type, Func<IServiceProvider, object>> ByType = new()
    {
        [typeof(VideoTaskRequest)] = _ => new VideoTaskRequest([new VideoTaskContent("text", Text: "A cat running under cherry blossoms, warm sunlight")],
            "seedance-2.0", "720p", "16:9", 8, false),
        [typeof(UploadEndpoints.PresignResult)] = _ => new UploadEndpoints.PresignResult(
            "https://api.example.com/files/api/uploads/1/9f86d081884c7d65_scene.png?expires=1736940600&signature=...", "api/uploads/1/9f86d081884c7d65_scene.png", 3600),
        [typeof(SubmitResult)] = _ => new SubmitResult(TaskId, VideoTaskStatus.Pending, 14.4m),
        [typeof(TaskView)] = _ => Completed,
        [typeof(TaskPage)] = _ => new TaskPage([Completed], 42, 1, 10),
        [typeof(CancelResult)] = _ => new CancelResult(TaskId, VideoTaskStatus.Cancelled, 14.4m),
        [typeof(BalanceEndpoints.Balance)] = _ => new BalanceEndpoints.Balance(10000m, 3250.5m, 6735.1m, 14.4m, 120.6m, 980.4m, 500m, null),
        [typeof(ModelEndpoints.ModelList)] = services => ModelEndpoints.List(services.GetRequiredService<ModelCatalogue>(), null),
        [typeof(TaskSubmission.Quote)] = _ => new TaskSubmission.Quote("seedance-2.0-fast", "1080p", 6, 19.87m, 1000m, true),
    };

    public static Task AddAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken ct)
    {
        var services = context.ApplicationServices;
        var body = context.Description.ParameterDescriptions.FirstOrDefault(p => p.Source == BindingSource.Body)?.Type;
        if (body is not null && ByType.TryGetValue(body, out var request) && operation.RequestBody?.Content?.TryGetValue("application/json", out var sent) == true)
            sent.Example = JsonSerializer.SerializeToNode(request(services), Sent);

        var answer = context.Description.SupportedResponseTypes.FirstOrDefault(r => r.StatusCode == 200)?.Type;
        if (answer is { IsGenericType: true } && answer.GetGenericTypeDefinition() == typeof(Envelope<>)
            && ByType.TryGetValue(answer.GetGenericArguments()[0], out var result)
            && operation.Responses?.TryGetValue("200", out var ok) == true && ok.Content?.TryGetValue("application/json", out var written) == true)
            written.Example = JsonSerializer.SerializeToNode(Envelope.Success(result(services)), Json.Options);
        return Task.CompletedTask;
    }
}
