namespace Seedance.Server.Infrastructure;

/// <summary>A refusal with its wire code and HTTP status; mapped to the envelope in one place.</summary>
public sealed class ApiError(int status, string code, string message) : Exception(message)
{
    /// <summary>The business error codes of the API document.</summary>
    public static readonly IReadOnlySet<string> DocumentedCodes = new HashSet<string>
    {
        "INVALID_API_KEY", "INVALID_PARAMETER", "MISSING_PARAMETER", "INSUFFICIENT_CREDIT", "CREDIT_DEDUCT_FAILED", "TASK_NOT_FOUND",
        "TASK_SUBMIT_FAILED", "TASK_CANCEL_NOT_ALLOWED", "CONCURRENCY_LIMIT_REACHED", "FILE_UPLOAD_FAILED", "VIDEO_DOWNLOAD_FAILED",
        "CONTENT_MODERATION_FAILED", "COPYRIGHT_VIOLATION", "PRIVACY_VIOLATION", "SERVICE_BUSY", "RATE_LIMIT_EXCEEDED", "INTERNAL_ERROR",
    };

    public int Status { get; } = status;
    public string Code { get; } = code;

    public static ApiError InvalidParameter(string rule) => new(400, "INVALID_PARAMETER", $"Invalid parameter: {rule}");
    public static ApiError MissingParameter(string field) => new(400, "MISSING_PARAMETER", $"Missing parameter: {field}");
    public static ApiError InvalidApiKey() => new(401, "INVALID_API_KEY", "Invalid API key");
    public static ApiError InsufficientCredit(decimal needed, decimal remain) =>
        new(402, "INSUFFICIENT_CREDIT", $"Insufficient credit: task costs {Credits.Format(needed)}, remaining {Credits.Format(remain)}");
    /// <param name="period">"daily" or "monthly"</param>
    public static ApiError SpendingLimit(string period, decimal limit, decimal used, decimal needed, DateTime resetsAt) =>
        new(402, "INSUFFICIENT_CREDIT",
            $"Insufficient credit: the key's {period} credit limit is {Credits.Format(limit)}, {Credits.Format(used)} used {(period == "daily" ? "today" : "this month")}, " +
            $"task costs {Credits.Format(needed)}; the limit resets at {resetsAt:yyyy-MM-dd'T'HH:mm:ss'Z'}");
    public static ApiError TaskNotFound() => new(404, "TASK_NOT_FOUND", "Task not found");
    public static ApiError CancelNotAllowed(string why) => new(400, "TASK_CANCEL_NOT_ALLOWED", $"Task cannot be cancelled: {why}");
    public static ApiError ConcurrencyLimit(int maxPending) =>
        new(429, "CONCURRENCY_LIMIT_REACHED", $"Concurrency limit reached: at most {maxPending} tasks may wait as pending");
    public static ApiError TooManyAuthFailures(int seconds) =>
        new(429, "RATE_LIMIT_EXCEEDED", $"Rate limit exceeded: too many failed authentications from this address, retry in {seconds} s");
    public static ApiError TooManyWatches(int max) =>
        new(429, "RATE_LIMIT_EXCEEDED", $"Rate limit exceeded: at most {max} long-polls and event streams may be open at once for this key");
    public static ApiError RateLimited() => new(429, "RATE_LIMIT_EXCEEDED", "Rate limit exceeded: slow down");
    public static ApiError NotFound(string what) => new(404, "NOT_FOUND", $"Not found: {what}");
    public static ApiError AccessDenied(string why) => new(403, "ACCESS_DENIED", $"Access denied: {why}");
    public static ApiError NoChannelServes(string model) =>
        new(503, "SERVICE_BUSY", $"Service busy: no upstream serves {model} at the moment, please retry later");
    public static ApiError ServiceBusy() => new(503, "SERVICE_BUSY", "Service busy: the upstream did not answer, please retry");
    /// <param name="what">what is unavailable: <c>the database is unavailable</c></param>
    public static ApiError Unavailable(string what) => new(503, "SERVICE_BUSY", $"Service busy: {what}, please retry later");
    public static ApiError Internal() => new(500, "INTERNAL_ERROR", "Internal error");
    public static ApiError BodyTooLarge() => new(413, "INVALID_PARAMETER", "Invalid parameter: request body is too large");
    public static ApiError NotJson() => new(415, "INVALID_PARAMETER", "Invalid parameter: Content-Type must be application/json");
    public static ApiError MethodNotAllowed(string what) => new(405, "METHOD_NOT_ALLOWED", $"Method not allowed: {what}");
    public static ApiError InvalidAdminToken() => new(401, "INVALID_ADMIN_TOKEN", "Invalid admin token");
    public static ApiError KeyNotFound(long keyId) => new(404, "KEY_NOT_FOUND", $"Key {keyId} not found");
    public static ApiError ChannelNotFound(string name) => new(404, "CHANNEL_NOT_FOUND", $"Channel '{name}' not found");
    public static ApiError ChannelInUse(string name, int inFlight) =>
        new(409, "CHANNEL_IN_USE", $"Channel '{name}' has {inFlight} task(s) in flight: drain it, and delete it once they finish");
    public static ApiError ChannelTestFailed(string name, string why) => new(502, "CHANNEL_TEST_FAILED", $"Channel '{name}' test failed: {why}");
}
