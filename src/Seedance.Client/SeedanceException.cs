using System.Net;

namespace Seedance.Client;

/// <summary>
/// The one exception of this library: an error answered by the server (its <see cref="Code"/> and HTTP
/// status), a request refused before it was sent (client-side validation), a task that did not complete,
/// or a connection that failed after its retries.
/// </summary>
public sealed class SeedanceException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="code">The API document's error code (see <see cref="SeedanceErrorCodes"/>).</param>
    /// <param name="message">What went wrong, as the server said it.</param>
    /// <param name="httpStatus">The HTTP status, or null when the server was never asked.</param>
    /// <param name="taskId">The task concerned, when there is one.</param>
    /// <param name="innerException">The underlying failure, if any.</param>
    public SeedanceException(string code, string message, HttpStatusCode? httpStatus = null, string? taskId = null, Exception? innerException = null)
        : base(message, innerException)
    {
        Code = code;
        HttpStatus = httpStatus;
        TaskId = taskId;
    }

    /// <summary>The error code: one of <see cref="SeedanceErrorCodes"/> (the document's codes, or the client's own for what the document does not cover).</summary>
    public string Code { get; }

    /// <summary>The HTTP status of the answer; null when the request was refused before sending, or never answered.</summary>
    public HttpStatusCode? HttpStatus { get; }

    /// <summary>The task the error concerns, when there is one.</summary>
    public string? TaskId { get; }

    /// <summary>True for failures worth trying again later (rate and concurrency limits, a busy or failing server, a lost connection).</summary>
    public bool IsTransient => Code is SeedanceErrorCodes.RateLimitExceeded or SeedanceErrorCodes.ConcurrencyLimitReached or SeedanceErrorCodes.ServiceBusy
        or SeedanceErrorCodes.InternalError or SeedanceErrorCodes.ConnectionFailed or SeedanceErrorCodes.TaskSubmitFailed or SeedanceErrorCodes.CreditDeductFailed;

    internal static SeedanceException InvalidParameter(string rule) => new(SeedanceErrorCodes.InvalidParameter, $"Invalid parameter: {rule}");

    internal static SeedanceException MissingParameter(string name) => new(SeedanceErrorCodes.MissingParameter, $"Missing parameter: {name}");
}
