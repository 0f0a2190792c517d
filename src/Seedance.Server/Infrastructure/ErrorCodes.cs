namespace Seedance.Server.Infrastructure;

/// <summary>An error code the API answers with: its HTTP status, what it means, and an answer that carries it.</summary>
public sealed record ErrorCode(string Code, int Status, string Meaning, string ExampleMessage);

/// <summary>
/// The codes a request can be refused with: the API document's (with its HTTP status mapping) and the few for what the
/// document does not cover. The examples are made by the factories the server throws, so they read as real answers.
/// </summary>
public static class ErrorCodes
{
    public static readonly IReadOnlyDictionary<string, ErrorCode> All = new[]
    {
        Of(ApiError.InvalidApiKey(), "The X-API-Key header is missing, or names no enabled key"),
        Of(ApiError.InvalidParameter("duration must be 4-15"), "A value is invalid or malformed; the message names the field and the rule"),
        Of(ApiError.MissingParameter("content"), "A required parameter is missing"),
        Of(ApiError.InsufficientCredit(14.4m, 3.6m), "The key's remaining credits do not cover the task's cost"),
        Of(ApiError.TaskNotFound(), "No task of this key has that id"),
        Of(ApiError.CancelNotAllowed("task is already completed"), "The task is terminal, or the upstream refuses to cancel it; it goes on"),
        Of(ApiError.ConcurrencyLimit(100), "The key's backlog of pending tasks is full; nothing was created or reserved"),
        Of(ApiError.RateLimited(), "Too many requests per second for the key; retry after the Retry-After header's seconds"),
        Of(ApiError.ServiceBusy(), "The upstream did not answer, or the database or file store is unavailable or out of space; retry after Retry-After"),
        Of(ApiError.Internal(), "An unexpected failure of the server"),
        Of(ApiError.InvalidAdminToken(), "The Authorization header carries no valid admin bearer token"),
        Of(ApiError.KeyNotFound(42), "No key has that id"),
        Of(ApiError.ChannelNotFound("ark-main"), "No channel has that name"),
        Of(ApiError.ChannelInUse("ark-main", 3), "The channel still has tasks queued or processing; it is kept"),
        Of(ApiError.ChannelTestFailed("ark-main", "Upstream refused the operator's account with 401 AuthenticationError"),
            "The upstream refused the channel's credentials or model mapping, or did not answer"),
    }.ToDictionary(c => c.Code);

    /// <summary>The answers every route that reads a JSON body can give besides its own: a body too large, or not JSON.</summary>
    public static readonly IReadOnlyList<ErrorCode> BodyRefusals =
    [
        Of(ApiError.BodyTooLarge(), "The request body is larger than the server accepts"),
        Of(ApiError.NotJson(), "The request body is not sent as application/json"),
    ];

    public static ErrorCode Get(string code) =>
        All.TryGetValue(code, out var found) ? found : throw new ArgumentException($"'{code}' is not an error code of the API ({string.Join(", ", All.Keys)})", nameof(code));

    private static ErrorCode Of(ApiError example, string meaning) => new(example.Code, example.Status, meaning, example.Message);
}

/// <summary>The error codes a route can answer besides those every route of its kind shares; the API documents list them.</summary>
public sealed class ProducesErrorsMetadata(IReadOnlyList<ErrorCode> codes)
{
    public IReadOnlyList<ErrorCode> Codes { get; } = codes;
}

public static class ProducesErrorsExtensions
{
    /// <summary>
    /// The error codes this route can answer, for the API documents: <c>.ProducesErrors("INVALID_PARAMETER", "TASK_NOT_FOUND")</c>.
    /// What routes of its kind share is added without being named: INVALID_API_KEY and RATE_LIMIT_EXCEEDED behind an API
    /// key, INVALID_ADMIN_TOKEN behind the admin token, 413 and 415 for a JSON body, SERVICE_BUSY (a database or store outage) and
    /// INTERNAL_ERROR everywhere.
    /// A code <see cref="ErrorCodes"/> does not know stops the server at start.
    /// </summary>
    public static TBuilder ProducesErrors<TBuilder>(this TBuilder builder, params string[] codes) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new ProducesErrorsMetadata(codes.Select(ErrorCodes.Get).ToList()));
}
