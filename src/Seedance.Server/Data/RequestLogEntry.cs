namespace Seedance.Server.Data;

/// <summary>
/// The summary of one <c>/api/v1</c> request as it is kept: when, by which key, what was asked and how it was answered.
/// Never a body, a header or a query string: nothing a request carried in secret can end up here.
/// </summary>
public sealed class RequestLogEntry
{
    public long Id { get; set; }
    public DateTime At { get; set; }
    /// <summary>The key the request was made with; null when it named no valid key.</summary>
    public long? KeyId { get; set; }
    public required string Method { get; set; }
    /// <summary>The route's template (<c>/api/v1/video/task/{task_id}</c>); null when no route matched.</summary>
    public string? Route { get; set; }
    /// <summary>The path asked for, without its query string.</summary>
    public required string Path { get; set; }
    public int Status { get; set; }
    /// <summary>The envelope's error code of a refusal; null for a success.</summary>
    public string? Code { get; set; }
    public double LatencyMs { get; set; }
    public required string RequestId { get; set; }
}

/// <summary>A request as the server hands it to the log: a value, so that queueing one allocates nothing.</summary>
public readonly record struct LoggedRequest(DateTime At, long? KeyId, string Method, string? Route, string Path, int Status, string? Code,
    double LatencyMs, string RequestId);

public static class RequestLogLimits
{
    /// <summary>The longest path kept; a longer one is cut.</summary>
    public const int Path = 300;
}
