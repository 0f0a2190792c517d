using System.Text.Json.Serialization;

namespace Seedance.Server.Infrastructure;

/// <summary>The wire envelope of every API response: <c>{code, message, result}</c>.</summary>
public sealed record Envelope<T>(
    [property: JsonPropertyName("code")] string Code,
    [property: JsonPropertyName("message")] string Message,
    [property: JsonPropertyName("result")] T? Result);

public static class Envelope
{
    /// <summary>What <see cref="Ok{T}"/> answers with; for answers serialized ahead.</summary>
    public const string ContentType = "application/json; charset=utf-8";

    public static Envelope<T> Success<T>(T result) => new("200", "Success", result);

    public static IResult Ok<T>(T result) => TypedResults.Json(Success(result), Json.Options);

    public static Task WriteErrorAsync(HttpContext context, ApiError error)
    {
        if (context.Response.HasStarted) return Task.CompletedTask;
        context.Features.Set(new AnsweredError(error.Code));
        context.Response.StatusCode = error.Status;
        return context.Response.WriteAsJsonAsync(new Envelope<object>(error.Code, error.Message, null), Json.Options);
    }
}

/// <summary>The error code a request was refused with, for the request log: set only on a refusal, so a success costs nothing.</summary>
public sealed record AnsweredError(string Code);

/// <summary>Marks a route that answers CSV when asked (<c>format=csv</c>), for the API documents.</summary>
public sealed class AnswersCsv
{
    public static readonly AnswersCsv Instance = new();
}
