namespace Seedance.Client;

/// <summary>The error codes of the API document, plus the few this client reports on its own.</summary>
public static class SeedanceErrorCodes
{
    /// <summary>The API key is missing, unknown or disabled (401).</summary>
    public const string InvalidApiKey = "INVALID_API_KEY";
    /// <summary>A parameter has an invalid value or format (400).</summary>
    public const string InvalidParameter = "INVALID_PARAMETER";
    /// <summary>A required parameter is missing (400).</summary>
    public const string MissingParameter = "MISSING_PARAMETER";
    /// <summary>The remaining credits do not cover the task (402).</summary>
    public const string InsufficientCredit = "INSUFFICIENT_CREDIT";
    /// <summary>Credits could not be deducted; try again (500).</summary>
    public const string CreditDeductFailed = "CREDIT_DEDUCT_FAILED";
    /// <summary>The task does not exist or belongs to another key (404).</summary>
    public const string TaskNotFound = "TASK_NOT_FOUND";
    /// <summary>The task could not be submitted; try again (500).</summary>
    public const string TaskSubmitFailed = "TASK_SUBMIT_FAILED";
    /// <summary>The task's status does not allow cancelling it (400).</summary>
    public const string TaskCancelNotAllowed = "TASK_CANCEL_NOT_ALLOWED";
    /// <summary>The key's concurrency or backlog limit is reached (429).</summary>
    public const string ConcurrencyLimitReached = "CONCURRENCY_LIMIT_REACHED";
    /// <summary>The upload address could not be made, or the upload failed.</summary>
    public const string FileUploadFailed = "FILE_UPLOAD_FAILED";
    /// <summary>The video could not be processed.</summary>
    public const string VideoDownloadFailed = "VIDEO_DOWNLOAD_FAILED";
    /// <summary>The input or output failed content moderation (400).</summary>
    public const string ContentModerationFailed = "CONTENT_MODERATION_FAILED";
    /// <summary>The content may be restricted by copyright (400).</summary>
    public const string CopyrightViolation = "COPYRIGHT_VIOLATION";
    /// <summary>The input holds images of real people, which is not allowed (400).</summary>
    public const string PrivacyViolation = "PRIVACY_VIOLATION";
    /// <summary>The service is busy; try again later (503).</summary>
    public const string ServiceBusy = "SERVICE_BUSY";
    /// <summary>Too many requests; slow down (429).</summary>
    public const string RateLimitExceeded = "RATE_LIMIT_EXCEEDED";
    /// <summary>The server failed (500).</summary>
    public const string InternalError = "INTERNAL_ERROR";

    /// <summary>Every code of the API document.</summary>
    public static IReadOnlyList<string> Documented { get; } =
    [
        InvalidApiKey, InvalidParameter, MissingParameter, InsufficientCredit, CreditDeductFailed, TaskNotFound, TaskSubmitFailed,
        TaskCancelNotAllowed, ConcurrencyLimitReached, FileUploadFailed, VideoDownloadFailed, ContentModerationFailed,
        CopyrightViolation, PrivacyViolation, ServiceBusy, RateLimitExceeded, InternalError,
    ];

    /// <summary>Not in the document: the admin token is wrong (admin API, 401).</summary>
    public const string InvalidAdminToken = "INVALID_ADMIN_TOKEN";
    /// <summary>Not in the document: no API key has this id (admin API, 404).</summary>
    public const string KeyNotFound = "KEY_NOT_FOUND";
    /// <summary>Not in the document: no upstream channel has this name (admin API, 404).</summary>
    public const string ChannelNotFound = "CHANNEL_NOT_FOUND";
    /// <summary>Not in the document: the channel still has tasks in flight and is kept (admin API, 409).</summary>
    public const string ChannelInUse = "CHANNEL_IN_USE";
    /// <summary>Not in the document: the upstream refused the channel's credentials or model mapping, or did not answer (admin API, 502).</summary>
    public const string ChannelTestFailed = "CHANNEL_TEST_FAILED";
    /// <summary>Not in the document: a result link is bad or expired (403).</summary>
    public const string AccessDenied = "ACCESS_DENIED";
    /// <summary>Not in the document: unknown route (404), e.g. a server older than this client.</summary>
    public const string NotFound = "NOT_FOUND";

    /// <summary>Client-side: the server could not be reached, or the connection broke, after the retries.</summary>
    public const string ConnectionFailed = "CONNECTION_FAILED";
    /// <summary>Client-side: the server answered with something that is not the API's envelope.</summary>
    public const string UnexpectedResponse = "UNEXPECTED_RESPONSE";
    /// <summary>Client-side: a task that was waited for ended cancelled.</summary>
    public const string TaskCancelled = "TASK_CANCELLED";
    /// <summary>Client-side: a task that was waited for expired before it finished.</summary>
    public const string TaskExpired = "TASK_EXPIRED";
    /// <summary>Client-side: a task failed without an error code.</summary>
    public const string TaskFailed = "TASK_FAILED";
}
